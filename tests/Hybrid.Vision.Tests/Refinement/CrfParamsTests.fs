/// The dense-CRF presets and their provenance.
module Hybrid.Vision.Tests.CrfParamsTests

open System
open Expecto
open Hybrid.Vision
open Hybrid.Vision.Tests.TestKit
open Hybrid.Vision.Tests.CrfScenes

[<Tests>]
let tests =
    testList "Refinement.CrfParams" [
        testCase "Every preset resolves to valid parameters" (fun () ->
            for preset in Enum.GetValues<CrfPreset>() do
                let p = CrfParams.For preset
                p.Validate()
                Expect.isGreaterThanOrEqual p.Iterations 1 $"{preset}: iterations"
                Expect.isTrue (p.BiW > 0.0 && p.PosW > 0.0) $"{preset}: weights"
            raises<ArgumentOutOfRangeException> "preset 999" (fun () -> CrfParams.For(enum<CrfPreset> 999) |> ignore) |> ignore)

        // Provenance check of the named sets against the papers' public code:
        // PSA/SEAM/PLDA tool/imutils.py crf_inference (sxy 3, compat 3; sxy 80, srgb 13, compat 10;
        // t 10), CoSA utils/seg_helper.py crf_inference_infv2 (1; 1; 121, 5, 4; iter 1),
        // AuxSegNet/MCTformer crf_inference_inf (4, 3; 83, 5, 3; t 10), AuxSegNet crf_for_sal
        // (3, 3; 60, 5, 5; 1 iteration).
        for preset, iterations, posW, posXy, biW, biXy, biRgb in
            [ CrfPreset.Psa, 10, 3.0, 3.0, 10.0, 80.0, 13.0
              CrfPreset.Seam, 10, 3.0, 3.0, 10.0, 80.0, 13.0
              CrfPreset.Plda, 10, 3.0, 3.0, 10.0, 80.0, 13.0
              CrfPreset.PldaCocoLabels, 10, 3.0, 3.0, 10.0, 50.0, 5.0
              CrfPreset.CsdPseudoMask, 10, 3.0, 3.0, 10.0, 80.0, 13.0
              CrfPreset.CsdSegmentation, 10, 3.0, 4.0, 3.0, 83.0, 5.0
              CrfPreset.Cosa, 1, 1.0, 1.0, 4.0, 121.0, 5.0
              CrfPreset.AuxSegNetPlus, 10, 3.0, 4.0, 3.0, 83.0, 5.0
              CrfPreset.AuxSegNetPlusSaliency, 1, 3.0, 3.0, 5.0, 60.0, 5.0
              CrfPreset.DeepLabLargeFov, 10, 3.0, 3.0, 4.0, 121.0, 5.0 ] do
            testCase $"Presets carry their papers' numbers ({preset})" (fun () ->
                let expected = crf iterations posW posXy biW biXy biRgb
                Expect.equal (CrfParams.For preset) expected $"{preset}")

        testCase "Scaled shrinks only spatial stds" (fun () ->
            let half = CrfParams.Psa.Scaled 0.5
            let p = CrfParams.Psa
            Expect.equal half (crf p.Iterations p.PosW 1.5 p.BiW 40.0 p.BiRgbStd) "PosXyStd 1.5, BiXyStd 40"
            raises<ArgumentOutOfRangeException> "scale 0" (fun () -> CrfParams.Psa.Scaled 0.0 |> ignore) |> ignore)
    ]
