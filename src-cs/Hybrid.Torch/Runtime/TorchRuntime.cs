using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Hybrid.Torch;

/// <summary>Process-wide libtorch defaults and a description of the runtime in use.</summary>
public static class TorchRuntime
{
    private static int initialised;

    /// <summary>libtorch's intra-op pool defaults to one thread on small machines (measured on 2
    /// cores, DESIGN.md); use every core unless HYBRID_NUM_THREADS says otherwise. Idempotent;
    /// runs when this assembly loads, and callers that start with TorchSharp alone call it.</summary>
    public static void Init()
    {
        if (Interlocked.Exchange(ref initialised, 1) == 1) return;
        var env = Environment.GetEnvironmentVariable("HYBRID_NUM_THREADS");
        var n = int.TryParse(env, out var k) && k > 0 ? k : Environment.ProcessorCount;
        torch.set_num_threads(n);
    }

#pragma warning disable CA2255 // a library-level default, set once before any tensor op
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void InitOnLoad()
    {
        try { Init(); }
        catch (Exception) { initialised = 0; /* TorchSharp reports why it cannot load at the first tensor op */ }
    }

    /// <summary>
    /// TorchSharp 0.107 turns a .NET number passed as a scalar (`t.add_(1)`, `t * 0.5`, and inside
    /// TorchSharp itself, e.g. BatchNorm's `num_batches_tracked.add_(1)` and the optimizers'
    /// updates) into a Scalar whose native memory only its finalizer frees. Once a wrapper has read
    /// the handle, optimized code no longer keeps the Scalar alive: a garbage collection during the
    /// native call can free it while libtorch reads it. Measured here: 3 million `add_(1)` calls with
    /// another thread allocating gave 206 errors and a count short by 104 (wrong values, silently);
    /// a 3,750-step CAM run died at step ~2,875 ("alpha must not be a floating point number").
    /// The guard is two runtime settings, read when the process starts: no call counting (methods
    /// stay at tier 0, where the JIT keeps every argument alive until the method returns) and no
    /// inlining (so TorchSharp's wrappers are never folded into optimized loops). Loops are still
    /// optimized on the stack (OSR). With it the same 3 million calls gave no error; a training step
    /// runs at the same speed, the managed dense CRF about 1.4x slower.
    /// </summary>
    public static bool ScalarLifetimeGuard =>
        Environment.GetEnvironmentVariable("DOTNET_TC_CallCounting") == "0" && Environment.GetEnvironmentVariable("DOTNET_JitNoInline") == "1";

    /// <summary>How to turn the guard on, for messages.</summary>
    public const string ScalarLifetimeGuardSetting = "DOTNET_TC_CallCounting=0 DOTNET_JitNoInline=1";

    // at::Context's static capability queries, exported by libtorch_cpu (C++ names, no arguments,
    // a one-byte C++ bool back).
    [DllImport("torch_cpu", EntryPoint = "_ZN2at7Context6hasMKLEv")] [return: MarshalAs(UnmanagedType.U1)] private static extern bool HasMkl();
    [DllImport("torch_cpu", EntryPoint = "_ZN2at7Context9hasMKLDNNEv")] [return: MarshalAs(UnmanagedType.U1)] private static extern bool HasMkldnn();
    [DllImport("torch_cpu", EntryPoint = "_ZN2at7Context9hasOpenMPEv")] [return: MarshalAs(UnmanagedType.U1)] private static extern bool HasOpenMp();
    [DllImport("torch_cpu", EntryPoint = "_ZN2at7Context9hasLAPACKEv")] [return: MarshalAs(UnmanagedType.U1)] private static extern bool HasLapack();

    private static string Query(Func<bool> q)
    {
        try { return q() ? "yes" : "no"; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return "unknown"; }
    }

    /// <summary>What `hybrid version` prints: versions, threads, math libraries, CUDA, malloc.</summary>
    public static IReadOnlyList<(string Key, string Value)> Describe()
    {
        Init();
        var ts = typeof(torch).Assembly;
        var tsVersion = ts.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? ts.GetName().Version?.ToString() ?? "?";
        var plus = tsVersion.IndexOf('+');
        if (plus > 0) tsVersion = tsVersion[..plus];
        var cuda = torch.cuda.is_available() ? $"yes, {torch.cuda.device_count()} device(s)" : $"no (CPU build or no GPU; {Devices.CudaPackage} for a GPU)";
        return new List<(string, string)>
        {
            ("TorchSharp", tsVersion),
            ("libtorch", torch.__version__),
            ("threads", $"{torch.get_num_threads()} intra-op of {Environment.ProcessorCount} cores (HYBRID_NUM_THREADS)"),
            ("MKL (BLAS)", Query(HasMkl)),
            ("oneDNN (MKLDNN)", Query(HasMkldnn)),
            ("OpenMP", Query(HasOpenMp)),
            ("LAPACK", Query(HasLapack)),
            ("CUDA", cuda),
            ("malloc policy", $"{HostAllocator.Policy.ToString().ToLowerInvariant()} (HYBRID_MALLOC=retain|system)"),
            ("scalar lifetime guard", ScalarLifetimeGuard ? "on" : $"OFF: set {ScalarLifetimeGuardSetting} (./hybrid and make test do)"),
        };
    }
}
