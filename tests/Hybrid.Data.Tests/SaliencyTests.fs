/// Saliency: the FFT, resizing, the two unsupervised methods, folder runs, and CIELAB.
module Hybrid.Data.Tests.SaliencyTests

open System
open System.IO
open Expecto
open Hybrid.Data
open Hybrid.Data.Tests.Checks

let private anOddObjectIsSalient (methodName: SaliencyMethod) =
    testCase $"an odd object is salient ({methodName})" (fun () ->
        // Gray noisy background with a small yellow square (it differs in colour and in luminance,
        // which is all spectral residual sees): the square should stand out.
        let w, h = 80, 60
        let rng = Rng(2UL)
        let px = Array.zeroCreate<byte> (w * h * 3)
        for i in 0 .. w * h - 1 do
            for c in 0 .. 2 do
                px[3 * i + c] <- byte (100 + rng.NextInt(20))
        for y in 20 .. 31 do
            for x in 50 .. 61 do
                px[(y * w + x) * 3] <- 230uy
                px[(y * w + x) * 3 + 1] <- 220uy
                px[(y * w + x) * 3 + 2] <- 40uy
        let map = SaliencyMaps.Compute(Image(w, h, 3, px), methodName)
        let mutable inside, outside = 0.0, 0.0
        for y in 0 .. h - 1 do
            for x in 0 .. w - 1 do
                if y >= 20 && y < 32 && x >= 50 && x < 62 then inside <- inside + float map[y * w + x]
                else outside <- outside + float map[y * w + x]
        inside <- inside / 144.0
        outside <- outside / float (w * h - 144)
        Expect.isTrue (inside > 3.0 * outside) $"{methodName}: inside {inside:F3}, outside {outside:F3}"
        inRange (Array.max map) 0.999f 1.0f "the maximum is 1")

[<Tests>]
let tests =
    testList "Saliency" [
        testCase "the FFT matches the definition of the DFT" (fun () ->
            // Reference: X[k] = sum_n x[n] exp(-2 pi i k n / N), summed directly.
            let n = 16
            let re = Array.init n (fun i -> Math.Sin(float i * 0.7) + float (i % 3))
            let im = Array.init n (fun i -> 0.1 * float i)
            let r0, i0 = Array.copy re, Array.copy im
            Fft.Transform(Span re, Span im, inverse = false)
            for k in 0 .. n - 1 do
                let mutable sr, si = 0.0, 0.0
                for t in 0 .. n - 1 do
                    let a = -2.0 * Math.PI * float k * float t / float n
                    sr <- sr + r0[t] * Math.Cos(a) - i0[t] * Math.Sin(a)
                    si <- si + r0[t] * Math.Sin(a) + i0[t] * Math.Cos(a)
                equalRounded 9 sr re[k] $"re[{k}]"
                equalRounded 9 si im[k] $"im[{k}]"
            Fft.Transform(Span re, Span im, inverse = true)
            for t in 0 .. n - 1 do
                equalRounded 9 r0[t] re[t] $"inverse re[{t}]"
            throws<ArgumentException> (fun () -> Fft.Transform(Span(Array.zeroCreate<float> 12), Span(Array.zeroCreate<float> 12), false)) |> ignore)

        testCase "area resize averages and bilinear interpolates" (fun () ->
            let src = [| 0.0f; 2.0f; 4.0f; 6.0f; 8.0f; 10.0f; 12.0f; 14.0f |] // (2, 4)
            Expect.equal (Resize.Area(src, 2, 4, 2, 2)) [| 1.0f; 5.0f; 9.0f; 13.0f |] "pairs of columns"
            Expect.equal (Resize.Area(src, 2, 4, 1, 2)) [| 5.0f; 9.0f |] "2x2 blocks"
            let up = Resize.Bilinear([| 0.0f; 4.0f |], 1, 2, 1, 4) // half-pixel centres: 0, 1, 3, 4
            Expect.equal up [| 0.0f; 1.0f; 3.0f; 4.0f |] "bilinear upsampling")

        anOddObjectIsSalient SaliencyMethod.SpectralResidual
        anOddObjectIsSalient SaliencyMethod.FrequencyTuned

        testCase "folder saliency writes one map per image and gathers errors" (fun () ->
            use dir = new TempDir()
            Directory.CreateDirectory(dir["img"]) |> ignore
            ImageIO.WriteJpeg(dir["img/a.jpg"], Image(16, 12, 3, Array.init 576 byte))
            ImageIO.WritePng(dir["img/b.png"], Image(10, 10, 1, Array.zeroCreate 100))
            File.WriteAllText(dir["img/notes.txt"], "not an image")
            Expect.equal (SaliencyMaps.ComputeFolder(dir["img"], dir["sal"])) 2 "two maps"
            let a = ImageIO.Read(dir["sal/a.png"])
            Expect.equal (a.Width, a.Height, a.Channels) (16, 12, 1) "size of a's map"
            Expect.isTrue (File.Exists(dir["sal/b.png"])) "b's map"

            File.WriteAllBytes(dir["img/c.jpg"], [| 0xFFuy; 0xD8uy; 0xFFuy; 0xE0uy; 0uy; 0x10uy |])
            let ex = throws<DatasetException> (fun () -> SaliencyMaps.ComputeFolder(dir["img"], dir["sal2"], SaliencyMethod.FrequencyTuned) |> ignore)
            Expect.stringContains ex.Message "c.jpg" "names the bad file"
            Expect.isTrue (File.Exists(dir["sal2/a.png"])) "the readable ones were still written")

        testCase "sRGB to CIELAB matches known values" (fun () ->
            // Reference values from the CIE definitions (D65): white is L 100, a b 0; sRGB red is
            // L 53.24, a 80.09, b 67.20; mid gray 128 is L 53.59 (as listed by Bruce Lindbloom's calculator).
            let struct (wl, wa, wb) = FrequencyTuned.ToLab(255uy, 255uy, 255uy)
            equalRounded 1 100.0 (float wl) "white L"
            equalRounded 1 0.0 (float wa) "white a"
            equalRounded 1 0.0 (float wb) "white b"
            let struct (rl, ra, rb) = FrequencyTuned.ToLab(255uy, 0uy, 0uy)
            equalRounded 1 (float 53.24f) (float rl) "red L"
            equalRounded 1 (float 80.09f) (float ra) "red a"
            equalRounded 1 (float 67.20f) (float rb) "red b"
            let struct (gl, _, _) = FrequencyTuned.ToLab(128uy, 128uy, 128uy)
            equalRounded 1 (float 53.59f) (float gl) "gray L")
    ]
