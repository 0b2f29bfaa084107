using SkiaSharp;

namespace Hybrid.Data;

/// <summary>
/// JPEG and gray / RGB / RGBA PNG through SkiaSharp (libjpeg-turbo and libpng inside Skia).
/// Decoding keeps the file's own values: no colour-space conversion, alpha dropped unblended
/// (as before with libpng's strip_alpha), 16-bit samples reduced to 8.
/// </summary>
internal static unsafe class SkiaCodec
{
    private const long MaxPixels = 1L << 30; // refuse absurd headers before allocating

    /// <summary>Decodes to 1 channel (gray JPEG, gray PNG with or without alpha) or 3 (RGB).</summary>
    public static Image Decode(ReadOnlySpan<byte> data, string name, string format)
    {
        using var encoded = SKData.CreateCopy(data);
        using var codec = SKCodec.Create(encoded)
            ?? throw ImageDecodeError.Create(name, $"corrupt {format}: the header cannot be read (damaged or cut short near the start)");
        var info = codec.Info;
        int w = info.Width, h = info.Height;
        if (w <= 0 || h <= 0 || (long)w * h > MaxPixels)
            throw ImageDecodeError.Create(name, $"corrupt {format}: invalid dimensions {w}x{h}");
        int pngColourType = PngChunks.ColourType(data);
        bool gray = format == "JPEG" ? info.ColorType == SKColorType.Gray8 : pngColourType is 0 or 4;
        // Opaque gray decodes straight to Gray8; everything else to unpremultiplied RGBA (gray + alpha: R = G = B).
        bool direct = gray && info.ColorType == SKColorType.Gray8;
        var target = direct
            ? new SKImageInfo(w, h, SKColorType.Gray8, SKAlphaType.Opaque)
            : new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var decoded = new byte[(long)w * h * target.BytesPerPixel];
        SKCodecResult result;
        fixed (byte* p = decoded) result = codec.GetPixels(target, (IntPtr)p);
        if (result != SKCodecResult.Success)
            throw ImageDecodeError.Create(name, $"corrupt {format}: " + result switch
            {
                SKCodecResult.IncompleteInput => $"truncated {format} data (file ends early)",
                SKCodecResult.ErrorInInput => "damaged image data",
                _ => $"the decoder failed ({result})",
            });
        if (direct) return new Image(w, h, 1, decoded);
        int channels = gray ? 1 : 3, n = w * h;
        var pixels = new byte[(long)n * channels];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < channels; c++) pixels[i * channels + c] = decoded[4 * i + c];
        return new Image(w, h, channels, pixels);
    }

    /// <summary>A gray (1), RGB (3) or RGBA (4) image as PNG.</summary>
    public static byte[] EncodePng(Image image) =>
        Encode(image, p => p.Encode(SKPngEncoderOptions.Default), "PNG");

    /// <summary>A gray (1) or RGB (3) image as baseline JPEG with 4:2:0 chroma subsampling (libjpeg's default).</summary>
    public static byte[] EncodeJpeg(Image image, int quality) =>
        Encode(image, p => p.Encode(new SKJpegEncoderOptions(quality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore)), "JPEG");

    private static byte[] Encode(Image image, Func<SKPixmap, SKData?> encode, string format)
    {
        int w = image.Width, h = image.Height, n = w * h;
        SKImageInfo info;
        byte[] pixels;
        if (image.Channels == 1)
        {
            info = new SKImageInfo(w, h, SKColorType.Gray8, SKAlphaType.Opaque);
            pixels = image.Pixels;
        }
        else
        {
            // Skia has no 24-bit layout: RGB goes as opaque RGBA, which its encoders write without alpha.
            info = new SKImageInfo(w, h, SKColorType.Rgba8888, image.Channels == 4 ? SKAlphaType.Unpremul : SKAlphaType.Opaque);
            pixels = new byte[(long)n * 4];
            for (int i = 0; i < n; i++)
                for (int c = 0; c < 4; c++)
                    pixels[4 * i + c] = c < image.Channels ? image.Pixels[i * image.Channels + c] : (byte)255;
        }
        fixed (byte* p = pixels)
        {
            using var pixmap = new SKPixmap(info, (IntPtr)p, info.RowBytes);
            using var data = encode(pixmap) ?? throw new InvalidOperationException($"{format} encoding of a {w}x{h}x{image.Channels} image failed");
            return data.ToArray();
        }
    }
}
