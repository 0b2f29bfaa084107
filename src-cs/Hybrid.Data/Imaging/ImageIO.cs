namespace Hybrid.Data;

/// <summary>
/// Reading and writing JPEG / PNG files: palette PNGs through our own reader and writer (their
/// indices are class labels and must stay exact), everything else through SkiaSharp.
/// Errors are <see cref="InvalidDataException"/>s (corrupt data) or <see cref="IOException"/>s
/// (missing files) whose message names the file.
/// </summary>
public static class ImageIO
{
    /// <summary>Decodes a JPEG or PNG file; a palette PNG keeps its indices and its palette.</summary>
    public static Image Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"image file not found: {path}", path);
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <summary>
    /// Decodes JPEG or PNG bytes; <paramref name="name"/> is used in error messages. The result has
    /// 1 channel (gray, or palette indices with <see cref="Image.Palette"/> set) or 3 (RGB; alpha is dropped).
    /// </summary>
    public static Image Decode(ReadOnlySpan<byte> data, string name = "<memory>")
    {
        if (data.IsEmpty) throw ImageDecodeError.Create(name, "empty file (0 bytes)");
        if (PngChunks.HasSignature(data))
            return PalettePngReader.IsPalettePng(data) ? PalettePngReader.Read(data, name) : SkiaCodec.Decode(data, name, "PNG");
        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
            return SkiaCodec.Decode(data, name, "JPEG");
        throw ImageDecodeError.Create(name, "not a JPEG or PNG file (unrecognised signature)");
    }

    /// <summary>Encodes as PNG: gray, RGB, RGBA, or 8-bit palette indices when the image has a palette.</summary>
    public static byte[] EncodePng(Image image) =>
        image.Palette is not null ? PalettePngWriter.Encode(image) : SkiaCodec.EncodePng(image);

    /// <summary>Encodes as baseline JPEG at <paramref name="quality"/> (1..100): gray stays gray, anything else becomes RGB.</summary>
    public static byte[] EncodeJpeg(Image image, int quality = 95)
    {
        if (quality is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(quality), quality, "JPEG quality is 1..100");
        if (image.Palette is not null || image.Channels == 4) image = image.ToRgb();
        return SkiaCodec.EncodeJpeg(image, quality);
    }

    public static void WritePng(string path, Image image) => WriteFile(path, EncodePng(image));

    public static void WriteJpeg(string path, Image image, int quality = 95) => WriteFile(path, EncodeJpeg(image, quality));

    /// <summary>Writes by extension: .png, or .jpg / .jpeg.</summary>
    public static void Write(string path, Image image)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        switch (ext)
        {
            case ".png": WritePng(path, image); break;
            case ".jpg" or ".jpeg": WriteJpeg(path, image); break;
            default: throw new ArgumentException($"cannot tell the image format of '{path}': use .png, .jpg or .jpeg");
        }
    }

    private static void WriteFile(string path, byte[] bytes)
    {
        string? dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        File.WriteAllBytes(path, bytes);
    }
}
