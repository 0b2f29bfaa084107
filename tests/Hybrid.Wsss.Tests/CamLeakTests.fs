/// Cam.multiScale against a written-out reference, with the live-tensor count (a process-wide
/// counter: the suite runs its tests one at a time).
module Hybrid.Wsss.Tests.CamLeakTests

open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Tests.Properties

/// Reference for the fusion: every scale and flip written out, nothing freed early.
let private multiScaleReference (camOf: Tensor -> Tensor) (scales: float list) (images: Tensor) (labels: Tensor) =
    use _s = torch.NewDisposeScope()
    let h, w = images.size 2, images.size 3
    let up (t: Tensor) = torch.nn.functional.interpolate(t, [| h; w |], mode = InterpolationMode.Bilinear, align_corners = false)
    let parts =
        [ for s in scales do
            let sh, sw = max 1L (int64 (round (float h * s))), max 1L (int64 (round (float w * s)))
            let x = if sh = h && sw = w then images else torch.nn.functional.interpolate(images, [| sh; sw |], mode = InterpolationMode.Bilinear, align_corners = false)
            yield up ((camOf x).relu())
            yield up ((camOf (x.flip(3L))).relu().flip(3L)) ]
    let sum = parts |> List.reduce (+)
    (Cam.normaliseMax sum labels).MoveToOuterDisposeScope()

[<Tests>]
let tests =
    testList "CamLeak" [
        property "multi-scale fusion equals the written-out sum and leaves no tensor behind" (
            Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (0, 1000)) (Gen.subListOf [ 0.5; 1.0; 1.5; 2.0 ] |> Gen.filter (List.isEmpty >> not)))) (fun (seed, scales) ->
                use _s = torch.NewDisposeScope()
                torch.manual_seed (int64 seed) |> ignore
                let images = torch.randn([| 2L; 3L; 16L; 12L |])
                let labels = torch.tensor([| 1.0f; 1.0f; 0.0f; 1.0f |], [| 2L; 2L |])
                let camOf (x: Tensor) = torch.nn.functional.avg_pool2d(x.narrow(1L, 0L, 2L), 4L)   // (B, 2, h/4, w/4)
                use expected = multiScaleReference camOf scales images labels
                let before = LiveTensors.settledCount ()
                use fused = Cam.multiScale camOf scales true images labels
                let leaked = Tensor.TotalCount - before - 1L                      // the result itself
                leaked = 0L && fused.allclose(expected, 1e-5, 1e-6)))
    ]
