/// JPEG and non-palette PNG through SkiaSharp: files that SkiaSharp itself wrote decode through
/// ImageIO; alpha is dropped unblended; our encoder writes the PNG colour type of the channels.
module Hybrid.Data.Tests.SkiaCodecTests

open System
open System.IO
open System.Runtime.InteropServices
open Expecto
open SkiaSharp
open Hybrid.Data
open Hybrid.Data.Tests.Checks

/// Encodes raw pixels with SkiaSharp directly (not through ImageIO).
let private skiaEncode (info: SKImageInfo) (pixels: byte[]) (format: SKEncodedImageFormat) (quality: int) : byte[] =
    use bitmap = new SKBitmap(info)
    Expect.equal bitmap.RowBytes (info.Width * info.BytesPerPixel) "no row padding"
    Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length)
    use data = bitmap.Encode(format, quality)
    data.ToArray()

let private pattern (n: int) (seed: int) = Array.init n (fun i -> byte ((i * 31 + seed) % 251))

[<Tests>]
let tests =
    testList "SkiaCodec" [
        testCase "an RGB PNG written by SkiaSharp decodes exactly" (fun () ->
            let w, h = 11, 7
            let rgb = pattern (w * h * 3) 5
            let rgba = Array.init (w * h * 4) (fun i -> if i % 4 = 3 then 255uy else rgb[(i / 4) * 3 + i % 4])
            let png = skiaEncode (SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque)) rgba SKEncodedImageFormat.Png 100
            let img = ImageIO.Decode(ReadOnlySpan png, "skia.png")
            Expect.equal (img.Width, img.Height, img.Channels) (w, h, 3) "size and channels"
            Expect.equal img.Pixels rgb "pixels")

        testCase "a gray PNG written by SkiaSharp decodes exactly to one channel" (fun () ->
            let w, h = 6, 9
            let gray = pattern (w * h) 77
            let png = skiaEncode (SKImageInfo(w, h, SKColorType.Gray8, SKAlphaType.Opaque)) gray SKEncodedImageFormat.Png 100
            let img = ImageIO.Decode(ReadOnlySpan png, "gray.png")
            Expect.equal (img.Width, img.Height, img.Channels) (w, h, 1) "size and channels"
            Expect.isNull img.Palette "no palette"
            Expect.equal img.Pixels gray "pixels")

        testCase "RGBA PNG drops alpha without blending" (fun () ->
            let w, h = 5, 4
            let rgba = pattern (w * h * 4) 9
            let png = skiaEncode (SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul)) rgba SKEncodedImageFormat.Png 100
            Expect.equal (PngChunks.ColourType(ReadOnlySpan png)) 6 "SkiaSharp wrote RGBA"
            let img = ImageIO.Decode(ReadOnlySpan png, "rgba.png")
            Expect.equal img.Channels 3 "three channels"
            let rgb = Array.init (w * h * 3) (fun i -> rgba[(i / 3) * 4 + i % 3])
            Expect.equal img.Pixels rgb "the colour values as stored")

        testCase "gray + alpha PNG of another encoder decodes to its gray levels" (fun () ->
            // Fixtures/gray_alpha.png: make_fixtures.sh (Python's zlib).
            let img = ImageIO.Read(Fixtures.file "gray_alpha.png")
            Expect.equal (img.Width, img.Height, img.Channels) (3, 2, 1) "size and channels"
            Expect.equal img.Pixels [| 10uy; 200uy; 77uy; 0uy; 255uy; 128uy |] "gray levels, alpha dropped")

        testCase "a JPEG written by SkiaSharp decodes close to its source" (fun () ->
            let w, h = 24, 16
            let rgb = Array.init (w * h * 3) (fun i -> let p, c = i / 3, i % 3 in byte ([| 10 * (p % w); 15 * (p / w); 200 |][c]))
            let rgba = Array.init (w * h * 4) (fun i -> if i % 4 = 3 then 255uy else rgb[(i / 4) * 3 + i % 4])
            let jpeg = skiaEncode (SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque)) rgba SKEncodedImageFormat.Jpeg 95
            let img = ImageIO.Decode(ReadOnlySpan jpeg, "skia.jpg")
            Expect.equal (img.Width, img.Height, img.Channels) (w, h, 3) "size and channels"
            let mae = Array.map2 (fun (p: byte) (q: byte) -> float (abs (int p - int q))) img.Pixels rgb |> Array.average
            Expect.isTrue (mae < 2.0) $"mean absolute error {mae}")

        testCase "our PNG encoder writes gray, RGB and RGBA colour types" (fun () ->
            for channels, colourType in [ 1, 0; 3, 2; 4, 6 ] do
                let px = pattern (4 * 3 * channels) channels
                let png = ImageIO.EncodePng(Image(4, 3, channels, px))
                Expect.equal (PngChunks.ColourType(ReadOnlySpan png)) colourType $"{channels} channels"
                let back = ImageIO.Decode(ReadOnlySpan png)
                let expected = if channels = 4 then Array.init (4 * 3 * 3) (fun i -> px[(i / 3) * 4 + i % 3]) else px
                Expect.equal back.Pixels expected $"{channels} channels decode (alpha dropped)")

        testCase "JPEG quality outside 1..100 is refused" (fun () ->
            let img = Image(2, 2, 3, Array.zeroCreate 12)
            for q in [ 0; 101 ] do
                throws<ArgumentOutOfRangeException> (fun () -> ImageIO.EncodeJpeg(img, q) |> ignore) |> ignore
            Expect.isGreaterThan (ImageIO.EncodeJpeg(img, 1).Length) 0 "quality 1 is fine")

        testCase "a palette image written as JPEG is its colours" (fun () ->
            let img = Image.Indexed(8, 8, Array.create 64 1uy, VocPalette.Create())
            let back = ImageIO.Decode(ReadOnlySpan(ImageIO.EncodeJpeg(img, 95)))
            Expect.equal back.Channels 3 "RGB"
            let mean c = [| for i in 0 .. 63 -> float back.Pixels[3 * i + c] |] |> Array.average
            Expect.isTrue (abs (mean 0 - 128.0) < 2.0) $"red of class 1 ({mean 0})"
            Expect.isTrue (mean 1 < 3.0 && mean 2 < 3.0) "green and blue near 0")
    ]
