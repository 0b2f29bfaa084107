namespace Hybrid.Torch.Serialization;

/// <summary>What a state-dict load found: keys missing from the source, keys the model does not
/// have, and tensors whose shapes disagree. Nothing is skipped silently.</summary>
public sealed record LoadReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<(string Key, long[] Expected, long[] Found)> Mismatched)
{
    public bool IsClean => Missing.Count == 0 && Unexpected.Count == 0 && Mismatched.Count == 0;

    public override string ToString()
    {
        if (IsClean) return "all keys matched";
        var parts = new List<string>();
        if (Missing.Count > 0) parts.Add($"{Missing.Count} missing: {string.Join(", ", Missing.Take(8))}{(Missing.Count > 8 ? ", ..." : "")}");
        if (Unexpected.Count > 0) parts.Add($"{Unexpected.Count} unexpected: {string.Join(", ", Unexpected.Take(8))}{(Unexpected.Count > 8 ? ", ..." : "")}");
        if (Mismatched.Count > 0) parts.Add($"{Mismatched.Count} mis-shaped: {string.Join(", ", Mismatched.Take(8).Select(m => $"{m.Key} model [{string.Join(",", m.Expected)}] file [{string.Join(",", m.Found)}]"))}");
        return string.Join("; ", parts);
    }
}

/// <summary>State-dict loading that reports every difference (TorchSharp's load_state_dict reports
/// missing and unexpected keys but fails on a shape at the first copy).</summary>
public static class StateDicts
{
    /// <summary>Copies matching tensors into the module's own; with strict, any finding raises
    /// before anything was copied.</summary>
    public static LoadReport Load(nn.Module module, IReadOnlyDictionary<string, Tensor> source, bool strict = true)
    {
        var own = module.state_dict();
        var missing = own.Keys.Where(k => !source.ContainsKey(k)).ToList();
        var unexpected = source.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var mismatched = new List<(string, long[], long[])>();
        foreach (var (k, t) in own)
            if (source.TryGetValue(k, out var s) && !t.shape.SequenceEqual(s.shape)) mismatched.Add((k, t.shape, s.shape));
        var report = new LoadReport(missing, unexpected, mismatched);
        if (strict && !report.IsClean) throw new InvalidOperationException($"load_state_dict({module.GetType().Name}): {report}");
        using (torch.no_grad())
        {
            foreach (var (k, t) in own)
                if (source.TryGetValue(k, out var s) && t.shape.SequenceEqual(s.shape))
                {
                    using var moved = s.to(t.dtype, t.device);
                    t.copy_(moved);
                }
        }
        return report;
    }
}
