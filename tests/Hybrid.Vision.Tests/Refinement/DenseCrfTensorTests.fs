/// The tensor overload of the dense CRF: both image layouts, clear errors for bad ones.
module Hybrid.Vision.Tests.DenseCrfTensorTests

open System
open Expecto
open TorchSharp
open Hybrid.Vision
open Hybrid.Vision.Tests.TestKit
open Hybrid.Vision.Tests.CrfScenes

[<Tests>]
let tests =
    testList "Refinement.DenseCrfTensor" [
        testCase "Tensor overload matches arrays for both image layouts" (fun () ->
            let h, w, classes = 9, 13, 3
            let rgb, probs = threeRegions h w classes 3
            let expected = DenseCrf.Infer(rgb, h, w, probs, classes, CrfPreset.Psa)
            use p = floatTensor probs [| int64 classes; int64 h; int64 w |]
            use hwc = byteTensor rgb [| int64 h; int64 w; 3L |]
            use chw = hwc.permute(2L, 0L, 1L)
            for image in [ hwc; chw ] do
                use q = DenseCrf.Infer(image, p, CrfPreset.Psa)
                Expect.equal q.shape [| int64 classes; int64 h; int64 w |] "shape"
                Expect.equal q.dtype ScalarType.Float32 "dtype"
                Expect.equal (floats q) expected "same marginals as the array overload")

        testCase "Tensor overload reports bad layouts" (fun () ->
            use p = torch.rand [| 2L; 4L; 5L |]
            use wrongSize = torch.zeros([| 4L; 6L; 3L |], ScalarType.Byte)
            Expect.stringContains (raises<ArgumentException> "wrong size" (fun () -> DenseCrf.Infer(wrongSize, p, CrfParams.Psa) |> ignore)).Message "(H, W) = (4, 5)" "names the expected size"
            use floatImage = torch.zeros [| 4L; 5L; 3L |]
            Expect.stringContains (raises<ArgumentException> "float image" (fun () -> DenseCrf.Infer(floatImage, p, CrfParams.Psa) |> ignore)).Message "uint8" "asks for uint8"
            use flat = torch.rand [| 20L |]
            use image = torch.zeros([| 4L; 5L; 3L |], ScalarType.Byte)
            Expect.stringContains (raises<ArgumentException> "flat probabilities" (fun () -> DenseCrf.Infer(image, flat, CrfParams.Psa) |> ignore)).Message "(C, H, W)" "asks for (C, H, W)")
    ]
