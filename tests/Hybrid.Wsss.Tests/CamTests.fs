/// Tensor CAM pieces: normalisation, seeds, pseudo labels, multi-scale fusion.
module Hybrid.Wsss.Tests.CamTests

open Xunit
open FsCheck
open FsCheck.FSharp
open Hybrid.Torch
open Hybrid.Wsss

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

[<Fact>]
let ``normalised CAMs lie in [0, 1] and are 0 for absent classes`` () =
    Prop.check (Prop.forAll (Arb.fromGen mapsAndLabels) (fun (b, k, h, w, seed, present) ->
        use _s = torch.NewDisposeScope()
        torch.manual_seed (int64 seed)
        let maps = torch.randn([| int64 b; int64 k; int64 h; int64 w |])
        let labels = torch.tensor(present, [| int64 b; int64 k |])
        let n = (Cam.normaliseMax maps labels).data<float32> ()
        let inRange = n |> Array.forall (fun v -> v >= 0.0f && v <= 1.0f + 1e-6f)
        let absentZero =
            Seq.forall (fun i -> present[i / (h * w)] = 1.0f || n[i] = 0.0f) (seq { 0 .. n.Length - 1 })
        inRange && absentZero))

[<Fact>]
let ``seeds use only present classes and background`` () =
    Prop.check (Prop.forAll (Arb.fromGen mapsAndLabels) (fun (b, k, h, w, seed, present) ->
        use _s = torch.NewDisposeScope()
        torch.manual_seed (int64 seed)
        let maps = torch.rand([| int64 b; int64 k; int64 h; int64 w |])
        let labels = torch.tensor(present, [| int64 b; int64 k |])
        let s = (Cam.seeds 0.3 maps labels).data<int64> ()
        s |> Array.mapi (fun i l -> l = 0L || present[(i / (h * w)) * k + int l - 1] = 1.0f) |> Array.forall id))

[<Fact>]
let ``pseudo labels put the band between the thresholds to 255`` () =
    // one image, one class, three pixels with CAM 0.9, 0.5, 0.1; fg 0.7, bg 0.3 -> 1, 255, 0
    use cams = torch.tensor([| 0.9f; 0.5f; 0.1f |], [| 1L; 1L; 1L; 3L |])
    use labels = torch.tensor([| 1.0f |], [| 1L; 1L |])
    Assert.Equal<int64[]>([| 1L; 255L; 0L |], (Cam.pseudoLabels 0.7 0.3 cams labels).data<int64> ())

[<Fact>]
let ``multi-scale fusion returns normalised maps at the input size`` () =
    torch.manual_seed 1L
    use images = torch.randn([| 2L; 3L; 16L; 12L |])
    use labels = torch.tensor([| 1.0f; 0.0f; 1.0f; 1.0f |], [| 2L; 2L |])
    // a "network" mapping images to 2 class maps at stride 4
    let camOf (x: Tensor) = torch.nn.functional.avg_pool2d(x.narrow(1L, 0L, 2L), 4L)
    use fused = Cam.multiScale camOf Cam.defaultScales true images labels
    Assert.Equal<int64[]>([| 2L; 2L; 16L; 12L |], fused.shape)
    let v = fused.data<float32> ()
    Assert.True(v |> Array.forall (fun x -> x >= 0.0f && x <= 1.0f + 1e-6f))
    // image 0 has no class 2: its map is zero
    Assert.True(v[16 * 12 .. 2 * 16 * 12 - 1] |> Array.forall (fun x -> x = 0.0f))

