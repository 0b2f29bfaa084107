using Hybrid.Torch;

namespace Hybrid.Bench.Torch;

/// <summary>Context recorded beside every libtorch timing.</summary>
internal static class TorchInfo
{
    public static Dictionary<string, string> Of(int threads) => new()
    {
        ["libtorch"] = torch.version,
        ["threads"] = torch.get_num_threads().ToString(),
        ["threads_requested"] = threads.ToString(),
        ["blas"] = torch.blas_in_use(),
        ["runtime"] = $".NET {Environment.Version}",
        ["malloc"] = HostAllocator.Policy.ToString().ToLowerInvariant(),
    };
}
