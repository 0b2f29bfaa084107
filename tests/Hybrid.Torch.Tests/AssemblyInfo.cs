using System.Runtime.CompilerServices;

// The tests share process-wide state: libtorch's default generator (RNG continuity tests) and
// the live-tensor count (leak tests). They run one at a time; the whole suite stays fast.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Hybrid.Torch.Tests;

internal static class TestThreads
{
    /// <summary>One intra-op thread for the tests: their tensors are tiny, so more threads only
    /// add OpenMP barriers, and on a busy 2-core machine each barrier waits for a time slice
    /// (measured under load: the memory test's step took 55 ms with 2 threads, 1.9 ms with 1).</summary>
#pragma warning disable CA2255 // set once, before any test runs
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void OneThread() => torch.set_num_threads(1);
}
