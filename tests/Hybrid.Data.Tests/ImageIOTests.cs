namespace Hybrid.Data.Tests;

public class ImageIOTests
{
    [Fact]
    public void PalettePngRoundTripKeepsIndicesAndPalette()
    {
        using var dir = new TempDir();
        int w = 7, h = 5;
        var indices = new byte[w * h];
        for (int i = 0; i < indices.Length; i++) indices[i] = (byte)(i % 4 == 3 ? 255 : i % 21);
        var palette = VocPalette.Create(256);
        ImageIO.WritePng(dir["mask.png"], Image.Indexed(w, h, indices, palette));

        var back = ImageIO.Read(dir["mask.png"]);
        Assert.Equal((w, h, 1), (back.Width, back.Height, back.Channels));
        Assert.Equal(indices, back.Pixels);
        Assert.NotNull(back.Palette);
        Assert.Equal(palette, back.Palette);
        // VOC colours: class 1 is (128, 0, 0), 255 (ignore) is (224, 224, 192).
        Assert.Equal(new byte[] { 128, 0, 0 }, back.Palette![3..6]);
        Assert.Equal(new byte[] { 224, 224, 192 }, back.Palette![(3 * 255)..(3 * 256)]);
    }

    [Fact]
    public void TwoBitPalettePngIsUnpackedToIndices()
    {
        // Fixtures/palette_2bit.png: bit depth 2, written by make_fixtures.sh independently of libpng.
        var img = ImageIO.Read(Fixtures.File("palette_2bit.png"));
        Assert.Equal((5, 2, 1), (img.Width, img.Height, img.Channels));
        Assert.Equal(new byte[] { 0, 1, 2, 3, 3, 2, 1, 0, 1, 1 }, img.Pixels);
        Assert.Equal(new byte[] { 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255 }, img.Palette);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void PngRoundTripIsLossless(int channels)
    {
        int w = 9, h = 4;
        var px = new byte[w * h * channels];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)(i * 37 + 11);
        var back = ImageIO.Decode(ImageIO.EncodePng(new Image(w, h, channels, px)));
        Assert.Equal(channels, back.Channels);
        Assert.Null(back.Palette);
        Assert.Equal(px, back.Pixels);
    }

    [Fact]
    public void JpegDecodeMatchesReferenceDecoder()
    {
        // pattern_q90.ppm is djpeg's decode of pattern_q90.jpg (Fixtures/make_fixtures.sh).
        var ours = ImageIO.Read(Fixtures.File("pattern_q90.jpg"));
        var reference = Fixtures.ReadPpm(Fixtures.File("pattern_q90.ppm"));
        Assert.Equal((reference.Width, reference.Height, 3), (ours.Width, ours.Height, ours.Channels));
        int maxDiff = 0;
        for (int i = 0; i < ours.Pixels.Length; i++)
            maxDiff = Math.Max(maxDiff, Math.Abs(ours.Pixels[i] - reference.Pixels[i]));
        Assert.True(maxDiff <= 1, $"max difference to djpeg {maxDiff}");
    }

    [Fact]
    public void JpegDecodeIsCloseToTheEncodedPattern()
    {
        // The source of the fixture: r = 16x, g = 21y, b = 255 - 8(x + y); quality 90.
        var img = ImageIO.Read(Fixtures.File("pattern_q90.jpg"));
        double sumAbs = 0;
        for (int y = 0; y < img.Height; y++)
            for (int x = 0; x < img.Width; x++)
            {
                sumAbs += Math.Abs(img[y, x, 0] - 16 * x);
                sumAbs += Math.Abs(img[y, x, 1] - 21 * y);
                sumAbs += Math.Abs(img[y, x, 2] - (255 - 8 * (x + y)));
            }
        double mae = sumAbs / img.Pixels.Length;
        Assert.True(mae < 4, $"mean absolute error {mae}");
    }

