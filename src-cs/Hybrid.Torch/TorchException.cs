namespace Hybrid.Torch;

/// <summary>An error raised inside libtorch (or the shim), carrying libtorch's message.</summary>
public sealed class TorchException : Exception
{
    public TorchException(string message) : base(message) { }

    /// <summary>Reads and clears this thread's native error slot.</summary>
    internal static TorchException FromNative(string op)
    {
        var p = Native.hy_last_error();
        var msg = p == IntPtr.Zero ? "unknown error (no message from libtorch)" : System.Runtime.InteropServices.Marshal.PtrToStringUTF8(p)!;
        return new TorchException($"{op}: {msg.Trim()}");
    }
}
