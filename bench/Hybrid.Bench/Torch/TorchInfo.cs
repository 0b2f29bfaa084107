using Hybrid.Torch;

namespace Hybrid.Bench.Torch;

/// <summary>Context recorded beside every libtorch timing: the binding (TorchSharp) and the
/// libtorch it ships (2.10; the PyTorch twins run Debian's python3-torch, libtorch 1.13, so the
/// two sides do not run the same libtorch), threads, BLAS, runtime and malloc policy.</summary>
internal static class TorchInfo
{
    public static Dictionary<string, string> Of(int threads)
    {
        var runtime = TorchRuntime.Describe().ToDictionary(kv => kv.Key, kv => kv.Value);
        return new()
        {
            ["binding"] = $"TorchSharp {runtime.GetValueOrDefault("TorchSharp", "?")}",
            ["libtorch"] = LibtorchVersion(runtime.GetValueOrDefault("libtorch", torch.__version__)),
            ["threads"] = torch.get_num_threads().ToString(),
            ["threads_requested"] = threads.ToString(),
            ["blas"] = Blas(runtime.GetValueOrDefault("MKL (BLAS)", "unknown")),
            ["runtime"] = $".NET {Environment.Version}",
            ["malloc"] = HostAllocator.Policy.ToString().ToLowerInvariant(),
        };
    }

    /// <summary>"2.10.0.0" (TorchSharp's package version of libtorch) as "2.10.0".</summary>
    private static string LibtorchVersion(string v)
    {
        var parts = v.Split('.');
        return parts.Length == 4 && parts[3] == "0" ? string.Join('.', parts[..3]) : v;
    }

    /// <summary>MKL when libtorch was built with it (TorchSharp-cpu links it into libtorch_cpu),
    /// plus any BLAS shared library mapped into this process.</summary>
    private static string Blas(string hasMkl)
    {
        var mapped = MappedBlas();
        var mkl = hasMkl == "yes" ? "MKL (linked into libtorch_cpu)" : null;
        var all = new[] { mkl }.Concat(mapped).Where(s => s is not null).ToList();
        return all.Count == 0 ? "unknown" : string.Join(", ", all);
    }

    private static IEnumerable<string> MappedBlas()
    {
        try
        {
            return File.ReadLines("/proc/self/maps")
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "")
                .Where(p => p.Contains("blas", StringComparison.OrdinalIgnoreCase) || p.Contains("mkl", StringComparison.OrdinalIgnoreCase))
                .Select(Path.GetFileName).OfType<string>().Distinct().ToList();
        }
        catch (IOException) { return []; }
    }
}
