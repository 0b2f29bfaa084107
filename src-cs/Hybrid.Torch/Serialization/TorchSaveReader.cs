using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;
using System.Text;

namespace Hybrid.Torch.Serialization;

/// <summary>
/// Reads files written by Python's torch.save, in managed code: the zip format (PyTorch >= 1.6:
/// "&lt;root&gt;/data.pkl" + one entry per storage) and the legacy format (a sequence of pickles
/// followed by raw storages, as torchvision's original ResNet files are). Only the parts of
/// Python's pickle protocol (0-5) that torch.save emits are interpreted: containers, strings,
/// numbers, globals, REDUCE / NEWOBJ / BUILD and persistent storage ids. Tensors are rebuilt
/// from (storage, offset, size, stride); objects it does not know (argparse.Namespace, numpy
/// scalars, ...) are kept opaque and contribute no tensors. Nothing is executed.
/// <para>libtorch's own unpickler (<see cref="PyTorchFile.Load"/>) rejects common torch.save
/// output (a one-entry dict's SETITEM opcode, OrderedDict state dicts with their _metadata).</para>
/// </summary>
public static class TorchSaveReader
{
    /// <summary>Every tensor in the file by dotted path ({"model": {"w": t}} -> "model.w"; list
    /// items by index). The caller owns (disposes) the tensors.</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"PyTorch file not found: {path}", path);
        var bytes = File.ReadAllBytes(path);
        string Bad(string why) => $"{path} is not a readable torch.save file: {why}";
        if (bytes.Length < 4) throw new InvalidDataException(Bad($"only {bytes.Length} bytes"));
        try
        {
            object? root;
            Func<string, byte[]> storageBytes;
            if (bytes[0] == (byte)'P' && bytes[1] == (byte)'K')
            {
                var zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read);
                var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
                          ?? throw new InvalidDataException(Bad("zip archive without <root>/data.pkl"));
                var prefix = pkl.FullName[..^"data.pkl".Length];
                var byteorder = zip.GetEntry(prefix + "byteorder");
                if (byteorder is not null && ReadEntry(byteorder) is var bo && Encoding.ASCII.GetString(bo).Trim() is var order && order != "little")
                    throw new InvalidDataException(Bad($"byte order '{order}' is not supported"));
                root = new Unpickler(ReadEntry(pkl)).Load();
                storageBytes = key => ReadEntry(zip.GetEntry($"{prefix}data/{key}") ?? throw new InvalidDataException(Bad($"storage '{key}' is missing from the archive")));
            }
            else if (bytes[0] == 0x80)
            {
                (root, storageBytes) = LoadLegacy(bytes, Bad);
            }
            else throw new InvalidDataException(Bad("neither a zip archive nor a pickle (tar-era files of PyTorch < 0.4 are not supported)"));

