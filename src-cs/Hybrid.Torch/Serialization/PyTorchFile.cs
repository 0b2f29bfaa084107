using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Hybrid.Torch.Serialization;

/// <summary>PyTorch `.pt` / `.pth` files (torch.save of a state dict) through libtorch's own
/// unpickler. Nested dicts flatten to dotted keys ({"model": sd} -> "model.conv1.weight").</summary>
public static class PyTorchFile
{
    public static unsafe Dictionary<string, Tensor> Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"PyTorch file not found: {path}", path);
        var result = new Dictionary<string, Tensor>();
        var gc = GCHandle.Alloc(result);
        try
        {
            var status = Native.hy_pickle_load(path, (IntPtr)(delegate* unmanaged<IntPtr, IntPtr, IntPtr, void>)&OnTensor, GCHandle.ToIntPtr(gc));
            if (status < 0)
            {
                foreach (var t in result.Values) t.Dispose();
                var e = TorchException.FromNative("load");
                throw new InvalidDataException($"{path} could not be read as a PyTorch file (truncated or corrupt?): {e.Message}", e);
            }
        }
        finally { gc.Free(); }
        return result;
    }

    [UnmanagedCallersOnly]
    private static void OnTensor(IntPtr name, IntPtr tensor, IntPtr ctx)
    {
        var d = (Dictionary<string, Tensor>)GCHandle.FromIntPtr(ctx).Target!;
        var t = new Tensor(tensor).DetachFromDisposeScope();
        d[Marshal.PtrToStringUTF8(name) ?? ""] = t;
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
