namespace Hybrid.Torch.Modules;

/// <summary>What load_state_dict found: keys missing from the file, keys the model does not
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

/// <summary>
/// A layer or model: named parameters, buffers and children (in registration order, so
/// state-dict keys read as PyTorch's), train/eval mode, device moves, state dicts.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Parameter? P)> ownParameters = new();
    private readonly List<(string Name, Tensor? T, bool Persistent)> buffers = new();
    private readonly List<(string Name, Module M)> children = new();
    private bool disposed;

    public bool training { get; private set; } = true;

    protected Parameter? RegisterParameter(string name, Parameter? p)
    {
        Validate(name);
        ownParameters.Add((name, p));
        return p;
    }

    protected Tensor RegisterBuffer(string name, Tensor t, bool persistent = true)
    {
        Validate(name);
        t.DetachFromDisposeScope();
        buffers.Add((name, t, persistent));
        return t;
    }

    protected T RegisterModule<T>(string name, T m) where T : Module
    {
        Validate(name);
        children.Add((name, m));
        return m;
    }

    private void Validate(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.')) throw new ArgumentException($"invalid member name '{name}'");
        if (ownParameters.Any(p => p.Name == name) || buffers.Any(b => b.Name == name) || children.Any(c => c.Name == name))
            throw new ArgumentException($"'{name}' is already registered in {GetType().Name}");
    }

    /// <summary>Replaces a registered parameter (e.g. after re-initialisation).</summary>
    protected void ReplaceParameter(string name, Parameter? p)
    {
        var i = ownParameters.FindIndex(x => x.Name == name);
        if (i < 0) throw new ArgumentException($"no parameter '{name}'");
        ownParameters[i].P?.Dispose();
        ownParameters[i] = (name, p);
    }

    public IEnumerable<(string name, Module module)> named_children() => children.Select(c => (c.Name, c.M));

    public IEnumerable<(string name, Module module)> named_modules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (n, m) in children)
            foreach (var x in m.named_modules(prefix.Length == 0 ? n : $"{prefix}.{n}"))
                yield return x;
    }

    public IEnumerable<(string name, Parameter parameter)> named_parameters(bool recurse = true)
    {
        foreach (var (n, p) in ownParameters)
            if (p is not null) yield return (n, p);
        if (!recurse) yield break;
        foreach (var (cn, c) in children)
            foreach (var (n, p) in c.named_parameters())
                yield return ($"{cn}.{n}", p);
    }

    public IEnumerable<Parameter> parameters(bool recurse = true) => named_parameters(recurse).Select(x => x.parameter);

    public IEnumerable<(string name, Tensor buffer)> named_buffers(bool recurse = true, bool persistentOnly = false)
    {
        foreach (var (n, t, persistent) in buffers)
            if (t is not null && (persistent || !persistentOnly)) yield return (n, t);
        if (!recurse) yield break;
        foreach (var (cn, c) in children)
            foreach (var (n, t) in c.named_buffers(true, persistentOnly))
                yield return ($"{cn}.{n}", t);
    }

    /// <summary>Number of parameter elements.</summary>
    public long parameter_count() => parameters().Sum(p => p.numel());

    public virtual Module train(bool mode = true)
    {
        training = mode;
        foreach (var (_, c) in children) c.train(mode);
        return this;
    }

    public Module eval() => train(false);

    /// <summary>Moves parameters and buffers (identity kept: optimizers stay valid).</summary>
    public Module to(Device device)
    {
        foreach (var t in AllTensors()) { using var moved = t.to(device); t.set_data(moved); }
        return this;
    }

    /// <summary>Same as to(Device) (`to` is a keyword in F#).</summary>
    public Module to_device(Device device) => to(device);

    /// <summary>Same as to(ScalarType) (`to` is a keyword in F#).</summary>
    public Module to_type(ScalarType dtype) => to(dtype);

    /// <summary>Casts floating-point parameters and buffers.</summary>
    public Module to(ScalarType dtype)
    {
        foreach (var t in AllTensors())
            if (t.dtype.IsFloatingPoint()) { using var cast = t.to(dtype); t.set_data(cast); }
        return this;
    }

    private IEnumerable<Tensor> AllTensors() => parameters().Cast<Tensor>().Concat(named_buffers().Select(b => b.buffer));

    public void zero_grad()
    {
        foreach (var p in parameters()) p.grad = null;
    }

    /// <summary>Parameters and persistent buffers by dotted name (the module's own tensors: do not
    /// dispose), in PyTorch's order: each module's parameters, then its buffers, then its children.</summary>
    public Dictionary<string, Tensor> state_dict()
    {
        var d = new Dictionary<string, Tensor>();
        AddState(d, "");
        return d;
    }

    private void AddState(Dictionary<string, Tensor> d, string prefix)
    {
        foreach (var (n, p) in ownParameters)
            if (p is not null) d[prefix + n] = p;
        foreach (var (n, b, persistent) in buffers)
            if (b is not null && persistent) d[prefix + n] = b;
        foreach (var (n, c) in children) c.AddState(d, prefix + n + ".");
    }

    /// <summary>Copies matching tensors in; reports missing, unexpected and mis-shaped keys.
    /// With strict, any finding raises after nothing was copied.</summary>
    public LoadReport load_state_dict(IReadOnlyDictionary<string, Tensor> source, bool strict = true)
    {
        var own = state_dict();
        var missing = own.Keys.Where(k => !source.ContainsKey(k)).ToList();
        var unexpected = source.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var mismatched = new List<(string, long[], long[])>();
        foreach (var (k, t) in own)
            if (source.TryGetValue(k, out var s) && !t.shape.SequenceEqual(s.shape)) mismatched.Add((k, t.shape, s.shape));
        var report = new LoadReport(missing, unexpected, mismatched);
        if (strict && !report.IsClean) throw new InvalidOperationException($"load_state_dict({GetType().Name}): {report}");
        using (torch.no_grad())
        {
            foreach (var (k, t) in own)
                if (source.TryGetValue(k, out var s) && t.shape.SequenceEqual(s.shape)) t.copy_(s);
        }
        return report;
    }

    public override string ToString() => $"{GetType().Name}({parameter_count():N0} parameters)";

    protected virtual void Dispose(bool disposing)
    {
        if (disposed) return;
        disposed = true;
        if (!disposing) return;
        foreach (var (_, p) in ownParameters) p?.Dispose();
        foreach (var (_, b, _) in buffers) b?.Dispose();
        foreach (var (_, c) in children) c.Dispose();
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }
}

/// <summary>A module with a typed forward.</summary>
public abstract class Module<TIn, TOut> : Module
{
    public abstract TOut forward(TIn input);

    /// <summary>Same as forward (reads like PyTorch's module call).</summary>
    public TOut call(TIn input) => forward(input);
}