            var result = new Dictionary<string, Tensor>();
            var cache = new Dictionary<string, byte[]>();
            try
            {
                Walk(root, "", result, key => cache.TryGetValue(key, out var b) ? b : cache[key] = storageBytes(key));
            }
            catch
            {
                foreach (var t in result.Values) t.Dispose();
                throw;
            }
            return result;
        }
        catch (Exception e) when (e is not FileNotFoundException && !(e is InvalidDataException && e.Message.StartsWith(path, StringComparison.Ordinal)))
        {
            throw new InvalidDataException(Bad($"{e.GetType().Name}: {e.Message} (truncated or corrupt?)"), e);
        }
    }

    private static byte[] ReadEntry(ZipArchiveEntry e)
    {
        using var s = e.Open();
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    /// <summary>Legacy format: magic number, protocol version, system info, the object, the list
    /// of storage keys, then each storage as an int64 element count followed by its bytes.</summary>
    private static (object? Root, Func<string, byte[]>) LoadLegacy(byte[] bytes, Func<string, string> bad)
    {
        var u = new Unpickler(bytes);
        var magic = u.Load();
        if (magic is not BigInteger m || m != BigInteger.Parse("119547037146038801333356"))
            throw new InvalidDataException(bad("pickle without torch.save's magic number"));
        _ = u.Load(); // protocol version (1001)
        _ = u.Load(); // sys info
        var root = u.Load();
        if (u.Load() is not List<object?> keys) throw new InvalidDataException(bad("legacy file without its storage key list"));
        var pos = u.Position;
        var data = new Dictionary<string, byte[]>();
        foreach (var k in keys)
        {
            var key = k as string ?? throw new InvalidDataException(bad("non-string storage key"));
            var storage = u.Storages.TryGetValue(key, out var s) ? s : throw new InvalidDataException(bad($"storage '{key}' was never referenced"));
            var n = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(pos, 8));
            pos += 8;
            var len = checked((int)(n * storage.Dtype.ElementSize()));
            if (pos + len > bytes.Length) throw new InvalidDataException(bad($"storage '{key}' runs past the end of the file (truncated?)"));
            data[key] = bytes.AsSpan(pos, len).ToArray();
            pos += len;
        }
        return (root, key => data.TryGetValue(key, out var b) ? b : throw new InvalidDataException(bad($"storage '{key}' has no data")));
    }

    private static void Walk(object? v, string prefix, Dictionary<string, Tensor> result, Func<string, byte[]> storage)
    {
        string Join(string k) => prefix.Length == 0 ? k : prefix + "." + k;
        switch (v)
        {
            case TensorRef t:
                result[prefix] = t.Materialize(storage);
                break;
            case PickleDict d:
                foreach (var (k, x) in d.Items) Walk(x, Join(k switch { string s => s, long l => l.ToString(System.Globalization.CultureInfo.InvariantCulture), _ => "?" }), result, storage);
                break;
            case List<object?> list:
                for (var i = 0; i < list.Count; i++) Walk(list[i], Join(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), result, storage);
                break;
            case object?[] tuple:
                for (var i = 0; i < tuple.Length; i++) Walk(tuple[i], Join(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), result, storage);
                break;
            // Opaque objects, strings, numbers: no tensors.
        }
    }

    // ---- the pickle machine ---------------------------------------------------------------------

    internal sealed record Global(string Module, string Name);

    internal sealed class PickleDict
    {
        public List<(object? Key, object? Value)> Items { get; } = new();
        public void Set(object? k, object? v)
        {
            var i = Items.FindIndex(x => Equals(x.Key, k));
            if (i >= 0) Items[i] = (k, v); else Items.Add((k, v));
        }
    }

    /// <summary>An object the reader does not interpret (kept so BUILD has a target).</summary>
    internal sealed record Opaque(Global Type, object?[] Args);

    internal sealed record StorageRef(string Key, ScalarType Dtype, long Numel, long ViewOffset = 0);

    internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Size, long[] Stride)
    {
        public Tensor Materialize(Func<string, byte[]> storageBytes)
        {
            var bytes = storageBytes(Storage.Key);
            var es = Storage.Dtype.ElementSize();
            var elements = bytes.Length / es;
            var offset = Storage.ViewOffset + Offset;
            long numel = Size.Aggregate(1L, (a, b) => a * b);
            if (numel == 0) return torch.empty(Size, Storage.Dtype);
            long last = offset;
            for (var i = 0; i < Size.Length; i++) last += (Size[i] - 1) * Stride[i];
            if (offset < 0 || last >= elements)
                throw new InvalidDataException($"tensor of size [{string.Join(",", Size)}] stride [{string.Join(",", Stride)}] offset {offset} reads past its storage '{Storage.Key}' of {elements} elements");
            if (IsContiguous())
                return FromBytes(bytes.AsSpan((int)(offset * es), (int)(numel * es)), Size, Storage.Dtype);
            if (Stride.Contains(0) && ZeroStrideFree() is { } compact)
            {
                // An expanded tensor: read the non-broadcast dims, then broadcast (and copy) them.
                using var small = compact.Materialize(storageBytes);
                var viewShape = Size.Select((s, i) => Stride[i] == 0 ? 1L : s).ToArray();
                using var v = small.reshape(viewShape);
                using var e = v.expand(Size);
                return e.contiguous();
            }
            // Strided (a saved view such as a transpose): gather its elements.
            var first = offset;
            var count = last - offset + 1;
            using var flat = FromBytes(bytes.AsSpan((int)(first * es), (int)(count * es)), new[] { count }, Storage.Dtype); // (count)
            var index = new long[numel];                                               // row-major positions into flat
            var counter = new long[Size.Length];
            for (long n = 0, at = 0; n < numel; n++)
            {
                index[n] = at;
                for (var d = Size.Length - 1; d >= 0; d--)
                {
                    if (++counter[d] < Size[d]) { at += Stride[d]; break; }
                    at -= (Size[d] - 1) * Stride[d];
                    counter[d] = 0;
                }
            }
            using var idx = torch.tensor(index);                                       // (numel)
            using var gathered = flat.index_select(0, idx);                            // (numel)
            return gathered.reshape(Size);
        }

        /// <summary>The same tensor without its zero-stride dims, when that one is contiguous.</summary>
        private TensorRef? ZeroStrideFree()
        {
            var keep = Enumerable.Range(0, Size.Length).Where(i => Stride[i] != 0).ToArray();
            var r = this with { Size = keep.Select(i => Size[i]).ToArray(), Stride = keep.Select(i => Stride[i]).ToArray() };
            return r.IsContiguous() ? r : null;
        }

        private bool IsContiguous()
        {
            long expected = 1;
            for (var i = Size.Length - 1; i >= 0; i--)
            {
                if (Size[i] != 1 && Stride[i] != expected) return false;
                expected *= Size[i];
            }
            return true;
        }

        private static unsafe Tensor FromBytes(ReadOnlySpan<byte> b, long[] shape, ScalarType t)
        {
            fixed (byte* p = b)
                return Tensor.Wrap(Native.hy_from_data((IntPtr)p, b.Length, shape, shape.Length, (int)t), "torch.load");
        }
    }

    private static ScalarType StorageDtype(Global g) => g.Name switch
    {
        "FloatStorage" => ScalarType.Float32,
        "DoubleStorage" => ScalarType.Float64,
        "HalfStorage" => ScalarType.Float16,
        "BFloat16Storage" => ScalarType.BFloat16,
        "LongStorage" => ScalarType.Int64,
        "IntStorage" => ScalarType.Int32,
        "ShortStorage" => ScalarType.Int16,
        "CharStorage" => ScalarType.Int8,
        "ByteStorage" => ScalarType.UInt8,
        "BoolStorage" => ScalarType.Bool,
        _ => throw new InvalidDataException($"unsupported storage type {g.Module}.{g.Name}"),
    };

    internal sealed class Unpickler
    {
        private readonly byte[] data;
        private int pos;
        private readonly List<object?> stack = new();
        private readonly Stack<int> marks = new();
        private readonly Dictionary<long, object?> memo = new();

        public Unpickler(byte[] data) { this.data = data; }

        public int Position => pos;

        /// <summary>Storages met through persistent ids, by key.</summary>
        public Dictionary<string, StorageRef> Storages { get; } = new();

        private byte U8() => pos < data.Length ? data[pos++] : throw new EndOfStreamException("pickle ends early");
        private ReadOnlySpan<byte> Take(long n)
        {
            if (n < 0 || pos + n > data.Length) throw new EndOfStreamException("pickle ends early");
            var s = data.AsSpan(pos, (int)n);
            pos += (int)n;
            return s;
        }
        private string Line()
        {
            var start = pos;
            while (pos < data.Length && data[pos] != (byte)'\n') pos++;
            var s = Encoding.Latin1.GetString(data, start, pos - start);
            pos++;
            return s;
        }

        private object? Pop() { var v = stack[^1]; stack.RemoveAt(stack.Count - 1); return v; }
        private object? Top => stack[^1];
        private List<object?> PopMark()
        {
            var m = marks.Pop();
            var items = stack.GetRange(m, stack.Count - m);
            stack.RemoveRange(m, stack.Count - m);
            return items;
        }

        private static object Int(BigInteger b) => b >= long.MinValue && b <= long.MaxValue ? (long)b : b;

        /// <summary>Runs one pickle up to its STOP and returns its object.</summary>
        public object? Load()
        {
            stack.Clear();
            marks.Clear();
            memo.Clear();
            while (true)
            {
                var op = U8();
                switch (op)
                {
                    case 0x80: U8(); break;                                             // PROTO
                    case 0x95: Take(8); break;                                          // FRAME
                    case (byte)'.': return Pop();                                       // STOP
                    case (byte)'(': marks.Push(stack.Count); break;                     // MARK
                    case (byte)'}': stack.Add(new PickleDict()); break;                 // EMPTY_DICT
                    case (byte)']': stack.Add(new List<object?>()); break;              // EMPTY_LIST
                    case (byte)')': stack.Add(Array.Empty<object?>()); break;          // EMPTY_TUPLE
                    case 0x8f: stack.Add(new List<object?>()); break;                   // EMPTY_SET
                    case (byte)'d':                                                     // DICT
                    {
                        var items = PopMark();
                        var d = new PickleDict();
                        for (var i = 0; i + 1 < items.Count; i += 2) d.Set(items[i], items[i + 1]);
                        stack.Add(d);
                        break;
                    }
                    case (byte)'l': stack.Add(PopMark()); break;                        // LIST
                    case (byte)'t': stack.Add(PopMark().ToArray()); break;              // TUPLE
                    case 0x91: stack.Add(PopMark()); break;                             // FROZENSET
                    case 0x85: stack.Add(new[] { Pop() }); break;                       // TUPLE1
                    case 0x86: { var b = Pop(); var a = Pop(); stack.Add(new[] { a, b }); break; }       // TUPLE2
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); stack.Add(new[] { a, b, c }); break; } // TUPLE3
                    case (byte)'q': memo[U8()] = Top; break;                            // BINPUT
                    case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Top; break; // LONG_BINPUT
                    case 0x94: memo[memo.Count] = Top; break;                           // MEMOIZE
                    case (byte)'p': memo[long.Parse(Line(), System.Globalization.CultureInfo.InvariantCulture)] = Top; break; // PUT
                    case (byte)'h': stack.Add(memo[U8()]); break;                       // BINGET
                    case (byte)'j': stack.Add(memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))]); break; // LONG_BINGET
                    case (byte)'g': stack.Add(memo[long.Parse(Line(), System.Globalization.CultureInfo.InvariantCulture)]); break; // GET
                    case (byte)'X': stack.Add(Encoding.UTF8.GetString(Take(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))))); break; // BINUNICODE
                    case 0x8c: stack.Add(Encoding.UTF8.GetString(Take(U8()))); break;  // SHORT_BINUNICODE
                    case 0x8d: stack.Add(Encoding.UTF8.GetString(Take(checked((long)BinaryPrimitives.ReadUInt64LittleEndian(Take(8)))))); break; // BINUNICODE8
                    case (byte)'V': stack.Add(Line()); break;                           // UNICODE (raw-unicode-escaped; ASCII in practice)
                    case (byte)'T': stack.Add(Encoding.Latin1.GetString(Take(BinaryPrimitives.ReadInt32LittleEndian(Take(4))))); break; // BINSTRING
                    case (byte)'U': stack.Add(Encoding.Latin1.GetString(Take(U8()))); break; // SHORT_BINSTRING
                    case (byte)'B': stack.Add(Take(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))).ToArray()); break; // BINBYTES
                    case (byte)'C': stack.Add(Take(U8()).ToArray()); break;             // SHORT_BINBYTES
                    case 0x8e: stack.Add(Take(checked((long)BinaryPrimitives.ReadUInt64LittleEndian(Take(8)))).ToArray()); break; // BINBYTES8
                    case (byte)'N': stack.Add(null); break;                             // NONE
                    case 0x88: stack.Add(true); break;                                  // NEWTRUE
                    case 0x89: stack.Add(false); break;                                 // NEWFALSE
                    case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
                    case (byte)'K': stack.Add((long)U8()); break;                       // BININT1
                    case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
                    case 0x8a: stack.Add(Int(new BigInteger(Take(U8()), isUnsigned: false, isBigEndian: false))); break; // LONG1
                    case 0x8b: stack.Add(Int(new BigInteger(Take(BinaryPrimitives.ReadInt32LittleEndian(Take(4))), isUnsigned: false, isBigEndian: false))); break; // LONG4
                    case (byte)'I':                                                     // INT (text; "00"/"01" are bools)
                    {
                        var s = Line();
                        stack.Add(s == "00" ? false : s == "01" ? true : long.Parse(s, System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    }
                    case (byte)'L': stack.Add(Int(BigInteger.Parse(Line().TrimEnd('L'), System.Globalization.CultureInfo.InvariantCulture))); break; // LONG (text)
                    case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
                    case (byte)'F': stack.Add(double.Parse(Line(), System.Globalization.CultureInfo.InvariantCulture)); break; // FLOAT
                    case (byte)'c': { var module = Line(); var name = Line(); stack.Add(new Global(module, name)); break; } // GLOBAL
                    case 0x93: { var name = (string)Pop()!; var module = (string)Pop()!; stack.Add(new Global(module, name)); break; } // STACK_GLOBAL
                    case (byte)'R': { var args = AsArgs(Pop()); var f = Pop(); stack.Add(Call(f, args)); break; } // REDUCE
                    case 0x81: { var args = AsArgs(Pop()); var cls = Pop(); stack.Add(Call(cls, args)); break; } // NEWOBJ
                    case 0x92: { Pop(); var args = AsArgs(Pop()); var cls = Pop(); stack.Add(Call(cls, args)); break; } // NEWOBJ_EX
                    case (byte)'b': Pop(); break;                                       // BUILD: object state (OrderedDict _metadata, Namespace fields) is not needed
                    case (byte)'Q': stack.Add(Persistent(Pop())); break;                // BINPERSID
                    case (byte)'s': { var v = Pop(); var k = Pop(); SetItem(Top, k, v); break; } // SETITEM
                    case (byte)'u':                                                     // SETITEMS
                    {
                        var items = PopMark();
                        for (var i = 0; i + 1 < items.Count; i += 2) SetItem(Top, items[i], items[i + 1]);
                        break;
                    }
                    case (byte)'a': { var v = Pop(); (Top as List<object?>)?.Add(v); break; } // APPEND
                    case (byte)'e': case 0x90: { var items = PopMark(); (Top as List<object?>)?.AddRange(items); break; } // APPENDS, ADDITEMS
                    case (byte)'0': Pop(); break;                                       // POP
                    case (byte)'1': PopMark(); break;                                   // POP_MARK
                    case (byte)'2': stack.Add(Top); break;                              // DUP
                    default:
                        throw new InvalidDataException($"unsupported pickle opcode 0x{op:x2} at byte {pos - 1}");
                }
            }
        }

        private static object?[] AsArgs(object? a) => a as object?[] ?? (a is List<object?> l ? l.ToArray() : new[] { a });

        private static void SetItem(object? target, object? k, object? v)
        {
            if (target is PickleDict d) d.Set(k, v);
            // Items set on opaque objects (dict subclasses we do not know) are dropped.
        }

        private static object? Call(object? f, object?[] args)
        {
            if (f is not Global g) return new Opaque(new Global("?", "?"), args);
            switch ($"{g.Module}.{g.Name}")
            {
                case "collections.OrderedDict":
                case "builtins.dict":
                case "__builtin__.dict":
                {
                    var d = new PickleDict();
                    if (args.Length > 0 && args[0] is List<object?> pairs)
                        foreach (var p in pairs)
                            if (p is object?[] { Length: 2 } kv) d.Set(kv[0], kv[1]);
                            else if (p is List<object?> { Count: 2 } kl) d.Set(kl[0], kl[1]);
                    return d;
                }
                case "torch._utils._rebuild_tensor":
                case "torch._utils._rebuild_tensor_v2":
                {
                    var storage = args[0] as StorageRef ?? throw new InvalidDataException("tensor without a storage");
                    return new TensorRef(storage, Convert.ToInt64(args[1]), Longs(args[2]), Longs(args[3]));
                }
                case "torch._utils._rebuild_parameter":
                case "torch._utils._rebuild_parameter_with_state":
                case "torch.jit._pickle.restore_type_tag":   // libtorch's pickle_save wraps containers with their TorchScript type
                    return args[0];
                case "torch._tensor._rebuild_from_type_v2":
                case "torch._tensor._rebuild_from_type":
                    return Call(args[0], AsArgs(args[2]));
                default:
                    return new Opaque(g, args);
            }
        }

        private static long[] Longs(object? o) => AsArgs(o).Select(Convert.ToInt64).ToArray();

        /// <summary>torch.save's persistent id: ('storage', type, key, location, numel[, view_metadata]).</summary>
        private object Persistent(object? pid)
        {
            var t = AsArgs(pid);
            if (t.Length < 5 || t[0] as string != "storage" || t[1] is not Global type)
                throw new InvalidDataException("unsupported persistent id (only tensor storages are)");
            var key = t[2] as string ?? Convert.ToString(t[2], System.Globalization.CultureInfo.InvariantCulture)!;
            var root = new StorageRef(key, StorageDtype(type), Convert.ToInt64(t[4]));
            Storages.TryAdd(key, root);
            // Legacy view_metadata (view_key, offset, size): a storage that is a slice of another.
            if (t.Length > 5 && t[5] is object?[] { Length: 3 } view)
                return root with { ViewOffset = Convert.ToInt64(view[1]) };
            return root;
        }
    }
}
