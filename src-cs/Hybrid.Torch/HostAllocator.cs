using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Hybrid.Torch;

/// <summary>How CPU tensor storage is obtained from glibc malloc (libtorch's CPU allocator calls it).</summary>
public enum HostAllocatorPolicy
{
    /// <summary>glibc's defaults: blocks above a dynamic threshold (128 KiB rising to 32 MiB) are
    /// mmap'ed, and free memory above 2x that threshold at the heap top goes back to the kernel.</summary>
    System,
    /// <summary>Blocks up to 32 MiB from the heap, and up to 256 MiB of free heap kept for reuse.</summary>
    Retain,
}

/// <summary>
/// The process's malloc policy for tensor storage. A training step frees most of its
/// activations together when its dispose scope ends; with glibc's defaults the freed heap top
/// is handed back to the kernel and the next step faults every page in again (on the bench's
/// small conv step that was about 10% of its time; bench/RESULTS.md records faults per step).
/// <see cref="HostAllocatorPolicy.Retain"/> keeps that memory for the next step. It governs the
/// main thread's arena, where the training loop and its backward run; other threads allocate
/// from their own arenas, which glibc unmaps when one empties, whatever the thresholds. It does
/// not raise the peak: the peak is what a step holds at once. Chosen once per process from
/// HYBRID_MALLOC (retain, the default, or system), through mallopt in the C library itself
/// (P/Invoke into libc.so.6); a no-op outside glibc.
/// </summary>
public static class HostAllocator
{
    public const int RetainMmapThreshold = 32 << 20;   // glibc's largest allowed value
    public const int RetainTrimThreshold = 256 << 20;

    // mallopt parameters (glibc malloc.h)
    private const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;

    [DllImport("libc.so.6", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);

    /// <summary>The policy in force (System when the C library refused or is not glibc).</summary>
    public static HostAllocatorPolicy Policy { get; private set; } = HostAllocatorPolicy.System;

    /// <summary>Parses HYBRID_MALLOC; unset means Retain.</summary>
    public static HostAllocatorPolicy FromEnvironment(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "retain" => HostAllocatorPolicy.Retain,
        "system" => HostAllocatorPolicy.System,
        _ => throw new ArgumentException($"HYBRID_MALLOC='{value}' is not a malloc policy; use 'retain' (the default) or 'system'"),
    };

    /// <summary>Applies a policy; System cannot restore glibc's dynamic threshold once Retain was
    /// applied, so choose it before the first tensor (HYBRID_MALLOC=system).</summary>
    public static void Use(HostAllocatorPolicy policy)
    {
        if (policy != HostAllocatorPolicy.Retain || !OperatingSystem.IsLinux()) return;
        try
        {
            if (mallopt(M_MMAP_THRESHOLD, RetainMmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, RetainTrimThreshold) == 1)
                Policy = HostAllocatorPolicy.Retain;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // not glibc (musl, ...): keep the C library's own policy
        }
    }

#pragma warning disable CA2255 // a process-level default, set once before any tensor is allocated
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void UseEnvironmentPolicy()
    {
        HostAllocatorPolicy policy;
        try { policy = FromEnvironment(Environment.GetEnvironmentVariable("HYBRID_MALLOC")); }
        catch (ArgumentException e) { Console.Error.WriteLine($"warning: {e.Message}; using glibc's defaults"); return; }
        Use(policy);
    }
}
