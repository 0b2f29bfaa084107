using System.Runtime.InteropServices;

namespace Hybrid.Bench;

/// <summary>The process's CPU time (all threads), in nanoseconds, from clock_gettime: on a shared
/// machine wall time includes waiting for a core, CPU time does not. Python's
/// time.process_time_ns() reads the same clock.</summary>
public static class CpuClock
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec { public long Sec; public long Nsec; }

    private const int ClockProcessCputimeId = 2;

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGettime(int clock, out Timespec t);

    public static double Ns()
    {
        if (ClockGettime(ClockProcessCputimeId, out var t) != 0) return double.NaN;
        return t.Sec * 1e9 + t.Nsec;
    }
}
