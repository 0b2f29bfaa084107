namespace Hybrid.Vision.Backbones.Onnx;

/// <summary>Protocol-buffer wire types (the low three bits of a field's tag).</summary>
public enum WireType { Varint = 0, Fixed64 = 1, LengthDelimited = 2, StartGroup = 3, EndGroup = 4, Fixed32 = 5 }

/// <summary>
/// A reader of the protocol-buffer wire format over one message's bytes: tags (field number
/// and wire type), varints, fixed 32/64-bit values and length-delimited payloads (strings,
/// bytes, sub-messages, packed repeated fields). No schema and no generated code: the caller
/// knows the field numbers. Every read is bounds-checked; truncated or corrupt input is an
/// <see cref="InvalidDataException"/> naming <see cref="Source"/> and the byte offset.
/// </summary>
public struct ProtobufReader
{
    private readonly ReadOnlyMemory<byte> data;
    private readonly long baseOffset;
    private int position;

    /// <param name="data">The message's bytes.</param>
    /// <param name="source">Named in errors (the file, and which message).</param>
    /// <param name="baseOffset">Offset of <paramref name="data"/> in the file, for error messages.</param>
    public ProtobufReader(ReadOnlyMemory<byte> data, string source, long baseOffset = 0)
    {
        this.data = data;
        Source = source;
        this.baseOffset = baseOffset;
        position = 0;
    }

    public string Source { get; }

    /// <summary>Whether every byte has been read.</summary>
    public readonly bool AtEnd => position >= data.Length;

    /// <summary>Offset of the next byte in the whole file.</summary>
    public readonly long FileOffset => baseOffset + position;

    private readonly InvalidDataException Corrupt(string what) =>
        new($"{Source}: corrupt or truncated protobuf data at byte {baseOffset + position}: {what}");

    /// <summary>Reads a field tag: its number (>= 1) and wire type.</summary>
    public (int Field, WireType Wire) ReadTag()
    {
        var tag = ReadVarint();
        var field = tag >> 3;
        var wire = (int)(tag & 7);
        if (field == 0 || field > int.MaxValue) throw Corrupt($"field number {field} in tag {tag}");
        if (wire is 6 or 7) throw Corrupt($"unknown wire type {wire} for field {field}");
        return ((int)field, (WireType)wire);
    }

    /// <summary>A base-128 varint of at most 10 bytes.</summary>
    public ulong ReadVarint()
    {
        var span = data.Span;
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (position >= span.Length) throw Corrupt("the data ends inside a varint");
            var b = span[position++];
            if (shift == 63 && b > 1) throw Corrupt("varint longer than 64 bits");
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw Corrupt("varint longer than 10 bytes");
    }

    /// <summary>A varint read as a two's-complement int64 (protobuf's int64 / int32 / enum).</summary>
    public long ReadInt64() => unchecked((long)ReadVarint());

    public uint ReadFixed32()
    {
        var s = Take(4, "fixed32");
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(s.Span);
    }

    public ulong ReadFixed64()
    {
        var s = Take(8, "fixed64");
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(s.Span);
    }

    public float ReadFloat() => BitConverter.UInt32BitsToSingle(ReadFixed32());

    /// <summary>The payload of a length-delimited field.</summary>
    public ReadOnlyMemory<byte> ReadBytes()
    {
        var length = ReadVarint();
        if (length > (ulong)(data.Length - position))
            throw Corrupt($"a length-delimited field of {length} bytes runs past the end of its message ({data.Length - position} bytes left)");
        return Take((int)length, "bytes");
    }

    public string ReadString() => System.Text.Encoding.UTF8.GetString(ReadBytes().Span);

    /// <summary>A reader over a length-delimited sub-message.</summary>
    public ProtobufReader ReadMessage(string what)
    {
        var bytes = ReadBytes();
        return new ProtobufReader(bytes, $"{Source} > {what}", FileOffset - bytes.Length);
    }

    /// <summary>Skips the value of a field of wire type <paramref name="wire"/>.</summary>
    public void Skip(WireType wire)
    {
        switch (wire)
        {
            case WireType.Varint: ReadVarint(); break;
            case WireType.Fixed64: Take(8, "fixed64"); break;
            case WireType.Fixed32: Take(4, "fixed32"); break;
            case WireType.LengthDelimited: ReadBytes(); break;
            default: throw Corrupt($"groups (wire type {(int)wire}) are not supported");
        }
    }

    /// <summary>Appends a repeated int64 field's values: one varint, or a packed run of them.</summary>
    public void ReadRepeatedInt64(WireType wire, List<long> into)
    {
        if (wire == WireType.Varint) { into.Add(ReadInt64()); return; }
        if (wire != WireType.LengthDelimited) throw Corrupt($"an int64 field with wire type {wire}");
        var packed = ReadMessage("packed int64");
        while (!packed.AtEnd) into.Add(packed.ReadInt64());
    }

    /// <summary>Appends a repeated float field's values: one fixed32, or a packed run of them.</summary>
    public void ReadRepeatedFloat(WireType wire, List<float> into)
    {
        if (wire == WireType.Fixed32) { into.Add(ReadFloat()); return; }
        if (wire != WireType.LengthDelimited) throw Corrupt($"a float field with wire type {wire}");
        var bytes = ReadBytes();
        if (bytes.Length % 4 != 0) throw Corrupt($"packed floats of {bytes.Length} bytes (not a multiple of 4)");
        AppendFloats(bytes.Span, into);
    }

    /// <summary>Little-endian float32 values of a byte run (ONNX raw_data, packed float_data).</summary>
    public static void AppendFloats(ReadOnlySpan<byte> bytes, List<float> into)
    {
        if (BitConverter.IsLittleEndian)
        {
            into.AddRange(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes[..(bytes.Length / 4 * 4)]));
            return;
        }
        for (var i = 0; i + 4 <= bytes.Length; i += 4)
            into.Add(System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i, 4)));
    }

    /// <summary>Throws unless the field has the wire type its schema gives it.</summary>
    public readonly void Expect(int field, WireType wire, WireType expected, string message)
    {
        if (wire != expected) throw Corrupt($"{message} field {field} has wire type {wire}, expected {expected}");
    }

    private ReadOnlyMemory<byte> Take(int n, string what)
    {
        if (n > data.Length - position) throw Corrupt($"the data ends inside a {what} ({n} bytes wanted, {data.Length - position} left)");
        var s = data.Slice(position, n);
        position += n;
        return s;
    }
}