    [Fact]
    public void JpegEncodeDecodeIsCloseAndDeterministic()
    {
        int w = 32, h = 24;
        var px = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                px[(y * w + x) * 3] = (byte)(x * 8);
                px[(y * w + x) * 3 + 1] = (byte)(y * 10);
                px[(y * w + x) * 3 + 2] = 90;
            }
        var image = new Image(w, h, 3, px);
        var a = ImageIO.EncodeJpeg(image, 95);
        Assert.Equal(a, ImageIO.EncodeJpeg(image, 95));
        Assert.True(ImageIO.EncodeJpeg(image, 20).Length < a.Length);
        var back = ImageIO.Decode(a);
        double mae = back.Pixels.Zip(px, (p, q) => Math.Abs(p - q)).Average();
        Assert.True(mae < 2, $"mean absolute error {mae}");
    }

    [Fact]
    public void GrayJpegDecodesToOneChannel()
    {
        var gray = new Image(8, 8, 1, Enumerable.Range(0, 64).Select(i => (byte)(i * 4)).ToArray());
        var back = ImageIO.Decode(ImageIO.EncodeJpeg(gray, 95));
        Assert.Equal(1, back.Channels);
    }

    [Fact]
    public void TruncatedJpegGivesErrorNamingTheFile()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(Fixtures.File("pattern_q90.jpg"));
        File.WriteAllBytes(dir["cut.jpg"], bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<InvalidDataException>(() => ImageIO.Read(dir["cut.jpg"]));
        Assert.Contains("cut.jpg", ex.Message);
        Assert.Contains("JPEG", ex.Message);
    }

    [Fact]
    public void CorruptJpegHeaderGivesError()
    {
        var bytes = File.ReadAllBytes(Fixtures.File("pattern_q90.jpg"));
        for (int i = 4; i < 200; i++) bytes[i] = 0x5A; // overwrite the quantisation/Huffman tables
        var ex = Assert.Throws<InvalidDataException>(() => ImageIO.Decode(bytes, "bad.jpg"));
        Assert.Contains("bad.jpg", ex.Message);
    }

    [Fact]
    public void TruncatedAndCorruptPngGiveErrors()
    {
        using var dir = new TempDir();
        var png = ImageIO.EncodePng(new Image(20, 20, 3, new byte[1200]));
        File.WriteAllBytes(dir["cut.png"], png[..(png.Length - 20)]);
        var ex = Assert.Throws<InvalidDataException>(() => ImageIO.Read(dir["cut.png"]));
        Assert.Contains("cut.png", ex.Message);
        Assert.Contains("PNG", ex.Message);

        var bad = (byte[])png.Clone();
        for (int i = 40; i < bad.Length - 12; i++) bad[i] ^= 0xA5; // damage the IDAT stream (CRC fails)
        Assert.Throws<InvalidDataException>(() => ImageIO.Decode(bad, "bad.png"));
    }

    [Fact]
    public void UnknownFormatAndMissingFileGiveClearErrors()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["notes.png"], "this is text");
        var ex = Assert.Throws<InvalidDataException>(() => ImageIO.Read(dir["notes.png"]));
        Assert.Contains("notes.png", ex.Message);
        Assert.Contains("signature", ex.Message);
        Assert.Throws<InvalidDataException>(() => ImageIO.Decode(Array.Empty<byte>(), "empty.jpg"));
        var missing = Assert.Throws<FileNotFoundException>(() => ImageIO.Read(dir["nope.jpg"]));
        Assert.Contains("nope.jpg", missing.Message);
    }

    [Fact]
    public void ChwConversionRoundTrips()
    {
        var img = new Image(3, 2, 3, Enumerable.Range(0, 18).Select(i => (byte)(i * 13)).ToArray());
        var chw = img.ToChw(); // (3, 2, 3)
        // channel 1 at (y=1, x=2) is HWC index (1*3+2)*3+1 = 16
        Assert.Equal(16 * 13 / 255f, chw[1 * 6 + 1 * 3 + 2], 5);
        Assert.Equal(img.Pixels, Image.FromChw(chw, 3, 2, 3).Pixels);
    }
}
