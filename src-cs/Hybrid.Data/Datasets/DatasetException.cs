namespace Hybrid.Data;

/// <summary>
/// A dataset on disk that cannot be used as it is. One exception carries all the problems
/// found (the first few spelled out, plus the count), so that a user fixes them in one pass.
/// </summary>
public sealed class DatasetException : IOException
{
    public IReadOnlyList<string> Problems { get; }

    public DatasetException(string what, IReadOnlyList<string> problems, int shown = 5)
        : base(Format(what, problems, shown)) => Problems = problems;

    private static string Format(string what, IReadOnlyList<string> problems, int shown)
    {
        var lines = new List<string> { $"{what}: {problems.Count} problem{(problems.Count == 1 ? "" : "s")}" };
        lines.AddRange(problems.Take(shown).Select(p => "  - " + p));
        if (problems.Count > shown) lines.Add($"  ... and {problems.Count - shown} more");
        return string.Join(Environment.NewLine, lines);
    }
}

/// <summary>Collects problems while a dataset is scanned; throws them together at the end.</summary>
internal sealed class ProblemList
{
    private readonly List<string> _problems = new();
    private readonly object _gate = new();

    public void Add(string problem)
    {
        lock (_gate) _problems.Add(problem);
    }

    public int Count => _problems.Count;

    public void ThrowIfAny(string what)
    {
        if (_problems.Count == 0) return;
        // Parallel scans add in any order; sort so the message is the same on every run.
        var sorted = _problems.OrderBy(p => p, StringComparer.Ordinal).ToList();
        throw new DatasetException(what, sorted);
    }
}
