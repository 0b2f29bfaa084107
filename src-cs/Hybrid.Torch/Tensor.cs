using System.Runtime.InteropServices;

namespace Hybrid.Torch;

/// <summary>
/// A libtorch tensor. Dispose it (or open a <see cref="DisposeScope"/>) to free its native
/// memory promptly; the finalizer is only a safety net. Method names follow PyTorch.
/// </summary>
public partial class Tensor : IDisposable
{
    private readonly TensorHandle h;

    internal Tensor(IntPtr raw)
    {
        h = new TensorHandle(raw);
        DisposeScope.Current?.Register(this);
    }

    /// <summary>Wraps a native result, raising libtorch's error when the call failed.</summary>
    internal static Tensor Wrap(IntPtr raw, string op) =>
        raw == IntPtr.Zero ? throw TorchException.FromNative(op) : new Tensor(raw);

    internal static void Check(int status, string op)
    {
        if (status < 0) throw TorchException.FromNative(op);
    }

    internal static long Check(long status, string op) =>
        status < 0 ? throw TorchException.FromNative(op) : status;

    /// <summary>The native handle; throws a clear error when the tensor was disposed.</summary>
    internal TensorHandle Handle =>
        h.IsClosed ? throw new ObjectDisposedException(nameof(Tensor), "this tensor was disposed (explicitly or by the end of its DisposeScope) and cannot be used; move it out of the scope with MoveToOuterDisposeScope() if it must live longer") : h;

    internal DisposeScope? OwnerScope { get; set; }

    public bool IsDisposed => h.IsClosed;

    /// <summary>Native tensors alive in this process (for memory tests).</summary>
    public static long LiveCount => TensorHandle.LiveCount;

