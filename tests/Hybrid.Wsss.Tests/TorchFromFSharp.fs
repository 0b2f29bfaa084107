/// TorchSharp as the F# code here reads it: operators with floats on either side, overloads
/// that resolve from plain F# arguments (with Hybrid.Wsss's TorchOverloads), `use` for tensors
/// and dispose scopes, modules and an optimizer step, errors as exceptions.
module Hybrid.Wsss.Tests.TorchFromFSharp

open System.Runtime.InteropServices
open Expecto
open TorchSharp
open Hybrid.Torch.Optim
open Hybrid.Wsss
open Hybrid.TestSupport.Expectations
open Hybrid.Wsss.Tests.TensorValues

type private F = torch.nn.functional

[<Tests>]
let tests =
    testList "TorchFromFSharp" [
        testCase "operators take tensors and floats on either side" <| fun () ->
            use a = torch.tensor [| 1.0f; 2.0f; 3.0f |]
            use b = torch.ones [| 3L |]
            use c = (a + b) * 2.0 - 1.0
            use d = 6.0 / a
            use e = 10.0 - -a
            Expect.equal (floats c) [| 3.0f; 5.0f; 7.0f |] "(a + b) * 2 - 1"
            Expect.equal (floats d) [| 6.0f; 3.0f; 2.0f |] "6 / a"
            Expect.equal (floats e) [| 11.0f; 12.0f; 13.0f |] "10 - -a"
            use labels = torch.tensor [| 0L; 1L; 2L |]
            use shifted = labels + 1L                         // an integer keeps int64 labels int64
            Expect.equal shifted.dtype ScalarType.Int64 "int64 labels + 1L"
            // a float promotes them (libtorch's rule; the old binding kept an integral float int64)
            use promoted = labels + 1.0
            Expect.equal promoted.dtype ScalarType.Float32 "int64 labels + 1.0"

        testCase "overloads resolve from plain F# arguments" <| fun () ->
            use x = torch.arange(24L).view(2L, 3L, 4L).to_type ScalarType.Float64  // (B, C, L); `to` is an F# keyword
            use all = x.sum ()
            use perDim = x.sum 1L
            use keep = x.mean([| 1L; 2L |], keepdim = true)
            Expect.equal (all.ToDouble()) 276.0 "sum of 0..23"
            Expect.equal perDim.shape [| 2L; 4L |] "sum over dim 1"
            Expect.equal keep.shape [| 2L; 1L; 1L |] "mean over dims 1, 2 with keepdim"
            let struct (values, indices) = x.max 2L
            use _v = values
            use i = indices
            Expect.equal (longs i) [| 3L; 3L; 3L; 3L; 3L; 3L |] "argmax over the last dim"
            use img = torch.ones [| 1L; 2L; 4L; 4L |]
            use w = torch.ones [| 2L; 1L; 3L; 3L |]
            use y = F.conv2d (img, w, strides = [| 2L |], padding = [| 1L |], groups = 2L)   // (1, 2, 2, 2)
            Expect.equal y.shape [| 1L; 2L; 2L; 2L |] "grouped strided conv"
            use up = F.interpolate (img, size = [| 8L; 8L |], mode = InterpolationMode.Bilinear, align_corners = true)
            Expect.equal up.shape [| 1L; 2L; 8L; 8L |] "bilinear upsampling"
            use joined = torch.cat ([| img; img |], dim = 1L)
            Expect.equal (joined.size 1) 4L "channels after cat"
            use masked = torch.tensor ([| 0.2f; 0.7f; 0.5f |], [| 1L; 3L |])
            Expect.equal (bools (masked.gt 0.5)) [| false; true; false |] "gt of a float"

        testCase "use scopes free temporaries and a small model trains" <| fun () ->
            torch.manual_seed 5L |> ignore
            use model = torch.nn.Sequential(torch.nn.Conv2d(1L, 4L, 3L, padding = 1L), torch.nn.BatchNorm2d(4L), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1L))
            use head = torch.nn.Linear(4L, 2L)
            use opt = Optimizer.SGD([ ParamGroup(Seq.append (model.parameters ()) (head.parameters ())) ], 0.1, momentum = 0.9)
            use x = torch.randn [| 4L; 1L; 6L; 6L |]
            use target = torch.tensor [| 0L; 1L; 1L; 0L |]
            let step () =
                use _scope = torch.NewDisposeScope()
                opt.zero_grad ()
                let features = model.forward(x).flatten 1L                        // (B, 4)
                let loss = F.cross_entropy (head.forward features, target)
                loss.backward ()
                opt.step ()
                loss.ToDouble(), loss
            let first, firstLoss = step ()
            let losses = [ for _ in 1..30 -> fst (step ()) ]
            Expect.isTrue firstLoss.IsInvalid "the scope frees the step's tensors"
            Expect.isFalse x.IsInvalid "a tensor made outside the scope stays"
            Expect.isTrue (List.last losses < first * 0.9) (sprintf "loss %f -> %f" first (List.last losses))
            use _noGrad = torch.no_grad ()
            use z = torch.zeros [| 1L; 4L |]
            use probe = head.forward z
            Expect.isFalse probe.requires_grad "no graph under no_grad"

        testCase "libtorch errors arrive as exceptions that say what is wrong" <| fun () ->
            use a = torch.ones [| 2L |]
            use b = torch.ones [| 3L |]
            let e = throws<ExternalException> (fun () -> a + b |> ignore)
            Expect.stringStarts e.Message "The size of tensor a (2) must match the size of tensor b (3)" "libtorch's message"
    ]
