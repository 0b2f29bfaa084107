using Hybrid.Torch.Serialization;

namespace Hybrid.Vision.Backbones;

/// <summary>Checkpoint formats a backbone can load.</summary>
public enum CheckpointFormat { PyTorch, Safetensors }

/// <summary>
/// Loads pretrained state dicts (torch.save files of PyTorch >= 1.6, through <see cref="PyTorchFile"/>; or safetensors)
/// into backbones whose parameter names follow torchvision / timm / PSA, and reports what
/// happened (<see cref="WeightsReport"/>).
/// </summary>
public static class BackboneWeights
{
    /// <summary>Wrappers checkpoints put around a state dict: {"model": sd} (DeiT, timm
    /// training), {"state_dict": sd}, DataParallel's "module.", "backbone." / "encoder.".</summary>
    private static readonly string[] WrapperPrefixes = { "model.", "state_dict.", "module.", "backbone.", "encoder." };

    /// <summary>The format of a file: by extension (.safetensors; .pth .pt .bin .tar .ckpt), else by content.</summary>
    public static CheckpointFormat FormatOf(string file)
    {
        if (!File.Exists(file)) throw new FileNotFoundException($"weights file not found: {file}", file);
        var ext = Path.GetExtension(file).ToLowerInvariant();
        if (ext == ".safetensors") return CheckpointFormat.Safetensors;
        if (ext is ".pth" or ".pt" or ".bin" or ".tar" or ".ckpt") return CheckpointFormat.PyTorch;
        var head = new byte[2];
        using (var fs = File.OpenRead(file)) _ = fs.Read(head, 0, 2);
        // torch.save writes a zip archive ("PK") or, in the legacy format, a pickle (0x80 protocol
        // opcode); PyTorchFile reads the zip format and names the legacy one in its error.
        return (head[0] == (byte)'P' && head[1] == (byte)'K') || head[0] == 0x80 ? CheckpointFormat.PyTorch : CheckpointFormat.Safetensors;
    }

    /// <summary>Reads every tensor of a checkpoint by dotted name (the caller disposes them).</summary>
    public static Dictionary<string, Tensor> Read(string file) =>
        FormatOf(file) == CheckpointFormat.Safetensors ? Safetensors.Load(file).Tensors : PyTorchFile.Load(file);

    /// <summary>Loads <paramref name="file"/> into <paramref name="backbone"/> (matching tensors are
    /// copied, nothing else is touched) and returns the report; throws only when the file cannot be read.</summary>
    public static WeightsReport Load(Backbone backbone, string file)
    {
        var raw = Read(file);
        var owned = new List<Tensor>(raw.Values);
        try
        {
            return Load(backbone, raw, file, owned);
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    }

    /// <summary>Loads an in-memory state dict (the tensors stay the caller's).</summary>
    public static WeightsReport Load(Backbone backbone, IReadOnlyDictionary<string, Tensor> stateDict, string source = "(memory)")
    {
        var owned = new List<Tensor>();
        try
        {
            return Load(backbone, stateDict, source, owned);
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    }

    private static WeightsReport Load(Backbone backbone, IReadOnlyDictionary<string, Tensor> raw, string source, List<Tensor> owned)
    {
        var own = backbone.state_dict();
        var (sd, prefix, outside) = StripWrapper(raw, own);

        var ignored = new List<string>();
        var adapted = new List<string>();
        var converted = new SortedSet<string>();
        var source2 = new Dictionary<string, Tensor>();
        foreach (var (k, v) in sd)
        {
            if (!own.ContainsKey(k) && backbone.IsIgnorableCheckpointKey(k)) { ignored.Add(k); continue; }
            var value = v;
            if (own.TryGetValue(k, out var target))
            {
                if (!target.shape.SequenceEqual(v.shape) && backbone.AdaptCheckpointTensor(k, v, target.shape) is { } a)
                {
                    owned.Add(a);
                    if (a.shape.SequenceEqual(target.shape))
                    {
                        adapted.Add($"{k} [{string.Join(",", v.shape)}] -> [{string.Join(",", a.shape)}]");
                        value = a;
                    }
                }
                if (value.dtype != target.dtype) converted.Add($"{value.dtype} -> {target.dtype}");
            }
            source2[k] = value;
        }

        var report = StateDicts.Load(backbone, source2, strict: false);
        // Checkpoints written before PyTorch 0.4.1 (e.g. torchvision's original ResNet files) lack
        // BatchNorm's num_batches_tracked; PyTorch leaves the counter at 0, and so do we.
        var defaulted = report.Missing.Where(k => k.EndsWith(".num_batches_tracked", StringComparison.Ordinal) || k == "num_batches_tracked").ToList();
        var missing = report.Missing.Except(defaulted).ToList();
        var final = new LoadReport(missing, report.Unexpected, report.Mismatched);
        var loaded = own.Count - report.Missing.Count - report.Mismatched.Count;
        return new WeightsReport(source, backbone.Name, final, prefix, ignored, outside, adapted, defaulted, converted.ToList(), loaded);
    }

    /// <summary>Removes the wrapper prefix, or chain of up to three (our own run checkpoints
    /// hold the backbone under "model.backbone."), under which the most keys match the model;
    /// the shortest chain wins a tie and no prefix is stripped unless it matches more. Entries
    /// not under the chosen prefix are set aside and reported.</summary>
    private static (Dictionary<string, Tensor> Sd, string? Prefix, List<string> Outside) StripWrapper(IReadOnlyDictionary<string, Tensor> raw, Dictionary<string, Tensor> own)
    {
        int Matches(string prefix) => raw.Keys.Count(k => k.StartsWith(prefix, StringComparison.Ordinal) && own.ContainsKey(k[prefix.Length..]));
        var chains = new List<string> { "" };
        var from = 0;
        for (var depth = 0; depth < 3; depth++)
        {
            var to = chains.Count;
            for (var c = from; c < to; c++)
                foreach (var p in WrapperPrefixes) chains.Add(chains[c] + p);
            from = to;
        }
        var best = chains.Select(c => (Prefix: c, Count: Matches(c))).Aggregate((a, b) => b.Count > a.Count ? b : a);  // first (shortest) on ties
        if (best.Prefix.Length == 0) return (raw.ToDictionary(kv => kv.Key, kv => kv.Value), null, new List<string>());
        var outside = raw.Keys.Where(k => !k.StartsWith(best.Prefix, StringComparison.Ordinal)).ToList();
        var sd = raw.Where(kv => kv.Key.StartsWith(best.Prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[best.Prefix.Length..], kv => kv.Value);
        return (sd, best.Prefix, outside);
    }

    /// <summary>Creates a registered backbone and reports how a file fits it (for `hybrid weights inspect`).</summary>
    public static WeightsReport Inspect(string backbone, string file, BackboneOptions? options = null)
    {
        using var model = BackboneRegistry.Create(backbone, (options ?? BackboneOptions.Default) with { Weights = null });
        return Load(model, file);
    }
}
