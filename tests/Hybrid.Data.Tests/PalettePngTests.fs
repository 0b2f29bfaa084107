/// Our palette PNG reader and writer: indices exact at every bit depth, filter and interlacing;
/// files of other encoders read; libpng (inside SkiaSharp) reads ours; damage is a clear error.
module Hybrid.Data.Tests.PalettePngTests

open System
open System.Buffers.Binary
open System.IO
open System.IO.Compression
open System.Text
open Expecto
open FsCheck
open FsCheck.FSharp
open SkiaSharp
open Hybrid.Data
open Hybrid.Data.Tests.Checks

/// One palette image and how to write it.
type PaletteCase =
    { Width: int
      Height: int
      BitDepth: int
      Palette: byte[]
      Indices: byte[]
      Filter: PngFilter
      Interlace: bool }

    member c.Image = Image.Indexed(c.Width, c.Height, c.Indices, c.Palette)
    member c.Encode() = PalettePngWriter.Encode(c.Image, c.BitDepth, c.Filter, c.Interlace)

let private byteIn (lo: int) (hi: int) = Gen.choose (lo, hi) |> Gen.map byte

/// Sizes from 1x1 (Adam7 passes left empty) up to 70 pixels a side; indices either noise or
/// blocks (mask-like, where the filters matter); indices below 2^bitDepth, and below the palette
/// size when `withinPalette` (PNG allows more, VOC's 255 beside a short palette needs it).
let private paletteCase (maxSide: int) (withinPalette: bool) : Gen<PaletteCase> = gen {
    let! bitDepth = Gen.elements [ 1; 2; 4; 8 ]
    let side = Gen.frequency [ 3, Gen.choose (1, min 9 maxSide); 1, Gen.choose (1, maxSide) ]
    let! w = side
    let! h = side
    let! colours = Gen.choose (1, min 256 (1 <<< bitDepth))
    let! palette = Gen.arrayOfLength (3 * colours) (byteIn 0 255)
    let top = if withinPalette then colours - 1 else (1 <<< bitDepth) - 1
    let noise = Gen.arrayOfLength (w * h) (byteIn 0 top)
    let blocks = gen {
        let! block = Gen.choose (1, 8)
        let bw, bh = (w + block - 1) / block, (h + block - 1) / block
        let! values = Gen.arrayOfLength (bw * bh) (byteIn 0 top)
        return Array.init (w * h) (fun i -> values[(i / w / block) * bw + (i % w) / block])
    }
    let! indices = Gen.oneof [ noise; blocks ]
    let! filter = Gen.elements [ PngFilter.None; PngFilter.Sub; PngFilter.Up; PngFilter.Average; PngFilter.Paeth; PngFilter.Adaptive ]
    let! interlace = Gen.elements [ false; true ]
    return { Width = w; Height = h; BitDepth = bitDepth; Palette = palette; Indices = indices; Filter = filter; Interlace = interlace }
}

let private config n = { FsCheckConfig.defaultConfig with maxTest = n }

/// The colours libpng (inside SkiaSharp) decodes, as RGBA bytes, with no colour conversion.
let private skiaRgba (bytes: byte[]) : int * int * byte[] =
    use data = SKData.CreateCopy(bytes)
    use codec = SKCodec.Create(data)
    Expect.isNotNull codec "SkiaSharp opens the file"
    let info = SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul)
    let pixels = Array.zeroCreate<byte> (info.Width * info.Height * 4)
    let result = codec.GetPixels(info, pixels)
    Expect.equal result SKCodecResult.Success "SkiaSharp decodes the file"
    info.Width, info.Height, pixels

/// A PNG assembled chunk by chunk: IHDR from the fields, an optional PLTE, the zlib-compressed raw scanlines.
let private craft (w: uint32) (h: uint32) (bitDepth: byte) (colourType: byte) (interlace: byte) (palette: byte[] option) (raw: byte[]) =
    let output = new MemoryStream()
    output.Write(PngChunks.Signature)
    let ihdr = Array.zeroCreate<byte> 13
    BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(), w)
    BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), h)
    ihdr[8] <- bitDepth
    ihdr[9] <- colourType
    ihdr[12] <- interlace
    PngChunks.Write(output, "IHDR", ReadOnlySpan ihdr)
    palette |> Option.iter (fun p -> PngChunks.Write(output, "PLTE", ReadOnlySpan p))
    let compressed = new MemoryStream()
    do
        use z = new ZLibStream(compressed, CompressionLevel.Optimal, true)
        z.Write(raw, 0, raw.Length)
    PngChunks.Write(output, "IDAT", ReadOnlySpan(compressed.ToArray()))
    PngChunks.Write(output, "IEND", ReadOnlySpan<byte>.Empty)
    output.ToArray()

let private decodeError (bytes: byte[]) (name: string) =
    throws<InvalidDataException> (fun () -> ImageIO.Decode(ReadOnlySpan bytes, name) |> ignore)

