namespace Hybrid.Torch;

/// <summary>
/// Collects every tensor created on this thread while it is the innermost open scope and
/// disposes them when it ends, except the ones moved out (<see cref="Tensor.MoveToOuterDisposeScope"/>)
/// or detached (<see cref="Tensor.DetachFromDisposeScope"/>). Put one around every training
/// step: native memory then stays flat however long the run.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? current;

    private readonly List<Tensor> owned = new();
    private bool disposed;

    /// <summary>The innermost open scope of this thread, if any.</summary>
    public static DisposeScope? Current => current;

    /// <summary>The scope that was current when this one opened.</summary>
    public DisposeScope? Outer { get; }

    internal DisposeScope()
    {
        Outer = current;
        current = this;
    }

    /// <summary>Tensors registered here and still owned by this scope.</summary>
    public int Count => owned.Count(t => ReferenceEquals(t.OwnerScope, this) && !t.IsDisposed);

    internal void Register(Tensor t)
    {
        t.OwnerScope = this;
        owned.Add(t);
    }

    /// <summary>Moves tensors to the outer scope (or to no scope) so they survive this one.</summary>
    public void MoveToOuter(params Tensor[] tensors)
    {
        foreach (var t in tensors) t.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var t in owned)
            if (ReferenceEquals(t.OwnerScope, this)) t.Dispose();
        owned.Clear();
        // Scopes nest strictly; closing one also ends any inner scope left open.
        if (ReferenceEquals(current, this) || current is null || IsInner(current)) current = Outer;
    }

    private bool IsInner(DisposeScope s)
    {
        for (var p = s.Outer; p is not null; p = p.Outer)
            if (ReferenceEquals(p, this)) return true;
        return false;
    }
}