    public void Dispose()
    {
        h.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Hands ownership to the scope outside the current one (or to none).</summary>
    public Tensor MoveToOuterDisposeScope()
    {
        var outer = OwnerScope?.Outer;
        OwnerScope = null;
        outer?.Register(this);
        return this;
    }

    /// <summary>Removes the tensor from every scope: the caller disposes it.</summary>
    public Tensor DetachFromDisposeScope()
    {
        OwnerScope = null;
        return this;
    }

    // ---- properties ------------------------------------------------------------------------

    public int dim() { var d = Native.hy_dim(Handle); Check(d, "dim"); return d; }
    public int ndim => dim();

    public long[] shape
    {
        get
        {
            var s = new long[dim()];
            Check(Native.hy_shape(Handle, s), "shape");
            return s;
        }
    }

    /// <summary>Size of one dimension (negative counts from the end).</summary>
    public long size(int d)
    {
        var s = shape;
        var i = d < 0 ? d + s.Length : d;
        if (i < 0 || i >= s.Length) throw new ArgumentOutOfRangeException(nameof(d), $"dim {d} out of range for a {s.Length}-d tensor");
        return s[i];
    }

    public long[] stride()
    {
        var s = new long[dim()];
        Check(Native.hy_strides(Handle, s), "stride");
        return s;
    }

    public long numel() => Check(Native.hy_numel(Handle), "numel");

    public ScalarType dtype { get { var d = Native.hy_dtype(Handle); Check(d, "dtype"); return (ScalarType)d; } }

    public Device device
    {
        get
        {
            var t = Native.hy_device_type(Handle); Check(t, "device");
            return new Device((DeviceType)t, Native.hy_device_index(Handle));
        }
    }

    public bool is_contiguous() => Native.hy_is_contiguous(Handle) == 1;

    public override string ToString() =>
        IsDisposed ? "Tensor(disposed)" : $"Tensor(shape=[{string.Join(", ", shape)}], dtype={dtype}, device={device}{(requires_grad ? ", requires_grad" : "")})";

    // ---- data out --------------------------------------------------------------------------

    /// <summary>Copies the elements out (row-major; converted to T's dtype when they differ).</summary>
    public unsafe T[] data<T>() where T : unmanaged
    {
        var want = ScalarTypeExtensions.Of<T>();
        using var src = dtype == want ? null : to(want);
        var t = src ?? this;
        var n = t.numel();
        var arr = new T[n];
        fixed (T* p = arr)
            Check(Native.hy_copy_to_host(t.Handle, (IntPtr)p, n * sizeof(T)), "data");
        return arr;
    }

    /// <summary>Same as <see cref="data{T}"/>.</summary>
    public T[] ToArray<T>() where T : unmanaged => data<T>();

    /// <summary>The value of a one-element tensor.</summary>
    public T item<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(long) || typeof(T) == typeof(int) || typeof(T) == typeof(bool) || typeof(T) == typeof(byte))
        {
            Check(Native.hy_item_long(Handle, out var l), "item");
            return (T)Convert.ChangeType(typeof(T) == typeof(bool) ? l != 0 : l, typeof(T));
        }
        Check(Native.hy_item_double(Handle, out var d), "item");
        return typeof(T) == typeof(double) ? (T)(object)d : typeof(T) == typeof(float) ? (T)(object)(float)d : (T)Convert.ChangeType(d, typeof(T));
    }

    /// <summary>Shorthand for item&lt;double&gt;().</summary>
    public double ToDouble() => item<double>();

    public float ToSingle() => item<float>();

    // ---- autograd ----------------------------------------------------------------------------

    public bool requires_grad
    {
        get => Native.hy_requires_grad(Handle) == 1;
        set => Check(Native.hy_set_requires_grad(Handle, value), "requires_grad");
    }

    /// <summary>In-place requires_grad_ (returns this, as PyTorch).</summary>
    public Tensor requires_grad_(bool value = true) { requires_grad = value; return this; }

    public bool is_leaf => Native.hy_is_leaf(Handle) == 1;

    /// <summary>The accumulated gradient (a new handle each call: dispose it), or null.</summary>
    public Tensor? grad
    {
        get
        {
            Check(Native.hy_grad(Handle, out var g), "grad");
            return g == IntPtr.Zero ? null : new Tensor(g);
        }
        set => Check(Native.hy_set_grad(Handle, value is null ? TensorHandle.Null : value.Handle), "grad");
    }

    public void backward(Tensor? gradient = null, bool retain_graph = false, bool create_graph = false) =>
        Check(Native.hy_backward(Handle, gradient?.Handle ?? TensorHandle.Null, retain_graph, create_graph), "backward");

    public void retain_grad() => Check(Native.hy_retain_grad(Handle), "retain_grad");

    public Tensor detach() => Wrap(Native.hy_detach(Handle), "detach");
    public Tensor clone() => Wrap(Native.hy_clone(Handle), "clone");
    public Tensor contiguous() => Wrap(Native.hy_contiguous(Handle), "contiguous");

    // ---- dtype and device ---------------------------------------------------------------------

    public Tensor to(ScalarType type) => Wrap(Native.hy_to_dtype(Handle, (int)type), "to");
    public Tensor to(Device d) => Wrap(Native.hy_to_device(Handle, (int)d.type, d.index), "to");
    public Tensor to(Device d, ScalarType type) { using var t = to(type); return t.to(d); }
    /// <summary>Same as to(ScalarType); `to` is a keyword in F#.</summary>
    public Tensor to_type(ScalarType type) => to(type);
    /// <summary>Same as to(Device); `to` is a keyword in F#.</summary>
    public Tensor to_device(Device d) => to(d);
    public Tensor cpu() => to(Device.CPU);
    public Tensor cuda(int index = 0) => to(Device.CUDA(index));
    public Tensor @float() => to(ScalarType.Float32);
    public Tensor @double() => to(ScalarType.Float64);
    public Tensor @long() => to(ScalarType.Int64);
    public Tensor @int() => to(ScalarType.Int32);
    public Tensor @bool() => to(ScalarType.Bool);
    public Tensor @byte() => to(ScalarType.UInt8);
    public Tensor half() => to(ScalarType.Float16);
    public Tensor bfloat16() => to(ScalarType.BFloat16);

    internal static IntPtr[] Handles(IReadOnlyList<Tensor> ts)
    {
        var a = new IntPtr[ts.Count];
        for (var i = 0; i < a.Length; i++) a[i] = ts[i].Handle.DangerousGetHandle();
        return a;
    }
}

public partial class Tensor
{
    /// <summary>A new handle to this very tensor (same storage and autograd node): lets a
    /// caller dispose its copy independently.</summary>
    public Tensor alias() => Wrap(Native.hy_alias(Handle), "alias");
}

public partial class Tensor
{
    /// <summary>Replaces this tensor's data in place (keeps object identity for optimizers).</summary>
    public void set_data(Tensor data) => Check(Native.hy_set_data(Handle, data.Handle), "set_data");
}
