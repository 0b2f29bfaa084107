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
        };
    }
}
