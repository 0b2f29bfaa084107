namespace Hybrid.Bench;

/// <summary>
/// One benchmark: a name used on the command line, what it measures, and a run that returns
/// per-sample timings. Add a benchmark by adding a class implementing this in its own file;
/// <see cref="Program"/> discovers it.
/// </summary>
public interface IBenchmark
{
    /// <summary>Command-line name, e.g. "torch-op".</summary>
    string Name { get; }

    /// <summary>One line: what is timed and in which unit.</summary>
    string Description { get; }

    BenchResult Run(BenchOptions options);
}

/// <summary>Options every benchmark understands (each may ignore some); 0 samples and a
/// negative warm-up mean "the benchmark's default".</summary>
public sealed record BenchOptions(int Threads, int Samples, int Warmup, int Inner)
{
    public int SamplesOr(int defaultSamples) => Samples > 0 ? Samples : defaultSamples;
    public int WarmupOr(int defaultWarmup) => Warmup >= 0 ? Warmup : defaultWarmup;
}

/// <summary>Timings of one run: one wall-clock value per sample in `Unit`, the process CPU time
/// of the same samples in the same unit (see <see cref="CpuClock"/>), plus context.</summary>
public sealed record BenchResult(string Bench, string Unit, IReadOnlyList<double> Samples, IReadOnlyList<double> CpuSamples, IReadOnlyDictionary<string, string> Info);
