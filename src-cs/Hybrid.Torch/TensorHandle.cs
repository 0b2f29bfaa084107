using System.Runtime.InteropServices;

namespace Hybrid.Torch;

/// <summary>
/// Owns one native at::Tensor. As a SafeHandle it is kept alive for the duration of every
/// P/Invoke it is passed to, so a temporary in `a.exp().sum()` cannot be finalized mid-call.
/// </summary>
public sealed class TensorHandle : SafeHandle
{
    private static long live;

    /// <summary>Native tensors currently owned by managed handles (for leak tests).</summary>
    public static long LiveCount => Interlocked.Read(ref live);

    /// <summary>The "no tensor" argument for optional parameters (bias = None).</summary>
    internal static readonly TensorHandle Null = new();

    private TensorHandle() : base(IntPtr.Zero, ownsHandle: false) { }

    internal TensorHandle(IntPtr raw) : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(raw);
        Interlocked.Increment(ref live);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        Native.hy_free(handle);
        Interlocked.Decrement(ref live);
        return true;
    }
}
