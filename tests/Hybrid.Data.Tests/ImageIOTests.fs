/// ImageIO: JPEG and PNG in and out, palette indices kept, clear errors naming the file.
module Hybrid.Data.Tests.ImageIOTests

open System
open System.IO
open Expecto
open Hybrid.Data
open Hybrid.Data.Tests.Checks

let private pngRoundTripIsLossless (channels: int) =
    testCase $"PNG round trip is lossless ({channels} channels)" (fun () ->
        let w, h = 9, 4
        let px = Array.init (w * h * channels) (fun i -> byte (i * 37 + 11))
        let back = ImageIO.Decode(ReadOnlySpan(ImageIO.EncodePng(Image(w, h, channels, px))))
        Expect.equal back.Channels channels "channels"
        Expect.isNull back.Palette "no palette"
        Expect.equal back.Pixels px "pixels")

[<Tests>]
let tests =
    testList "ImageIO" [
        testCase "palette PNG round trip keeps indices and palette" (fun () ->
            use dir = new TempDir()
            let w, h = 7, 5
            let indices = Array.init (w * h) (fun i -> byte (if i % 4 = 3 then 255 else i % 21))
            let palette = VocPalette.Create(256)
            ImageIO.WritePng(dir["mask.png"], Image.Indexed(w, h, indices, palette))

            let back = ImageIO.Read(dir["mask.png"])
            Expect.equal (back.Width, back.Height, back.Channels) (w, h, 1) "size and channels"
            Expect.equal back.Pixels indices "indices"
            Expect.isNotNull back.Palette "palette kept"
            Expect.equal back.Palette palette "palette"
            // VOC colours: class 1 is (128, 0, 0), 255 (ignore) is (224, 224, 192).
            Expect.equal back.Palette[3..5] [| 128uy; 0uy; 0uy |] "class 1 colour"
            Expect.equal back.Palette[3 * 255 .. 3 * 256 - 1] [| 224uy; 224uy; 192uy |] "ignore colour")

        testCase "two-bit palette PNG is unpacked to indices" (fun () ->
            // Fixtures/palette_2bit.png: bit depth 2, written by make_fixtures.sh independently of our writer.
            let img = ImageIO.Read(Fixtures.file "palette_2bit.png")
            Expect.equal (img.Width, img.Height, img.Channels) (5, 2, 1) "size and channels"
            Expect.equal img.Pixels [| 0uy; 1uy; 2uy; 3uy; 3uy; 2uy; 1uy; 0uy; 1uy; 1uy |] "indices"
            Expect.equal img.Palette [| 0uy; 0uy; 0uy; 255uy; 0uy; 0uy; 0uy; 255uy; 0uy; 0uy; 0uy; 255uy |] "palette")

        pngRoundTripIsLossless 1
        pngRoundTripIsLossless 3

        testCase "JPEG decode matches the reference decoder" (fun () ->
            // pattern_q90.ppm is djpeg's decode of pattern_q90.jpg (Fixtures/make_fixtures.sh).
            let ours = ImageIO.Read(Fixtures.file "pattern_q90.jpg")
            let reference = Fixtures.readPpm (Fixtures.file "pattern_q90.ppm")
            Expect.equal (ours.Width, ours.Height, ours.Channels) (reference.Width, reference.Height, 3) "size and channels"
            let maxDiff = Array.map2 (fun (p: byte) (q: byte) -> abs (int p - int q)) ours.Pixels reference.Pixels |> Array.max
            Expect.isTrue (maxDiff <= 1) $"max difference to djpeg {maxDiff}")

        testCase "JPEG decode is close to the encoded pattern" (fun () ->
            // The source of the fixture: r = 16x, g = 21y, b = 255 - 8(x + y); quality 90.
            let img = ImageIO.Read(Fixtures.file "pattern_q90.jpg")
            let mutable sumAbs = 0.0
            for y in 0 .. img.Height - 1 do
                for x in 0 .. img.Width - 1 do
                    sumAbs <- sumAbs + float (abs (int img[y, x, 0] - 16 * x))
                    sumAbs <- sumAbs + float (abs (int img[y, x, 1] - 21 * y))
                    sumAbs <- sumAbs + float (abs (int img[y, x, 2] - (255 - 8 * (x + y))))
            let mae = sumAbs / float img.Pixels.Length
            Expect.isTrue (mae < 4.0) $"mean absolute error {mae}")

        testCase "JPEG encode and decode is close and deterministic" (fun () ->
            let w, h = 32, 24
            let px = Array.zeroCreate<byte> (w * h * 3)
            for y in 0 .. h - 1 do
                for x in 0 .. w - 1 do
                    px[(y * w + x) * 3] <- byte (x * 8)
                    px[(y * w + x) * 3 + 1] <- byte (y * 10)
                    px[(y * w + x) * 3 + 2] <- 90uy
            let image = Image(w, h, 3, px)
            let a = ImageIO.EncodeJpeg(image, 95)
            Expect.equal (ImageIO.EncodeJpeg(image, 95)) a "same bytes twice"
            Expect.isTrue (ImageIO.EncodeJpeg(image, 20).Length < a.Length) "quality 20 is smaller"
            let back = ImageIO.Decode(ReadOnlySpan a)
            let mae = Array.map2 (fun (p: byte) (q: byte) -> float (abs (int p - int q))) back.Pixels px |> Array.average
            Expect.isTrue (mae < 2.0) $"mean absolute error {mae}")

        testCase "gray JPEG decodes to one channel" (fun () ->
            let gray = Image(8, 8, 1, Array.init 64 (fun i -> byte (i * 4)))
            let back = ImageIO.Decode(ReadOnlySpan(ImageIO.EncodeJpeg(gray, 95)))
            Expect.equal back.Channels 1 "one channel")

        testCase "truncated JPEG gives an error naming the file" (fun () ->
            use dir = new TempDir()
            let bytes = File.ReadAllBytes(Fixtures.file "pattern_q90.jpg")
            File.WriteAllBytes(dir["cut.jpg"], bytes[.. bytes.Length / 2 - 1])
            let ex = throws<InvalidDataException> (fun () -> ImageIO.Read(dir["cut.jpg"]) |> ignore)
            Expect.stringContains ex.Message "cut.jpg" "names the file"
            Expect.stringContains ex.Message "JPEG" "names the format")

        testCase "corrupt JPEG header gives an error" (fun () ->
            let bytes = File.ReadAllBytes(Fixtures.file "pattern_q90.jpg")
            for i in 4 .. 199 do
                bytes[i] <- 0x5Auy // overwrite the quantisation/Huffman tables
            let ex = throws<InvalidDataException> (fun () -> ImageIO.Decode(ReadOnlySpan bytes, "bad.jpg") |> ignore)
            Expect.stringContains ex.Message "bad.jpg" "names the file")

        testCase "truncated and corrupt PNG give errors" (fun () ->
            use dir = new TempDir()
            let png = ImageIO.EncodePng(Image(20, 20, 3, Array.zeroCreate 1200))
            File.WriteAllBytes(dir["cut.png"], png[.. png.Length - 21])
            let ex = throws<InvalidDataException> (fun () -> ImageIO.Read(dir["cut.png"]) |> ignore)
            Expect.stringContains ex.Message "cut.png" "names the file"
            Expect.stringContains ex.Message "PNG" "names the format"

            let bad = Array.copy png
            for i in 40 .. bad.Length - 13 do
                bad[i] <- bad[i] ^^^ 0xA5uy // damage the IDAT stream (CRC fails)
            throws<InvalidDataException> (fun () -> ImageIO.Decode(ReadOnlySpan bad, "bad.png") |> ignore) |> ignore)

        testCase "unknown format and missing file give clear errors" (fun () ->
            use dir = new TempDir()
            File.WriteAllText(dir["notes.png"], "this is text")
            let ex = throws<InvalidDataException> (fun () -> ImageIO.Read(dir["notes.png"]) |> ignore)
            Expect.stringContains ex.Message "notes.png" "names the file"
            Expect.stringContains ex.Message "signature" "says why"
            throws<InvalidDataException> (fun () -> ImageIO.Decode(ReadOnlySpan(Array.empty<byte>), "empty.jpg") |> ignore) |> ignore
            let missing = throws<FileNotFoundException> (fun () -> ImageIO.Read(dir["nope.jpg"]) |> ignore)
            Expect.stringContains missing.Message "nope.jpg" "names the missing file")

        testCase "CHW conversion round trips" (fun () ->
            let img = Image(3, 2, 3, Array.init 18 (fun i -> byte (i * 13)))
            let chw = img.ToChw() // (3, 2, 3)
            // channel 1 at (y=1, x=2) is HWC index (1*3+2)*3+1 = 16
            equalRounded 5 (float (16.0f * 13.0f / 255.0f)) (float chw[1 * 6 + 1 * 3 + 2]) "channel 1 at (1, 2)"
            Expect.equal (Image.FromChw(chw, 3, 2, 3).Pixels) img.Pixels "back to bytes")
    ]
