/// The CAM classifier (pooling, CAM, detach modes) and the DeepLab-LargeFOV head.
module Hybrid.Vision.Tests.HeadTests

open System
open Expecto
open TorchSharp
open Hybrid.Vision.Heads
open Hybrid.Vision.Tests.TestKit

/// `config with { Hidden = hidden }`.
let private withHidden (hidden: int64) (c: LargeFovConfig) = LargeFovConfig(hidden, c.Dilation, c.Fc7Kernel, c.Dropout, c.Bias)

[<Tests>]
let tests =
    testList "Heads" [
        testCase "Gap scores are the spatial mean of the raw cam plus bias" (fun () ->
            torch.manual_seed 11L |> ignore
            use head = new CamClassifier(8L, 5L, CamPooling.Gap, bias = true)
            use _scope = torch.NewDisposeScope()
            let f = torch.randn [| 2L; 8L; 4L; 6L |]
            let scores = head.forward f                                         // (2, 5)
            Expect.equal scores.shape [| 2L; 5L |] "shape"
            let viaCam = head.RawCam(f).mean([| 2L; 3L |]) + head.Bias          // (2, 5)
            Expect.isTrue (scores.allclose(viaCam, 1e-5, 1e-6)) "scores = mean(raw CAM) + bias")

        testCase "Gmp scores apply the weights to max pooled features" (fun () ->
            torch.manual_seed 12L |> ignore
            use head = new CamClassifier(8L, 5L, CamPooling.Gmp)
            use _scope = torch.NewDisposeScope()
            let f = torch.randn [| 2L; 8L; 4L; 6L |]
            let pooled = f.amax([| 2L; 3L |])                                   // (2, 8)
            let expected = pooled.matmul(head.Weight.t())                       // (2, 5)
            Expect.isTrue ((head.forward f).allclose(expected, 1e-5, 1e-6)) "scores = W . max-pooled features"
            Expect.isNull head.Bias "no bias")

        testCase "Cam is relu of W dot F and Weight is a live C by D view" (fun () ->
            torch.manual_seed 13L |> ignore
            use head = new CamClassifier(8L, 5L)
            use _scope = torch.NewDisposeScope()
            let f = torch.randn [| 2L; 8L; 3L; 3L |]
            let w = head.Weight                                                 // (5, 8)
            Expect.equal w.shape [| 5L; 8L |] "Weight shape"
            let expected = torch.einsum("cd,bdhw->bchw", w, f).relu()
            let cam = head.Cam f
            Expect.isTrue (cam.allclose(expected, 1e-5, 1e-6)) "CAM = relu(W . F)"
            Expect.isTrue (isTrue (cam.ge(sFloat 0.0).all ())) "non-negative"
            (use _g = torch.no_grad ()
             let struct (_, p) = head.named_parameters () |> Seq.exactlyOne
             p.mul_(sFloat 2.0) |> ignore)
            Expect.isTrue (head.Weight.allclose(w, 1e-6, 0.0)) "Weight shares the parameter's storage")

        testCase "Detach modes cut the gradient where they say" (fun () ->
            torch.manual_seed 14L |> ignore
            use head = new CamClassifier(4L, 3L)
            let struct (_, weight) = head.named_parameters () |> Seq.exactlyOne
            for mode, toFeatures, toWeights in [ CamDetach.None, true, true; CamDetach.Features, false, true; CamDetach.Weights, true, false; CamDetach.All, false, false ] do
                use _scope = torch.NewDisposeScope()
                head.zero_grad ()
                let f = torch.randn([| 1L; 4L; 2L; 2L |], requires_grad = true)
                let cam = head.RawCam(f, mode)
                if not toFeatures && not toWeights then Expect.isFalse cam.requires_grad $"{mode}: no graph"
                else
                    cam.square().sum().backward()
                    Expect.equal (not (isNull f.grad)) toFeatures $"{mode}: gradient to the features"
                    Expect.equal (not (isNull weight.grad)) toWeights $"{mode}: gradient to the weights")

        testCase "LargeFov v1 has the paper's widths and keeps the resolution" (fun () ->
            // DeepLab-LargeFOV on VGG-16's 512-channel conv5 for 21 VOC classes: fc6 3x3 rate 12 (1024),
            // fc7 1x1 (1024), fc8 1x1 (21). With VGG-16's 14,714,688 convolutional parameters this makes
            // the 20.5M of Chen et al. 2015, Table 2.
            use head = new DeepLabLargeFov(512L, 21L, LargeFovConfig.DeepLabV1)
            Expect.equal (parameterCount head) (9L * 512L * 1024L + 1024L + 1024L * 1024L + 1024L + 1024L * 21L + 21L) "parameters"
            inRange 20_450_000L 20_550_000L (parameterCount head + 14_714_688L) "with VGG-16"

            torch.manual_seed 15L |> ignore
            use small = new DeepLabLargeFov(16L, 3L, withHidden 32L LargeFovConfig.DeepLabV1)
            use _scope = torch.NewDisposeScope()
            let f = torch.randn [| 2L; 16L; 7L; 9L |]
            small.eval ()
            let a = small.forward f
            Expect.equal a.shape [| 2L; 3L; 7L; 9L |] "resolution kept"
            Expect.isTrue (same a (small.forward f)) "eval: no dropout"
            small.train ()
            Expect.isFalse ((small.forward f).allclose(small.forward f)) "train: dropout 0.5 after fc6 and fc7")

        testCase "LargeFov CoSA variant is deterministic in train and has no bias" (fun () ->
            torch.manual_seed 16L |> ignore
            use head = new DeepLabLargeFov(16L, 4L, withHidden 8L LargeFovConfig.CoSA)
            for struct (name, _) in head.named_parameters () do Expect.stringEnds name "weight" "weights only"
            Expect.equal (parameterCount head) (9L * 16L * 8L + 9L * 8L * 8L + 8L * 4L) "parameters"
            use _scope = torch.NewDisposeScope()
            let f = torch.randn [| 1L; 16L; 12L; 12L |]
            head.train ()
            let a = head.forward f
            Expect.equal a.shape [| 1L; 4L; 12L; 12L |] "shape"
            Expect.isTrue (same a (head.forward f)) "no dropout in train"
            raises<ArgumentException> "15 channels" (fun () -> head.forward(torch.zeros [| 1L; 15L; 4L; 4L |]) |> ignore) |> ignore)

        testCase "A dilated fc6 sees twelve pixels away" (fun () ->
            // A single impulse moves fc6's output 12 positions away (rate 12), not 1.
            use head = new DeepLabLargeFov(1L, 1L, LargeFovConfig(1L, 12L, 1L, 0.0, false))
            head.eval ()
            use _scope = torch.NewDisposeScope()
            (use _g = torch.no_grad ()
             for struct (_, p) in head.named_parameters () do p.fill_(sFloat 1.0) |> ignore)
            let x = torch.zeros [| 1L; 1L; 25L; 25L |]
            x[0L, 0L, 12L, 12L].fill_(sFloat 1.0) |> ignore
            let y = head.forward x                                              // (1, 1, 25, 25)
            let nz = longs (y.squeeze().gt(sFloat 0.0).nonzero())
            let positions = set [ for i in 0 .. nz.Length / 2 - 1 -> nz[2 * i], nz[2 * i + 1] ]
            Expect.equal positions.Count 9 "nine positions"
            Expect.contains positions (0L, 0L) "12 up and left"
            Expect.contains positions (24L, 12L) "12 down")
    ]