let private twoColours = [| 0uy; 0uy; 0uy; 255uy; 255uy; 255uy |]

[<Tests>]
let tests =
    testList "PalettePng" [
        testPropertyWithConfig (config 300) "writer then reader gives the indices and palette back exactly"
            (Prop.forAll (Arb.fromGen (paletteCase 70 false)) (fun c ->
                let back = PalettePngReader.Read(ReadOnlySpan(c.Encode()), "case.png")
                Expect.equal (back.Width, back.Height, back.Channels) (c.Width, c.Height, 1) "size and channels"
                Expect.equal back.Pixels c.Indices "indices"
                Expect.equal back.Palette c.Palette "palette"
                // ImageIO takes the same path for a palette PNG.
                Expect.equal (ImageIO.Decode(ReadOnlySpan(c.Encode()), "case.png").Pixels) c.Indices "through ImageIO"))

        testPropertyWithConfig (config 150) "libpng (SkiaSharp) decodes our files to the palette colours of the indices"
            (Prop.forAll (Arb.fromGen (paletteCase 40 true)) (fun c ->
                let w, h, rgba = skiaRgba (c.Encode())
                Expect.equal (w, h) (c.Width, c.Height) "size"
                for i in 0 .. c.Indices.Length - 1 do
                    let k = 3 * int c.Indices[i]
                    let expected = [| c.Palette[k]; c.Palette[k + 1]; c.Palette[k + 2]; 255uy |]
                    Expect.equal rgba[4 * i .. 4 * i + 3] expected $"pixel {i} (index {c.Indices[i]})"))

        testCase "ImageIO writes palette images at bit depth 8, like VOC's files" (fun () ->
            let img = Image.Indexed(3, 2, [| 0uy; 1uy; 2uy; 255uy; 1uy; 0uy |], VocPalette.Create())
            let bytes = ImageIO.EncodePng img
            Expect.equal (PngChunks.ColourType(ReadOnlySpan bytes)) 3 "colour type 3"
            Expect.equal bytes[24] 8uy "bit depth 8")

        testCase "an Adam7 4-bit file of another encoder, with all five filters, decodes" (fun () ->
            // Fixtures/palette_adam7_4bit.png: make_fixtures.sh, filtered and interlaced in Python.
            let img = ImageIO.Read(Fixtures.file "palette_adam7_4bit.png")
            Expect.equal (img.Width, img.Height, img.Channels) (13, 9, 1) "size and channels"
            let expected = Array.init (13 * 9) (fun i -> byte ((3 * (i % 13) + 5 * (i / 13)) % 11))
            Expect.equal img.Pixels expected "indices (3x + 5y) mod 11"
            let palette = Array.init 11 (fun i -> [| byte (23 * i); byte (255 - 20 * i); byte (7 * i) |]) |> Array.concat
            Expect.equal img.Palette palette "palette"
            // The fixture itself is sound: libpng sees the same colours.
            let _, _, rgba = skiaRgba (File.ReadAllBytes(Fixtures.file "palette_adam7_4bit.png"))
            for i in 0 .. expected.Length - 1 do
                Expect.equal rgba[4 * i .. 4 * i + 2] palette[3 * int expected[i] .. 3 * int expected[i] + 2] $"libpng pixel {i}")

        testPropertyWithConfig (config 20) "every truncation of a palette file is a clear error"
            (Prop.forAll (Arb.fromGen (paletteCase 6 false)) (fun c ->
                let bytes = c.Encode()
                for n in 0 .. bytes.Length - 1 do
                    let ex = decodeError bytes[.. n - 1] "cut.png"
                    Expect.stringContains ex.Message "cut.png" $"{n} bytes: names the file"))

        testPropertyWithConfig (config 300) "any damaged byte of a palette file is a clear error"
            (Prop.forAll (Arb.fromGen (gen {
                let! c = paletteCase 12 false
                let bytes = c.Encode()
                let! at = Gen.choose (0, bytes.Length - 1)
                let! flip = byteIn 1 255
                return bytes, at, flip })) (fun (bytes, at, flip) ->
                let bad = Array.copy bytes
                bad[at] <- bad[at] ^^^ flip
                let ex = decodeError bad "bad.png"
                Expect.stringContains ex.Message "bad.png" $"byte {at} xor {flip}: names the file"))

        testCase "truncated and damaged palette files say what is wrong" (fun () ->
            use dir = new TempDir()
            let bytes = PalettePngWriter.Encode(Image.Indexed(16, 16, Array.init 256 byte, VocPalette.Create()))
            File.WriteAllBytes(dir["cut.png"], bytes[.. bytes.Length - 30])
            let cut = throws<InvalidDataException> (fun () -> ImageIO.Read(dir["cut.png"]) |> ignore)
            Expect.stringContains cut.Message "cut.png" "names the file"
            Expect.stringContains cut.Message "PNG" "names the format"
            Expect.stringContains cut.Message "truncated" "says truncated"
            let bad = Array.copy bytes
            bad[bad.Length - 20] <- bad[bad.Length - 20] ^^^ 0x10uy // inside the IDAT data
            Expect.stringContains (decodeError bad "crc.png").Message "CRC" "a damaged chunk fails its CRC")

        testCase "damage behind valid CRCs is found too" (fun () ->
            let row = [| 0uy; 0x12uy; 0x34uy |] // filter 0, four 4-bit indices
            let good = craft 4u 1u 4uy 3uy 0uy (Some(Array.create 15 7uy)) row
            Expect.equal (ImageIO.Decode(ReadOnlySpan good).Pixels) [| 1uy; 2uy; 3uy; 4uy |] "the crafted file is sound"
            let filter = craft 4u 1u 4uy 3uy 0uy (Some(Array.create 15 7uy)) [| 7uy; 0x12uy; 0x34uy |]
            Expect.stringContains (decodeError filter "f.png").Message "filter type 7" "unknown filter"
            let short = craft 4u 2u 4uy 3uy 0uy (Some(Array.create 15 7uy)) row
            Expect.stringContains (decodeError short "s.png").Message "ends early" "one row of two"
            let noPalette = craft 4u 1u 4uy 3uy 0uy None row
            Expect.stringContains (decodeError noPalette "p.png").Message "PLTE" "no palette"
            let longPalette = craft 4u 1u 1uy 3uy 0uy (Some(Array.create 9 7uy)) [| 0uy; 0x50uy |]
            Expect.stringContains (decodeError longPalette "l.png").Message "PLTE" "3 colours at 1 bit"
            let interlace = craft 4u 1u 4uy 3uy 2uy (Some(Array.create 15 7uy)) row
            Expect.stringContains (decodeError interlace "i.png").Message "interlace method 2" "unknown interlacing"
            let depth = craft 4u 1u 3uy 3uy 0uy (Some(Array.create 15 7uy)) row
            Expect.stringContains (decodeError depth "d.png").Message "bit depth 3" "invalid bit depth"
            let huge = craft 100000u 100000u 8uy 3uy 0uy (Some(Array.create 15 7uy)) row
            Expect.stringContains (decodeError huge "h.png").Message "too large" "refused before allocating"
            let zlib = Array.copy good
            let idat = Encoding.ASCII.GetBytes "IDAT"
            let at = (ReadOnlySpan zlib).IndexOf(ReadOnlySpan idat) + 4
            zlib[at] <- 0x00uy // not a zlib header any more; recompute the CRC so that only the stream is wrong
            let length = int (BinaryPrimitives.ReadUInt32BigEndian(ReadOnlySpan(zlib, at - 8, 4)))
            BinaryPrimitives.WriteUInt32BigEndian(Span(zlib, at + length, 4), Crc32.Compute(ReadOnlySpan(zlib, at - 4, 4 + length)))
            Expect.stringContains (decodeError zlib "z.png").Message "compressed image data" "damaged zlib stream"
            // ImageIO sends palette PNGs to our reader, whatever SkiaSharp would do with them.
            Expect.isTrue (PalettePngReader.IsPalettePng(ReadOnlySpan good)) "recognised as palette"
            Expect.isFalse (PalettePngReader.IsPalettePng(ReadOnlySpan(ImageIO.EncodePng(Image(2, 2, 1, Array.zeroCreate 4))))) "gray is not")

        testCase "CRC-32 matches the standard check values" (fun () ->
            // The CRC-32 check value of "123456789" (ISO 3309) and the CRC every IEND chunk carries.
            Expect.equal (Crc32.Compute(ReadOnlySpan(Encoding.ASCII.GetBytes "123456789"))) 0xCBF43926u "check value"
            Expect.equal (Crc32.Compute(ReadOnlySpan(Encoding.ASCII.GetBytes "IEND"))) 0xAE426082u "IEND")

        testCase "the writer refuses what a palette PNG cannot hold" (fun () ->
            let palette = Array.create 12 0uy // 4 colours
            let e1 = throws<ArgumentException> (fun () -> PalettePngWriter.Encode(Image.Indexed(2, 1, [| 0uy; 4uy |], palette), 2) |> ignore)
            Expect.stringContains e1.Message "index 4" "index beyond the bit depth"
            let e2 = throws<ArgumentException> (fun () -> PalettePngWriter.Encode(Image.Indexed(2, 1, [| 0uy; 1uy |], palette), 1) |> ignore)
            Expect.stringContains e2.Message "4 colours" "palette beyond the bit depth"
            throws<ArgumentException> (fun () -> PalettePngWriter.Encode(Image(2, 1, 1, [| 0uy; 1uy |])) |> ignore) |> ignore
            throws<ArgumentException> (fun () -> PalettePngWriter.Encode(Image.Indexed(2, 1, [| 0uy; 1uy |], twoColours), 3) |> ignore) |> ignore)
    ]
