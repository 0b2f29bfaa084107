using System.Collections;
using System.IO.Compression;
using TorchSharp.PyBridge;

namespace Hybrid.Torch.Serialization;

/// <summary>PyTorch `.pt` / `.pth` files (torch.save's zip format, PyTorch >= 1.6; a state dict or
/// a training checkpoint) through TorchSharp.PyBridge. Nested dicts flatten to dotted keys
/// ({"model": sd} -> "model.conv1.weight"); entries that are not tensors (epoch counters, ...)
/// are left out. Every failure names the file and what is wrong with it.</summary>
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
        Hashtable table;
        try { table = PyTorchUnpickler.UnpickleStateDict(fs, leaveOpen: true); }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or InvalidOperationException or NotImplementedException
                                  or InvalidCastException or KeyNotFoundException or IOException or ArgumentException or Razorvine.Pickle.PickleException)
        {
            throw new InvalidDataException(Bad($"{e.GetType().Name}: {e.Message} (truncated or corrupt?)"), e);
        }
        var result = new Dictionary<string, Tensor>();
        Flatten(table, "", result);
        foreach (var t in result.Values) t.DetachFromDisposeScope();
        return result;
    }

    private static void Flatten(IDictionary d, string prefix, Dictionary<string, Tensor> into)
    {
        foreach (DictionaryEntry e in d)
        {
            var key = prefix + e.Key;
            switch (e.Value)
            {
                case Tensor t: into[key] = t; break;
                case IDictionary inner: Flatten(inner, key + ".", into); break;
            }
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
