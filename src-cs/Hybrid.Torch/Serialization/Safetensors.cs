using System.Text;
using System.Text.Json;

namespace Hybrid.Torch.Serialization;

/// <summary>
/// The safetensors format: 8-byte little-endian header length N, an N-byte JSON header
/// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}},
/// then the raw little-endian data. Everything in the header is validated (dtype known, sizes
/// equal to shape x element size, offsets in bounds, contiguous and non-overlapping) before
/// any byte is trusted.
/// </summary>
public static class Safetensors
{
    private const long MaxHeader = 100L << 20;

    private static readonly Dictionary<ScalarType, string> Names = new()
    {
        [ScalarType.Float32] = "F32", [ScalarType.Float64] = "F64", [ScalarType.Float16] = "F16", [ScalarType.BFloat16] = "BF16",
        [ScalarType.Int64] = "I64", [ScalarType.Int32] = "I32", [ScalarType.Int16] = "I16", [ScalarType.Int8] = "I8",
        [ScalarType.Byte] = "U8", [ScalarType.Bool] = "BOOL",
    };

    private static readonly Dictionary<string, ScalarType> Types = Names.ToDictionary(kv => kv.Value, kv => kv.Key);

    /// <summary>Writes tensors (sorted by name) and string metadata atomically (temp + rename).</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        var blobs = new List<byte[]>();
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var n in names)
        {
            var t = tensors[n];
            var dt = t.dtype;
            if (!Names.TryGetValue(dt, out var dn)) throw new NotSupportedException($"safetensors: dtype {dt} of '{n}' is not supported");
            var bytes = Bytes(t);
            blobs.Add(bytes);
            header[n] = new Dictionary<string, object> { ["dtype"] = dn, ["shape"] = t.shape, ["data_offsets"] = new[] { offset, offset + bytes.Length } };
            offset += bytes.Length;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        var pad = (8 - json.Length % 8) % 8;   // align the data section to 8 bytes
        var hdr = new byte[json.Length + pad];
        json.CopyTo(hdr, 0);
        for (var i = json.Length; i < hdr.Length; i++) hdr[i] = (byte)' ';
        AtomicFile.Write(path, s =>
        {
            s.Write(BitConverter.GetBytes((ulong)hdr.Length));
            s.Write(hdr);
            foreach (var b in blobs) s.Write(b);
        });
    }

    private static byte[] Bytes(Tensor t)
    {
        using var c = t.detach().cpu().contiguous();
        return c.bytes.ToArray();
    }

    private static long ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    /// <summary>Reads every tensor and the metadata; errors name the file and what is wrong.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        var all = File.ReadAllBytes(path);
        string Bad(string why) => $"{path} is not a valid safetensors file: {why}";
        if (all.Length < 8) throw new InvalidDataException(Bad($"only {all.Length} bytes, no header"));
        var n = BitConverter.ToUInt64(all, 0);
        if (n > (ulong)MaxHeader || 8 + (long)n > all.Length) throw new InvalidDataException(Bad($"header length {n} exceeds the file ({all.Length} bytes): truncated or corrupt"));
        JsonDocument doc;
        try { doc = JsonDocument.Parse(all.AsMemory(8, (int)n)); }
        catch (JsonException e) { throw new InvalidDataException(Bad($"header is not JSON ({e.Message})")); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException(Bad("header is not a JSON object"));
        var dataStart = 8 + (long)n;
        var dataLen = all.Length - dataStart;
        var meta = new Dictionary<string, string>();
        var entries = new List<(string Name, ScalarType Type, long[] Shape, long Begin, long End)>();
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            // Well-formed JSON of the wrong shape (a string where an array belongs ...) is a data
            // error too: JsonElement's InvalidOperationException/FormatException become one here.
            try
            {
                ReadEntry(prop);
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException)
            {
                throw new InvalidDataException(Bad($"entry '{prop.Name}' is malformed ({ex.Message})"));
            }
        }

        void ReadEntry(JsonProperty prop)
        {
            if (prop.Name == "__metadata__")
            {
                foreach (var m in prop.Value.EnumerateObject()) meta[m.Name] = m.Value.GetString() ?? "";
                return;
            }
            var e = prop.Value;
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("dtype", out var dtEl) || !e.TryGetProperty("shape", out var shEl) || !e.TryGetProperty("data_offsets", out var offEl))
                throw new InvalidDataException(Bad($"entry '{prop.Name}' lacks dtype, shape or data_offsets"));
            if (!Types.TryGetValue(dtEl.GetString() ?? "", out var type)) throw new InvalidDataException(Bad($"entry '{prop.Name}' has unsupported dtype '{dtEl}'"));
            var shape = shEl.EnumerateArray().Select(x => x.GetInt64()).ToArray();
            if (shape.Any(s => s < 0)) throw new InvalidDataException(Bad($"entry '{prop.Name}' has a negative dimension"));
            var off = offEl.EnumerateArray().Select(x => x.GetInt64()).ToArray();
            if (off.Length != 2 || off[0] < 0 || off[1] < off[0] || off[1] > dataLen)
                throw new InvalidDataException(Bad($"entry '{prop.Name}' has offsets [{string.Join(", ", off)}] outside the {dataLen}-byte data section (truncated?)"));
            var expected = shape.Aggregate(1L, (a, b) => a * b) * ElementSize(type);
            if (off[1] - off[0] != expected)
                throw new InvalidDataException(Bad($"entry '{prop.Name}' spans {off[1] - off[0]} bytes but shape [{string.Join(", ", shape)}] of {type} needs {expected}"));
            entries.Add((prop.Name, type, shape, off[0], off[1]));
        }
        var sorted = entries.OrderBy(e => e.Begin).ToList();
        for (var i = 1; i < sorted.Count; i++)
            if (sorted[i].Begin < sorted[i - 1].End) throw new InvalidDataException(Bad($"entries '{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap"));
        var result = new Dictionary<string, Tensor>();
        try
        {
            foreach (var e in entries)
                result[e.Name] = FromBytes(all.AsSpan((int)(dataStart + e.Begin), (int)(e.End - e.Begin)), e.Shape, e.Type);
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return (result, meta);
    }

    private static Tensor FromBytes(Span<byte> bytes, long[] shape, ScalarType type)
    {
        var t = torch.empty(shape, type);
        if (bytes.Length > 0) t.bytes = bytes;
        return t.DetachFromDisposeScope();
    }
}
