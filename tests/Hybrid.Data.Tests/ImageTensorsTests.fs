/// Images to tensors and back, on the device asked for.
module Hybrid.Data.Tests.ImageTensorsTests

open System
open Expecto
open TorchSharp
open Hybrid.Data
open Hybrid.Data.Tests.Checks

[<Tests>]
let tests =
    testList "ImageTensors" [
        testCase "HWC bytes become CHW floats and back" (fun () ->
            let px = Array.init (2 * 3 * 3) (fun i -> byte (i * 14)) // (H=2, W=3, C=3)
            let image = Image(3, 2, 3, px)
            use t = ImageTensors.ToTensor(image)
            Expect.equal t.shape [| 3L; 2L; 3L |] "shape (C, H, W)"
            Expect.equal t.dtype torch.ScalarType.Float32 "float32"
            let v = t.data<float32>().ToArray()
            // element (c=2, y=1, x=0) is HWC byte (1*3+0)*3+2 = 11
            equalRounded 6 (float (11.0f * 14.0f / 255.0f)) (float v[2 * 6 + 1 * 3 + 0]) "element (2, 1, 0)"
            Expect.equal (ImageTensors.FromTensor(t).Pixels) px "back to bytes"
            use mask = ImageTensors.ToIndexTensor(Image(3, 2, 1, [| 0uy; 1uy; 2uy; 255uy; 4uy; 5uy |]))
            Expect.equal mask.dtype torch.ScalarType.Byte "uint8"
            Expect.equal (mask.data<byte>().ToArray()) [| 0uy; 1uy; 2uy; 255uy; 4uy; 5uy |] "indices"
            use bad = torch.zeros([| 2L; 2L; 2L |])
            throws<ArgumentException> (fun () -> ImageTensors.FromTensor(bad) |> ignore) |> ignore)

        testCase "tensors are made on the device asked for, CPU by default" (fun () ->
            let image = Image(2, 2, 1, [| 1uy; 2uy; 3uy; 4uy |])
            use a = ImageTensors.ToTensor(image)
            use b = ImageTensors.ToTensor(image, device = torch.CPU)
            use m = ImageTensors.ToIndexTensor(image, torch.CPU)
            for t in [ a; b; m ] do
                Expect.equal t.device_type DeviceType.CPU "on the CPU"
            Expect.equal (b.data<float32>().ToArray()) (a.data<float32>().ToArray()) "same values")

        testCase "FromTensor reads integer tensors and leaves no tensor behind" (fun () ->
            use counts = torch.tensor([| 0L; 7L; 255L; 300L |], ReadOnlySpan<int64>([| 1L; 2L; 2L |])) // (1, 2, 2) int64
            GC.Collect()
            GC.WaitForPendingFinalizers()
            let before = torch.Tensor.TotalCount
            let img = ImageTensors.FromTensor(counts, 1.0f)
            Expect.equal torch.Tensor.TotalCount before "no temporaries left"
            Expect.equal img.Pixels [| 0uy; 7uy; 255uy; 255uy |] "values, clamped to bytes")
    ]
