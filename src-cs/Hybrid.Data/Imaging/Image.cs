namespace Hybrid.Data;

/// <summary>
/// A decoded image: interleaved HWC bytes with 1 channel (grayscale, or palette indices when
/// <see cref="Palette"/> is set) or 3 channels (RGB).
/// </summary>
public sealed class Image
{
    public int Width { get; }
    public int Height { get; }
    public int Channels { get; }

    /// <summary>(H, W, C) row-major bytes.</summary>
    public byte[] Pixels { get; }

    /// <summary>RGB triples of a palette image (length 3 * colours), else null.</summary>
    public byte[]? Palette { get; }

    public Image(int width, int height, int channels, byte[] pixels, byte[]? palette = null)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"image size must be positive, got {width}x{height}");
        if (channels is not (1 or 3 or 4))
            throw new ArgumentException($"channels must be 1, 3 or 4, got {channels}");
        if (pixels.Length != (long)width * height * channels)
            throw new ArgumentException(
                $"pixel buffer has {pixels.Length} bytes, expected {width}x{height}x{channels} = {(long)width * height * channels}");
        if (palette is not null)
        {
            if (channels != 1) throw new ArgumentException("a palette image has 1 channel (the indices)");
            if (palette.Length == 0 || palette.Length % 3 != 0 || palette.Length > 768)
                throw new ArgumentException($"palette must hold 1..256 RGB triples, got {palette.Length} bytes");
        }
        Width = width;
        Height = height;
        Channels = channels;
        Pixels = pixels;
        Palette = palette;
    }

    public byte this[int y, int x, int c = 0] => Pixels[((long)y * Width + x) * Channels + c];

    /// <summary>A single-channel image holding class indices, coloured with <paramref name="palette"/>.</summary>
    public static Image Indexed(int width, int height, byte[] indices, byte[] palette) =>
        new(width, height, 1, indices, palette);

    /// <summary>
    /// Pixels as floats in channel-first order, scaled by <paramref name="scale"/>
    /// (1/255 gives [0, 1]). Result shape (C, H, W).
    /// </summary>
    public float[] ToChw(float scale = 1f / 255f)
    {
        int plane = Width * Height;
        var chw = new float[plane * Channels]; // (C, H, W)
        for (int i = 0; i < plane; i++)
            for (int c = 0; c < Channels; c++)
                chw[c * plane + i] = Pixels[i * Channels + c] * scale;
        return chw;
    }

    /// <summary>
    /// Inverse of <see cref="ToChw"/>: (C, H, W) floats divided by <paramref name="scale"/>,
    /// rounded and clamped to bytes.
    /// </summary>
    public static Image FromChw(float[] chw, int channels, int height, int width, float scale = 1f / 255f)
    {
        int plane = width * height;
        if (chw.Length != plane * channels)
            throw new ArgumentException($"expected {channels}x{height}x{width} = {plane * channels} floats, got {chw.Length}");
        var hwc = new byte[plane * channels];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < plane; i++)
            {
                float v = MathF.Round(chw[c * plane + i] / scale);
                hwc[i * channels + c] = (byte)Math.Clamp(v, 0f, 255f);
            }
        return new Image(width, height, channels, hwc);
    }

    /// <summary>The same pixels converted to 3-channel RGB (palette indices mapped through the palette).</summary>
    public Image ToRgb()
    {
        if (Channels == 3) return this;
        int n = Width * Height;
        var rgb = new byte[n * 3];
        for (int i = 0; i < n; i++)
        {
            if (Palette is not null)
            {
                int k = Pixels[i] * 3;
                if (k + 2 < Palette.Length)
                {
                    rgb[3 * i] = Palette[k];
                    rgb[3 * i + 1] = Palette[k + 1];
                    rgb[3 * i + 2] = Palette[k + 2];
                }
            }
            else if (Channels == 1)
            {
                rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = Pixels[i];
            }
            else
            {
                rgb[3 * i] = Pixels[4 * i];
                rgb[3 * i + 1] = Pixels[4 * i + 1];
                rgb[3 * i + 2] = Pixels[4 * i + 2];
            }
        }
        return new Image(Width, Height, 3, rgb);
    }

    /// <summary>The luminance (ITU-R BT.601 weights) of an RGB image; gray images are returned as is.</summary>
    public Image ToGray()
    {
        if (Channels == 1 && Palette is null) return this;
        var rgb = ToRgb();
        int n = Width * Height;
        var gray = new byte[n];
        for (int i = 0; i < n; i++)
        {
            int v = (299 * rgb.Pixels[3 * i] + 587 * rgb.Pixels[3 * i + 1] + 114 * rgb.Pixels[3 * i + 2] + 500) / 1000;
            gray[i] = (byte)v;
        }
        return new Image(Width, Height, 1, gray);
    }
}
