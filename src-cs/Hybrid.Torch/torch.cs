using System.Runtime.InteropServices;

namespace Hybrid.Torch;

/// <summary>The torch namespace: creation, joins, global state (seed, threads, grad mode).</summary>
public static partial class torch
{
    // ---- creation -----------------------------------------------------------------------------
    private static Tensor Factory(Func<long[], int, int, int, int, bool, IntPtr> f, long[] shape, ScalarType dtype, Device? device, bool requires_grad, string op)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(f(shape, shape.Length, (int)dtype, (int)d.type, d.index, requires_grad), op);
    }

    public static Tensor empty(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requires_grad = false) =>
        Factory(Native.hy_empty, shape, dtype, device, requires_grad, "empty");
    public static Tensor zeros(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requires_grad = false) =>
        Factory(Native.hy_zeros, shape, dtype, device, requires_grad, "zeros");
    public static Tensor ones(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requires_grad = false) =>
        Factory(Native.hy_ones, shape, dtype, device, requires_grad, "ones");
    /// <summary>Uniform [0, 1).</summary>
    public static Tensor rand(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requires_grad = false) =>
        Factory(Native.hy_rand, shape, dtype, device, requires_grad, "rand");
    /// <summary>Standard normal.</summary>
    public static Tensor randn(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requires_grad = false) =>
        Factory(Native.hy_randn, shape, dtype, device, requires_grad, "randn");

    public static Tensor full(long[] shape, double value, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requires_grad = false)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(Native.hy_full(shape, shape.Length, value, (int)dtype, (int)d.type, d.index, requires_grad), "full");
    }

    public static Tensor zeros_like(Tensor t) => zeros(t.shape, t.dtype, t.device);
    public static Tensor ones_like(Tensor t) => ones(t.shape, t.dtype, t.device);
    public static Tensor full_like(Tensor t, double value) => full(t.shape, value, t.dtype, t.device);
    public static Tensor rand_like(Tensor t) => rand(t.shape, t.dtype, t.device);
    public static Tensor randn_like(Tensor t) => randn(t.shape, t.dtype, t.device);

    /// <summary>Integers uniform in [low, high).</summary>
    public static Tensor randint(long low, long high, long[] shape, ScalarType dtype = ScalarType.Int64, Device? device = null)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(Native.hy_randint(low, high, shape, shape.Length, (int)dtype, (int)d.type, d.index), "randint");
    }

    public static Tensor randperm(long n, ScalarType dtype = ScalarType.Int64, Device? device = null)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(Native.hy_randperm(n, (int)dtype, (int)d.type, d.index), "randperm");
    }

    public static Tensor arange(double start, double end, double step = 1, ScalarType dtype = ScalarType.Int64, Device? device = null, bool requires_grad = false)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(Native.hy_arange(start, end, step, (int)dtype, (int)d.type, d.index, requires_grad), "arange");
    }
    public static Tensor arange(long end, ScalarType dtype = ScalarType.Int64, Device? device = null) => arange(0, end, 1, dtype, device);

    public static Tensor linspace(double start, double end, long steps, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requires_grad = false)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(Native.hy_linspace(start, end, steps, (int)dtype, (int)d.type, d.index, requires_grad), "linspace");
    }

    public static Tensor eye(long n, long? m = null, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requires_grad = false)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(Native.hy_eye(n, m ?? n, (int)dtype, (int)d.type, d.index, requires_grad), "eye");
    }

    /// <summary>A tensor holding a copy of `data`, shaped `shape` (1-d when omitted).</summary>
    public static unsafe Tensor tensor<T>(ReadOnlySpan<T> data, long[]? shape = null, Device? device = null, bool requires_grad = false) where T : unmanaged
    {
        var s = shape ?? new long[] { data.Length };
        Tensor t;
        fixed (T* p = data)
            t = Tensor.Wrap(Native.hy_from_data((IntPtr)p, (long)data.Length * sizeof(T), s, s.Length, (int)ScalarTypeExtensions.Of<T>()), "tensor");
        if (device is { type: not DeviceType.CPU } d) { var moved = t.to(d); t.Dispose(); t = moved; }
        if (requires_grad) t.requires_grad = true;
        return t;
    }

    public static Tensor tensor<T>(T[] data, long[]? shape = null, Device? device = null, bool requires_grad = false) where T : unmanaged =>
        tensor<T>(data.AsSpan(), shape, device, requires_grad);

    /// <summary>A 2-d or 3-d managed array as a tensor of the same shape.</summary>
    public static Tensor from_array<T>(Array data) where T : unmanaged
    {
        var shape = Enumerable.Range(0, data.Rank).Select(i => (long)data.GetLength(i)).ToArray();
        var flat = new T[data.Length];
        Buffer.BlockCopy(data, 0, flat, 0, Buffer.ByteLength(data));
        return tensor<T>(flat, shape);
    }

    /// <summary>A 0-d tensor.</summary>
    public static Tensor scalar_tensor(double value, ScalarType dtype = ScalarType.Float32) => full(Array.Empty<long>(), value, dtype);

    // ---- joins and ops that read better as functions -----------------------------------------------
    public static Tensor cat(IReadOnlyList<Tensor> ts, long dim = 0)
    {
        var r = Tensor.Wrap(Native.hy_cat(Tensor.Handles(ts), ts.Count, dim), "cat");
        GC.KeepAlive(ts);
        return r;
    }

    public static Tensor stack(IReadOnlyList<Tensor> ts, long dim = 0)
    {
        var r = Tensor.Wrap(Native.hy_stack(Tensor.Handles(ts), ts.Count, dim), "stack");
        GC.KeepAlive(ts);
        return r;
    }

    public static Tensor einsum(string equation, params Tensor[] operands)
    {
        var r = Tensor.Wrap(Native.hy_einsum(equation, Tensor.Handles(operands), operands.Length), "einsum");
        GC.KeepAlive(operands);
        return r;
    }

    public static Tensor where(Tensor condition, Tensor x, Tensor y) => Tensor.Wrap(Native.hy_where(condition.Handle, x.Handle, y.Handle), "where");
    public static Tensor where(Tensor condition, Tensor x, double y) => Tensor.Wrap(Native.hy_where_scalar(condition.Handle, x.Handle, y), "where");
    public static Tensor matmul(Tensor a, Tensor b) => a.matmul(b);
    public static Tensor bmm(Tensor a, Tensor b) => a.bmm(b);
    public static Tensor maximum(Tensor a, Tensor b) => a.maximum(b);
    public static Tensor minimum(Tensor a, Tensor b) => a.minimum(b);
    public static Tensor exp(Tensor a) => a.exp();
    public static Tensor log(Tensor a) => a.log();
    public static Tensor sqrt(Tensor a) => a.sqrt();
    public static Tensor abs(Tensor a) => a.abs();
    public static Tensor sigmoid(Tensor a) => a.sigmoid();
    public static Tensor tanh(Tensor a) => a.tanh();
    public static Tensor relu(Tensor a) => a.relu();
    public static Tensor softmax(Tensor a, long dim) => a.softmax(dim);
    public static Tensor log_softmax(Tensor a, long dim) => a.log_softmax(dim);
    public static Tensor clamp(Tensor a, double? min = null, double? max = null) => a.clamp(min, max);
    public static Tensor pow(Tensor a, double p) => a.pow(p);
    public static Tensor cdist(Tensor a, Tensor b, double p = 2) => Tensor.Wrap(Native.hy_cdist(a.Handle, b.Handle, p), "cdist");
    public static bool allclose(Tensor a, Tensor b, double rtol = 1e-5, double atol = 1e-8) => a.allclose(b, rtol, atol);

    // ---- global state -------------------------------------------------------------------------------
    /// <summary>Seeds libtorch's default CPU generator (and CUDA's when present).</summary>
    public static void manual_seed(long seed)
    {
        Tensor.Check(Native.hy_manual_seed((ulong)seed), "manual_seed");
        if (cuda.is_available()) Tensor.Check(Native.hy_cuda_manual_seed_all((ulong)seed), "manual_seed");
    }

    /// <summary>The default CPU generator's state (a uint8 tensor), for checkpoints.</summary>
    public static Tensor get_rng_state() => Tensor.Wrap(Native.hy_rng_get_state(), "get_rng_state");
    public static void set_rng_state(Tensor state) => Tensor.Check(Native.hy_rng_set_state(state.Handle), "set_rng_state");

    /// <summary>libtorch's intra-op threads (it defaults to 1 on small machines: set it to the cores).</summary>
    public static void set_num_threads(int n)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), "threads must be >= 1");
        Native.hy_set_num_threads(n);
    }
    public static int get_num_threads() => Native.hy_get_num_threads();

    /// <summary>libtorch's version, e.g. "1.13.0".</summary>
    public static string version => Marshal.PtrToStringUTF8(Native.hy_version()) ?? "?";

    /// <summary>libtorch's build configuration (BLAS, OpenMP, CPU capability ...).</summary>
    public static string config => Marshal.PtrToStringUTF8(Native.hy_config()) ?? "";

    public static string parallel_info => Marshal.PtrToStringUTF8(Native.hy_parallel_info()) ?? "";

    /// <summary>The BLAS shared library actually mapped into this process (e.g. OpenBLAS via the
    /// system's alternatives), or "unknown".</summary>
    public static string blas_in_use()
    {
        try
        {
            var libs = File.ReadLines("/proc/self/maps")
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "")
                .Where(p => p.Contains("blas", StringComparison.OrdinalIgnoreCase) || p.Contains("mkl", StringComparison.OrdinalIgnoreCase))
                .Select(p => Path.GetFileName(p)).Distinct().ToList();
            return libs.Count == 0 ? "unknown" : string.Join(", ", libs);
        }
        catch (IOException) { return "unknown"; }
    }

    public static class cuda
    {
        public static bool is_available() => Native.hy_cuda_is_available() == 1;
        public static int device_count() => Math.Max(0, Native.hy_cuda_device_count());
    }

    // ---- grad mode and dispose scopes ---------------------------------------------------------------
    public static bool is_grad_enabled() => Native.hy_grad_enabled() == 1;

    /// <summary>`using (torch.no_grad()) { ... }`: no autograd graph inside (per thread).</summary>
    public static IDisposable no_grad() => new GradMode(false);
    public static IDisposable enable_grad() => new GradMode(true);

    private sealed class GradMode : IDisposable
    {
        private readonly bool previous;
        private bool done;
        public GradMode(bool enabled) { previous = is_grad_enabled(); Native.hy_set_grad_enabled(enabled); }
        public void Dispose() { if (done) return; done = true; Native.hy_set_grad_enabled(previous); }
    }

    /// <summary>Opens a scope that frees the tensors created inside it (see <see cref="DisposeScope"/>).</summary>
    public static DisposeScope NewDisposeScope() => new();
}
