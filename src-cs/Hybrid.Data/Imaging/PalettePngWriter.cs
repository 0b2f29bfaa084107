using System.Buffers.Binary;
using System.IO.Compression;

namespace Hybrid.Data;

/// <summary>
/// Writes palette PNGs (IHDR, PLTE, IDAT, IEND) from an image's indices and palette, at bit
/// depth 1, 2, 4 or 8, optionally Adam7-interlaced. The output is a function of the input
/// (deterministic), so generated datasets repeat byte for byte.
/// </summary>
public static class PalettePngWriter
{
    /// <summary>
    /// Encodes <paramref name="image"/> (1 channel with a palette). Every index must fit in
    /// <paramref name="bitDepth"/> bits and the palette must have at most 2^bitDepth colours.
    /// </summary>
    public static byte[] Encode(Image image, int bitDepth = 8, PngFilter filter = PngFilter.Adaptive, bool interlace = false)
    {
        var palette = image.Palette ?? throw new ArgumentException("the image has no palette: write it as a gray or RGB PNG");
        if (bitDepth is not (1 or 2 or 4 or 8)) throw new ArgumentException($"palette PNGs have bit depth 1, 2, 4 or 8, not {bitDepth}");
        if (palette.Length / 3 > 1 << bitDepth)
            throw new ArgumentException($"a palette of {palette.Length / 3} colours does not fit bit depth {bitDepth}");
        byte top = image.Pixels.Length == 0 ? (byte)0 : image.Pixels.Max();
        if (top >> bitDepth != 0) throw new ArgumentException($"index {top} does not fit bit depth {bitDepth}");

        var output = new MemoryStream();
        output.Write(PngChunks.Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)image.Width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr[4..], (uint)image.Height);
        ihdr[8] = (byte)bitDepth;
        ihdr[9] = 3; // colour type: palette
        ihdr[10] = 0; // deflate
        ihdr[11] = 0; // adaptive filtering with the five basic filters
        ihdr[12] = (byte)(interlace ? 1 : 0);
        PngChunks.Write(output, "IHDR", ihdr);
        PngChunks.Write(output, "PLTE", palette);
        PngChunks.Write(output, "IDAT", Compress(Filtered(image, bitDepth, filter, interlace)));
        PngChunks.Write(output, "IEND", ReadOnlySpan<byte>.Empty);
        return output.ToArray();
    }

    /// <summary>The filtered scanlines of every pass: a filter byte, then the indices packed high bits first.</summary>
    private static byte[] Filtered(Image image, int bitDepth, PngFilter filter, bool interlace)
    {
        var raw = new MemoryStream();
        foreach (var pass in Adam7.For(interlace))
        {
            int pw = pass.Width(image.Width), ph = pass.Height(image.Height);
            if (pw == 0 || ph == 0) continue;
            int rowBytes = (pw * bitDepth + 7) / 8;
            var row = new byte[rowBytes];
            var prior = new byte[rowBytes];
            var filtered = new byte[rowBytes];
            for (int y = 0; y < ph; y++)
            {
                Array.Clear(row);
                long source = (long)(pass.Y0 + y * pass.DY) * image.Width + pass.X0;
                for (int x = 0; x < pw; x++)
                {
                    int bit = x * bitDepth;
                    row[bit >> 3] |= (byte)(image.Pixels[source + (long)x * pass.DX] << (8 - bitDepth - (bit & 7)));
                }
                int type = PngFilters.Choose(filter, row, prior, 1, filtered);
                PngFilters.Filter(type, row, prior, 1, filtered);
                raw.WriteByte((byte)type);
                raw.Write(filtered);
                (row, prior) = (prior, row);
            }
        }
        return raw.ToArray();
    }

    private static byte[] Compress(byte[] raw)
    {
        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(raw);
        return compressed.ToArray();
    }
}
