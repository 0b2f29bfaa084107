using System.Collections;
using System.IO.Compression;
using TorchSharp.PyBridge;

namespace Hybrid.Torch.Serialization;

/// <summary>PyTorch `.pt` / `.pth` files (torch.save's zip format, PyTorch >= 1.6; a state dict or
/// a training checkpoint) through TorchSharp.PyBridge. Nested dicts and lists flatten to dotted
/// keys ({"model": sd} -> "model.conv1.weight", a list -> "name.0"); entries that are not tensors
/// (epoch counters, ...) are left out; views (expands, transposes, slices) read as their values.
/// Every failure names the file and what is wrong with it.</summary>
public static class PyTorchFile
{
    /// <summary>Every tensor in the file by dotted key; the caller owns (disposes) them.</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"PyTorch file not found: {path}", path);
        string Bad(string why) => $"{path} is not a readable PyTorch file: {why}";
        using var fs = File.OpenRead(path);
        var sig = new byte[4];
        var got = fs.Read(sig, 0, 4);
        if (got < 4 || sig[0] != 0x50 || sig[1] != 0x4b || sig[2] != 0x03 || sig[3] != 0x04)
            throw new InvalidDataException(Bad(got < 4 ? $"only {fs.Length} bytes" : "not a zip archive (torch.save's format since PyTorch 1.6; re-save older files with a current PyTorch)"));
        fs.Seek(0, SeekOrigin.Begin);
        var result = new Dictionary<string, Tensor>();
        try
        {
            // PyBridge parses the pickle; the tensors are read here from their storages, so that
            // views torch.save keeps as views (transposes, expands, slices) read too.
            var table = PyTorchUnpickler.UnpickleStateDict(fs, leaveOpen: true, skipTensorRead: true);
            using var archive = new ZipArchive(fs, ZipArchiveMode.Read, leaveOpen: true);
            Flatten(table, "", result, archive);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or InvalidOperationException or NotImplementedException
                                  or InvalidCastException or KeyNotFoundException or IOException or ArgumentException or Razorvine.Pickle.PickleException)
        {
            foreach (var t in result.Values) t.Dispose();
            throw new InvalidDataException(Bad($"{e.GetType().Name}: {e.Message} (truncated or corrupt?)"), e);
        }
        foreach (var t in result.Values) t.DetachFromDisposeScope();
        return result;
    }

    /// <summary>Dicts nest as "outer.inner", lists and tuples as "list.0"; values that are
    /// neither tensors nor containers (numbers, strings, an argparse namespace's fields) are left out.</summary>
    private static void Flatten(IDictionary d, string prefix, Dictionary<string, Tensor> into, ZipArchive archive)
    {
        foreach (DictionaryEntry e in d) Add(prefix + e.Key, e.Value, into, archive);
    }

    private static void Add(string key, object? value, Dictionary<string, Tensor> into, ZipArchive archive)
    {
        switch (value)
        {
            case Tensor t: into[key] = t; break;
            case IDictionary inner: Flatten(inner, key + ".", into, archive); break;
            case IList list when value is not byte[]:
                for (var i = 0; i < list.Count; i++) Add($"{key}.{i}", list[i], into, archive);
                break;
            case { } stored when StoredTensor.Describes(stored): into[key] = StoredTensor.Read(stored, archive); break;
        }
    }

    /// <summary>A tensor torch.save stored as (storage, offset, shape, strides), as PyBridge
    /// describes it when it parses without reading tensors. The whole storage is read and the
    /// view taken from it, then copied to a contiguous tensor: PyBridge 1.4.4's own reader refuses
    /// views that are not contiguous (an expand, a transpose).</summary>
    private static class StoredTensor
    {
        private const string TypeName = "TorchSharp.PyBridge.PyTorchUnpickler+TensorConstructorArgs";

        public static bool Describes(object o) => o.GetType().FullName == TypeName;

        public static Tensor Read(object args, ZipArchive archive)
        {
            T Get<T>(string name) => args.GetType().GetProperty(name)?.GetValue(args) is T v
                ? v : throw new InvalidOperationException($"TorchSharp.PyBridge's tensor description has no {name} (another PyBridge version?)");
            Get<Stream>("Data").Dispose();
            var index = Get<int>("ArchiveIndex");
            var dtype = Get<ScalarType>("DType");
            long offset = Get<int>("StorageOffset");
            var shape = Get<long[]>("Shape");
            var stride = Get<long[]>("Stride");
            byte[] bytes;
            using (var entry = archive.Entries[index].Open())
            using (var ms = new MemoryStream())
            {
                entry.CopyTo(ms);
                bytes = ms.ToArray();
            }
            using var scope = torch.NewDisposeScope();
            var size = torch.empty(new long[] { 0 }, dtype).ElementSize;
            if (bytes.Length % size != 0)
                throw new InvalidDataException($"storage {archive.Entries[index].FullName} holds {bytes.Length} bytes, not a whole number of {dtype} elements");
            var n = bytes.Length / size;
            var last = offset + shape.Select((s, i) => s == 0 ? 0 : (s - 1) * stride[i]).Sum();
            if (shape.Length != stride.Length || offset < 0 || stride.Any(s => s < 0) || (shape.All(s => s > 0) && last >= n))
                throw new InvalidDataException($"a tensor [{string.Join(", ", shape)}] with strides [{string.Join(", ", stride)}] at offset {offset} does not fit its {n}-element storage");
            var storage = torch.empty(new long[] { n }, dtype);              // (n)
            if (n > 0) storage.bytes = bytes;
            var view = storage.as_strided(shape, stride, offset);            // the file's shape and strides
            var whole = offset == 0 && view.numel() == n && view.is_contiguous();  // the usual case: no copy
            return (whole ? view : view.contiguous().clone()).MoveToOuterDisposeScope();
        }
    }

    /// <summary>Writes {name: tensor} in torch.save's format (torch.load reads it), atomically.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var table = new Hashtable();
        foreach (var (k, t) in tensors) table[k] = t;
        AtomicFile.Write(path, s => PyTorchPickler.PickleStateDict(s, table, leaveOpen: true));
    }
}
