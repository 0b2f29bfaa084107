namespace Hybrid.Data;

/// <summary>
/// Reading and writing JPEG / PNG files through the native codecs (libjpeg-turbo, libpng).
/// Errors are <see cref="InvalidDataException"/>s (corrupt data) or <see cref="IOException"/>s
/// (missing files) whose message names the file.
/// </summary>
public static unsafe class ImageIO
{
    /// <summary>Decodes a JPEG or PNG file; a palette PNG keeps its indices and its palette.</summary>
    public static Image Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"image file not found: {path}", path);
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <summary>Decodes JPEG or PNG bytes; <paramref name="name"/> is used in error messages.</summary>
    public static Image Decode(ReadOnlySpan<byte> data, string name = "<memory>")
    {
        var palette = new byte[768];
        byte* pixels;
        int width, height, channels, paletteSize;
        fixed (byte* src = data)
        fixed (byte* pal = palette)
        {
            pixels = NativeCodec.hy_image_decode(src, data.Length, out width, out height, out channels, pal, out paletteSize);
        }
        if (pixels == null)
            throw new InvalidDataException($"cannot decode image '{name}': {NativeCodec.LastError()}. " +
                                           "Re-export or replace this file (JPEG and PNG are supported).");
        try
        {
            var managed = new byte[(long)width * height * channels];
            new ReadOnlySpan<byte>(pixels, managed.Length).CopyTo(managed);
            return new Image(width, height, channels, managed, paletteSize > 0 ? palette[..(3 * paletteSize)] : null);
        }
        finally
        {
            NativeCodec.hy_image_free(pixels);
        }
    }

    /// <summary>Encodes as PNG: gray, RGB, RGBA, or palette indices when the image has a palette.</summary>
    public static byte[] EncodePng(Image image)
    {
        byte* output;
        long size;
        int rc;
        fixed (byte* src = image.Pixels)
        fixed (byte* pal = image.Palette)
        {
            rc = NativeCodec.hy_image_encode_png(src, image.Width, image.Height, image.Channels,
                pal, image.Palette is null ? 0 : image.Palette.Length / 3, out output, out size);
        }
        return TakeEncoded(rc, output, size, "PNG");
    }

    /// <summary>Encodes a gray or RGB image as baseline JPEG at <paramref name="quality"/> (1..100).</summary>
    public static byte[] EncodeJpeg(Image image, int quality = 95)
    {
        if (image.Palette is not null) image = image.ToRgb();
        byte* output;
        long size;
        int rc;
        fixed (byte* src = image.Pixels)
        {
            rc = NativeCodec.hy_image_encode_jpeg(src, image.Width, image.Height, image.Channels, quality, out output, out size);
        }
        return TakeEncoded(rc, output, size, "JPEG");
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

    private static byte[] TakeEncoded(int rc, byte* output, long size, string format)
    {
        if (rc != 0) throw new InvalidOperationException($"{format} encoding failed: {NativeCodec.LastError()}");
        try
        {
            return new ReadOnlySpan<byte>(output, checked((int)size)).ToArray();
        }
        finally
        {
            NativeCodec.hy_image_free(output);
        }
    }

    private static void WriteFile(string path, byte[] bytes)
    {
        string? dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        File.WriteAllBytes(path, bytes);
    }
}
