using System.Buffers.Binary;
using System.IO.Compression;

namespace Hybrid.Data;

/// <summary>
/// Reads palette PNGs (colour type 3, bit depths 1, 2, 4 and 8, plain or Adam7-interlaced) as
/// their indices and palette, never as colours: VOC SegmentationClass masks store class indices
/// this way. Every chunk's CRC is checked; ancillary chunks (tRNS, gAMA, text...) are skipped.
/// Errors are <see cref="InvalidDataException"/>s naming the file.
/// </summary>
public static class PalettePngReader
{
    private const long MaxPixels = 1L << 30; // refuse absurd headers before allocating

    /// <summary>True when <paramref name="data"/> starts like a PNG whose IHDR says colour type 3.</summary>
    public static bool IsPalettePng(ReadOnlySpan<byte> data) => PngChunks.ColourType(data) == 3;

    public static Image Read(string path) => Read(File.ReadAllBytes(path), path);

    /// <summary>Decodes a palette PNG; <paramref name="name"/> is used in error messages.</summary>
    public static Image Read(ReadOnlySpan<byte> data, string name = "<memory>")
    {
        if (!PngChunks.HasSignature(data)) throw PngChunks.Corrupt(name, "not a PNG file (unrecognised signature)");
        var chunks = PngChunks.Split(data, name);
        if (chunks[0] is not { Type: "IHDR", Length: 13 }) throw PngChunks.Corrupt(name, "the file does not start with a 13-byte IHDR chunk");
        var ihdr = data.Slice(chunks[0].Offset, 13);
        uint width = BinaryPrimitives.ReadUInt32BigEndian(ihdr), height = BinaryPrimitives.ReadUInt32BigEndian(ihdr[4..]);
        int bitDepth = ihdr[8], colourType = ihdr[9], interlace = ihdr[12];
        if (width is 0 or > int.MaxValue || height is 0 or > int.MaxValue)
            throw PngChunks.Corrupt(name, $"invalid size {width}x{height}");
        if ((long)width * height > MaxPixels) throw PngChunks.Corrupt(name, $"dimensions {width}x{height} too large");
        if (colourType != 3) throw PngChunks.Corrupt(name, $"colour type {colourType} is not a palette image");
        if (bitDepth is not (1 or 2 or 4 or 8)) throw PngChunks.Corrupt(name, $"bit depth {bitDepth} is invalid for a palette image");
        if (ihdr[10] != 0 || ihdr[11] != 0) throw PngChunks.Corrupt(name, "unknown compression or filter method");
        if (interlace > 1) throw PngChunks.Corrupt(name, $"unknown interlace method {interlace}");

        var palette = ReadPalette(data, chunks, bitDepth, name);
        var packed = Inflate(data, chunks, RawSize((int)width, (int)height, bitDepth, interlace == 1), name);
        var indices = Unpack(packed, (int)width, (int)height, bitDepth, interlace == 1, name);
        return Image.Indexed((int)width, (int)height, indices, palette);
    }

    private static byte[] ReadPalette(ReadOnlySpan<byte> data, List<PngChunk> chunks, int bitDepth, string name)
    {
        int plte = chunks.FindIndex(c => c.Type == "PLTE");
        if (plte < 0) throw PngChunks.Corrupt(name, "palette image without a PLTE chunk");
        if (chunks.FindLastIndex(c => c.Type == "PLTE") != plte) throw PngChunks.Corrupt(name, "more than one PLTE chunk");
        int firstData = chunks.FindIndex(c => c.Type == "IDAT");
        if (firstData >= 0 && firstData < plte) throw PngChunks.Corrupt(name, "PLTE after the image data");
        var c = chunks[plte];
        int colours = c.Length / 3;
        if (c.Length % 3 != 0 || colours is < 1 or > 256 || colours > 1 << bitDepth)
            throw PngChunks.Corrupt(name, $"PLTE of {c.Length} bytes is invalid at bit depth {bitDepth}");
        return data.Slice(c.Offset, c.Length).ToArray();
    }

    /// <summary>Bytes of the filtered image data: per pass, per row, a filter byte and the packed indices.</summary>
    private static int RawSize(int width, int height, int bitDepth, bool interlaced)
    {
        long size = 0;
        foreach (var pass in Adam7.For(interlaced))
        {
            long pw = pass.Width(width), ph = pass.Height(height);
            if (pw > 0) size += ph * (1 + (pw * bitDepth + 7) / 8);
        }
        return checked((int)size);
    }

    /// <summary>
    /// The first <paramref name="expected"/> bytes of the zlib stream of the consecutive IDAT chunks,
    /// inflated (never more: a small file cannot make us allocate beyond its header's size).
    /// </summary>
    private static byte[] Inflate(ReadOnlySpan<byte> data, List<PngChunk> chunks, int expected, string name)
    {
        int first = chunks.FindIndex(c => c.Type == "IDAT");
        if (first < 0) throw PngChunks.Corrupt(name, "no IDAT chunk (no image data)");
        var compressed = new MemoryStream();
        int i = first;
        for (; i < chunks.Count && chunks[i].Type == "IDAT"; i++) compressed.Write(data.Slice(chunks[i].Offset, chunks[i].Length));
        if (chunks.FindIndex(i, c => c.Type == "IDAT") >= 0) throw PngChunks.Corrupt(name, "IDAT chunks are not consecutive");
        compressed.Position = 0;
        try
        {
            using var zlib = new ZLibStream(compressed, CompressionMode.Decompress);
            var inflated = new byte[expected];
            if (zlib.ReadAtLeast(inflated, expected, throwOnEndOfStream: false) < expected)
                throw PngChunks.Corrupt(name, "the image data ends early (truncated or damaged file)");
            return inflated;
        }
        catch (InvalidDataException e)
        {
            throw ImageDecodeError.Create(name, $"corrupt PNG: damaged compressed image data ({e.Message})", e);
        }
    }

    /// <summary>Reverses the row filters of every pass and spreads the packed indices to one byte per pixel.</summary>
    private static byte[] Unpack(byte[] raw, int width, int height, int bitDepth, bool interlaced, string name)
    {
        var indices = new byte[(long)width * height];
        int mask = (1 << bitDepth) - 1, pos = 0;
        foreach (var pass in Adam7.For(interlaced))
        {
            int pw = pass.Width(width), ph = pass.Height(height);
            if (pw == 0 || ph == 0) continue; // an empty pass has no rows, not even filter bytes
            int rowBytes = (int)(((long)pw * bitDepth + 7) / 8);
            var prior = new byte[rowBytes];
            for (int y = 0; y < ph; y++)
            {
                if (raw.Length - pos < rowBytes + 1)
                    throw PngChunks.Corrupt(name, "the image data ends early (truncated or damaged file)");
                var row = raw.AsSpan(pos + 1, rowBytes);
                if (!PngFilters.Unfilter(raw[pos], row, prior, 1))
                    throw PngChunks.Corrupt(name, $"unknown filter type {raw[pos]} (damaged image data)");
                long target = (long)(pass.Y0 + y * pass.DY) * width + pass.X0;
                for (int x = 0; x < pw; x++)
                {
                    int bit = x * bitDepth;
                    indices[target + (long)x * pass.DX] = (byte)((row[bit >> 3] >> (8 - bitDepth - (bit & 7))) & mask);
                }
                row.CopyTo(prior);
                pos += rowBytes + 1;
            }
        }
        return indices;
    }
}
