/// Unary energies for the dense CRF: from probabilities, labels and saliency (DSS).
module Hybrid.Vision.Tests.CrfUnaryTests

open System
open Expecto
open Hybrid.Vision
open Hybrid.Vision.Tests.TestKit

[<Tests>]
let tests =
    testList "Refinement.CrfUnary" [
        testCase "Probabilities become clipped negative logs" (fun () ->
            let u = CrfUnary.FromProbabilities(ReadOnlySpan<float32> [| 0.5f; 1.0f; 0.0f; 2e-5f |])
            within 1e-6 (-log 0.5) (float u[0]) "p = 0.5"
            Expect.equal u[1] 0.0f "p = 1"
            within 1e-4 (-log 1e-5) (float u[2]) "p = 0, clipped"
            within 1e-4 (-log 2e-5) (float u[3]) "p = 2e-5"
            raises<ArgumentException> "a negative probability" (fun () -> CrfUnary.FromProbabilities(ReadOnlySpan<float32> [| 0.2f; -0.1f |]) |> ignore) |> ignore)

        testCase "Label unary puts gtProb on the label" (fun () ->
            // (H, W) = (1, 3), C = 4: labels 2, 0 and unsure (255).
            let u = CrfUnary.FromLabels(ReadOnlySpan<int> [| 2; 0; 255 |], 4, gtProb = 0.7f, unsureLabel = Nullable 255)
            let n = 3
            within 1e-6 (-log 0.7) (float u[2 * n + 0]) "labelled class"
            within 1e-6 (-log 0.1) (float u[1 * n + 0]) "other class: (1 - 0.7) / 3"
            within 1e-6 (-log 0.7) (float u[0 * n + 1]) "labelled class, pixel 1"
            for c in 0 .. 3 do within 1e-6 (log 4.0) (float u[c * n + 2]) "unsure: uniform"
            let e = raises<ArgumentException> "label 4 of 4" (fun () -> CrfUnary.FromLabels(ReadOnlySpan<int> [| 4 |], 4) |> ignore)
            Expect.stringContains e.Message "outside 0..3" "names the range")

        // Reference values computed with python3's math module:
        // -log(1 - s + 1e-8) / (1.05 sigmoid(1 - s)) and -log(s + 1e-8) / (1.05 sigmoid(s)) for
        // s = 0.3 give 0.5083756742376588 and 1.9960930828081722; s = 0 gives the foreground
        // energy 35.08701094086165.
        testCase "Saliency unary matches the DSS formula" (fun () ->
            let u = CrfUnary.FromSaliency(ReadOnlySpan<float32> [| 0.3f; 0.0f |])
            let n = 2
            within 1e-5 0.5083756742376588 (float u[0]) "background, s = 0.3"
            within 1e-5 1.9960930828081722 (float u[n + 0]) "foreground, s = 0.3"
            within 1e-4 35.08701094086165 (float u[n + 1]) "foreground, s = 0"
            raises<ArgumentException> "saliency 1.2" (fun () -> CrfUnary.FromSaliency(ReadOnlySpan<float32> [| 1.2f |]) |> ignore) |> ignore)

        // The saliency preset on a bright square: refined saliency (channel 1) is high inside
        // and low outside, and the CRF sharpens a soft saliency map towards the square.
        testCase "Saliency CRF sharpens a soft map" (fun () ->
            let h, w = 24, 24
            let n = h * w
            let rgb = Array.zeroCreate<byte> (n * 3)
            let sal = Array.zeroCreate<float32> n
            let rng = Random 8
            let isInside x y = x >= 6 && x < 18 && y >= 6 && y < 18
            for y in 0 .. h - 1 do
                for x in 0 .. w - 1 do
                    let i = y * w + x
                    let inside = isInside x y
                    for c in 0 .. 2 do rgb[3 * i + c] <- byte ((if inside then 220 else 30) + rng.Next(-10, 11))
                    sal[i] <- Math.Clamp((if inside then 0.6f else 0.4f) + float32 (rng.NextDouble() - 0.5) * 0.3f, 0.0f, 1.0f)
            let q = DenseCrf.InferUnary(rgb, h, w, CrfUnary.FromSaliency sal, 2, CrfParams.AuxSegNetPlusSaliency)
            let mutable inMean, outMean, inRaw, outRaw, inCount = 0.0, 0.0, 0.0, 0.0, 0
            for i in 0 .. n - 1 do
                if isInside (i % w) (i / w) then
                    inMean <- inMean + float q[n + i]; inRaw <- inRaw + float sal[i]; inCount <- inCount + 1
                else
                    outMean <- outMean + float q[n + i]; outRaw <- outRaw + float sal[i]
            inMean <- inMean / float inCount; inRaw <- inRaw / float inCount
            outMean <- outMean / float (n - inCount); outRaw <- outRaw / float (n - inCount)
            Expect.isTrue (inMean - outMean > inRaw - outRaw) $"contrast {inRaw - outRaw:F3} -> {inMean - outMean:F3}"
            Expect.isTrue (inMean > 0.5 && outMean < 0.5) "inside salient, outside not")
    ]
