using System.Buffers.Binary;
using System.Text;

namespace Hybrid.Data;

/// <summary>One chunk of a PNG file: its type and where its data lies in the file.</summary>
internal readonly record struct PngChunk(string Type, int Offset, int Length);

/// <summary>The PNG container: signature, and chunks of length, type, data and CRC-32.</summary>
internal static class PngChunks
{
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static bool HasSignature(ReadOnlySpan<byte> data) => data.Length >= 8 && data[..8].SequenceEqual(Signature);

    /// <summary>The colour type of the IHDR (0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA), or -1 when there is no IHDR to read.</summary>
    public static int ColourType(ReadOnlySpan<byte> data) =>
        HasSignature(data) && data.Length >= 26 && data.Slice(12, 4).SequenceEqual("IHDR"u8) ? data[25] : -1;

    /// <summary>The chunks after the signature up to and including IEND, each checked against its CRC.</summary>
    public static List<PngChunk> Split(ReadOnlySpan<byte> data, string name)
    {
        var chunks = new List<PngChunk>();
        int pos = Signature.Length;
        while (true)
        {
            if (data.Length - pos < 12)
                throw Corrupt(name, "truncated PNG data (file ends before the IEND chunk)");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data[pos..]);
            var typeBytes = data.Slice(pos + 4, 4);
            foreach (byte b in typeBytes)
                if (!char.IsAsciiLetter((char)b))
                    throw Corrupt(name, $"damaged chunk header at byte {pos}");
            string type = Encoding.ASCII.GetString(typeBytes);
            if (length > int.MaxValue || length > (long)data.Length - pos - 12)
                throw Corrupt(name, $"truncated PNG data (file ends inside the {type} chunk)");
            int n = (int)length;
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(data[(pos + 8 + n)..]);
            if (Crc32.Compute(data.Slice(pos + 4, 4 + n)) != stored)
                throw Corrupt(name, $"the {type} chunk fails its CRC check (damaged data)");
            chunks.Add(new PngChunk(type, pos + 8, n));
            pos += 12 + n;
            if (type == "IEND") return chunks;
        }
    }

    /// <summary>Appends one chunk: length, type, data, CRC-32 of type and data.</summary>
    public static void Write(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        output.Write(word);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Update(Crc32.Compute(typeBytes), data));
        output.Write(word);
    }

    public static InvalidDataException Corrupt(string name, string reason) => ImageDecodeError.Create(name, "corrupt PNG: " + reason);
}
