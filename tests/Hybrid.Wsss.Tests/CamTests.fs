/// Tensor CAM pieces: normalisation, seeds, pseudo labels, multi-scale fusion; the CAM
/// baseline's pooling setting as the C# classifier's.
module Hybrid.Wsss.Tests.CamTests

open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid.Vision.Heads
open Hybrid.Wsss
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.Cam
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations
open Hybrid.Wsss.Tests.TensorValues

/// Random maps (B, K, h, w) and a label matrix with at least one present class per image.
let private mapsAndLabels =
    gen {
        let! b = Gen.choose (1, 3)
        let! k = Gen.choose (1, 5)
        let! h = Gen.choose (1, 6)
        let! w = Gen.choose (1, 6)
        let! seed = Gen.choose (0, 10000)
        let! present = Gen.arrayOfLength (b * k) (Gen.elements [ 0.0f; 1.0f ])
        let! first = Gen.arrayOfLength b (Gen.choose (0, k - 1))
        for i in 0 .. b - 1 do present[i * k + first[i]] <- 1.0f
        return b, k, h, w, seed, present
    }

[<Tests>]
let tests =
    testList "Cam" [
        property "normalised CAMs lie in [0, 1] and are 0 for absent classes" (
            Prop.forAll (Arb.fromGen mapsAndLabels) (fun (b, k, h, w, seed, present) ->
                use _s = torch.NewDisposeScope()
                torch.manual_seed (int64 seed) |> ignore
                let maps = torch.randn([| int64 b; int64 k; int64 h; int64 w |])
                let labels = torch.tensor(present, [| int64 b; int64 k |])
                let n = floats (Cam.normaliseMax maps labels)
                let inRange = n |> Array.forall (fun v -> v >= 0.0f && v <= 1.0f + 1e-6f)
                let absentZero =
                    Seq.forall (fun i -> present[i / (h * w)] = 1.0f || n[i] = 0.0f) (seq { 0 .. n.Length - 1 })
                inRange && absentZero))

        property "seeds use only present classes and background" (
            Prop.forAll (Arb.fromGen mapsAndLabels) (fun (b, k, h, w, seed, present) ->
                use _s = torch.NewDisposeScope()
                torch.manual_seed (int64 seed) |> ignore
                let maps = torch.rand([| int64 b; int64 k; int64 h; int64 w |])
                let labels = torch.tensor(present, [| int64 b; int64 k |])
                let s = longs (Cam.seeds 0.3 maps labels)
                s |> Array.mapi (fun i l -> l = 0L || present[(i / (h * w)) * k + int l - 1] = 1.0f) |> Array.forall id))

        testCase "pseudo labels put the band between the thresholds to 255" <| fun () ->
            // one image, one class, three pixels with CAM 0.9, 0.5, 0.1; fg 0.7, bg 0.3 -> 1, 255, 0
            use cams = torch.tensor([| 0.9f; 0.5f; 0.1f |], [| 1L; 1L; 1L; 3L |])
            use labels = torch.tensor([| 1.0f |], [| 1L; 1L |])
            Expect.equal (longs (Cam.pseudoLabels 0.7 0.3 cams labels)) [| 1L; 255L; 0L |] "longs (Cam.pseudoLabels 0.7 0.3 cams labels)"

        testCase "multi-scale fusion returns normalised maps at the input size" <| fun () ->
            torch.manual_seed 1L |> ignore
            use images = torch.randn([| 2L; 3L; 16L; 12L |])
            use labels = torch.tensor([| 1.0f; 0.0f; 1.0f; 1.0f |], [| 2L; 2L |])
            // a "network" mapping images to 2 class maps at stride 4
            let camOf (x: Tensor) = torch.nn.functional.avg_pool2d(x.narrow(1L, 0L, 2L), 4L)
            use fused = Cam.multiScale camOf Cam.defaultScales true images labels
            Expect.equal fused.shape [| 2L; 2L; 16L; 12L |] "fused.shape"
            let v = floats fused
            Expect.isTrue (v |> Array.forall (fun x -> x >= 0.0f && x <= 1.0f + 1e-6f)) "v |> Array.forall (fun x -> x >= 0.0f && x <= 1.0f + 1e-6f)"
            // image 0 has no class 2: its map is zero
            Expect.isTrue (v[16 * 12 .. 2 * 16 * 12 - 1] |> Array.forall (fun x -> x = 0.0f)) "v[16 * 12 .. 2 * 16 * 12 - 1] |> Array.forall (fun x -> x = 0.0f)"

        // Pooling lives once, in CamClassifier: the setting is its CamPooling, and the
        // baseline's image scores are W applied to the pooled backbone feature (for GAP also
        // the mean of the raw maps, for GMP not the max of the maps).
        testCase "the CAM baseline's pooling setting is the C# classifier's pooling" <| fun () ->
            let env = MethodEnv.onCpu [| "background"; "a"; "b"; "c" |] "tiny_resnet" 32 1
            torch.manual_seed 5L |> ignore
            for name, pooling in [ "gap", CamPooling.Gap; "gmp", CamPooling.Gmp ] do
                use _s = torch.NewDisposeScope()
                let cfg = CamBaseline.set "pooling" name CamBaseline.defaults
                Expect.equal cfg.Pooling pooling $"pooling={name}"
                use net = CamBaseline.network env cfg
                Expect.equal net.Classifier.Pooling pooling $"the classifier of pooling={name}"
                let images = torch.randn([| 2L; 3L; 32L; 32L |])
                let r = net.Run images
                let f = r.Features.Final                                     // (B, D, h, w)
                let pooled = if pooling = CamPooling.Gap then f.mean([| 2L; 3L |]) else f.amax([| 2L; 3L |]) // (B, D)
                let expected = pooled.matmul(net.Classifier.Weight.t())      // (B, K)
                Expect.isTrue (r.Scores.allclose(expected, 1e-4, 1e-5)) $"{name}: scores = W . pooled features"
                let viaMaps = if pooling = CamPooling.Gap then r.Maps.mean([| 2L; 3L |]) else r.Maps.amax([| 2L; 3L |]) // (B, K)
                Expect.equal (r.Scores.allclose(viaMaps, 1e-4, 1e-5)) (pooling = CamPooling.Gap) $"{name}: scores = pooled maps only for GAP"
    ]
