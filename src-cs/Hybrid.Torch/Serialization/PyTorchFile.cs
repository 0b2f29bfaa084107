using System.Runtime.InteropServices;

namespace Hybrid.Torch.Serialization;

/// <summary>PyTorch `.pt` / `.pth` files: torch.save output (zip or legacy; a state dict or a
/// training checkpoint) read by <see cref="TorchSaveReader"/>, written through libtorch's pickler.
/// Nested dicts flatten to dotted keys ({"model": sd} -> "model.conv1.weight").</summary>
public static class PyTorchFile
{
    /// <summary>Every tensor in the file by dotted key; the caller owns (disposes) them.</summary>
    /// <remarks>Not libtorch's torch::jit::pickle_load: in 1.13 it turns collections.OrderedDict
    /// into None, so it cannot read torch.save(model.state_dict()) ("Expected GenericDict but got None").</remarks>
    public static Dictionary<string, Tensor> Load(string path)
    {
        var result = TorchSaveReader.Load(path);
        foreach (var t in result.Values) t.DetachFromDisposeScope();
        return result;
    }

    /// <summary>Writes {name: tensor} in torch.save's format (torch.load reads it).</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var names = tensors.Keys.ToArray();
        var ts = names.Select(n => tensors[n]).ToArray();
        var utf8 = names.Select(Marshal.StringToCoTaskMemUTF8).ToArray();
        try
        {
            Tensor.Check(Native.hy_pickle_save(path, utf8, Tensor.Handles(ts), names.Length), "save");
        }
        finally
        {
            foreach (var p in utf8) Marshal.FreeCoTaskMem(p);
        }
        GC.KeepAlive(ts);
    }
}
