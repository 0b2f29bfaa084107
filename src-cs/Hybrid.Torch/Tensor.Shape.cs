namespace Hybrid.Torch;

// Views and reshapes, joins and splits, gathers and scatters, and a readable slicing indexer.
public partial class Tensor
{
    public Tensor reshape(params long[] shape) => Wrap(Native.hy_reshape(Handle, shape, shape.Length), "reshape");
    public Tensor view(params long[] shape) => Wrap(Native.hy_view(Handle, shape, shape.Length), "view");
    public Tensor permute(params long[] dims) => Wrap(Native.hy_permute(Handle, dims, dims.Length), "permute");
    public Tensor expand(params long[] shape) => Wrap(Native.hy_expand(Handle, shape, shape.Length), "expand");
    public Tensor expand_as(Tensor o) => expand(o.shape);
    public Tensor view_as(Tensor o) => view(o.shape);
    public Tensor repeat(params long[] reps) => Wrap(Native.hy_repeat(Handle, reps, reps.Length), "repeat");
    public Tensor flip(params long[] dims) => Wrap(Native.hy_flip(Handle, dims, dims.Length), "flip");
    public Tensor roll(long[] shifts, long[] dims)
    {
        if (shifts.Length != dims.Length) throw new ArgumentException("roll: shifts and dims must have the same length");
        return Wrap(Native.hy_roll(Handle, shifts, dims, dims.Length), "roll");
    }
    public Tensor roll(long shift, long dim) => roll(new[] { shift }, new[] { dim });
    public Tensor transpose(long dim0, long dim1) => Wrap(Native.hy_transpose(Handle, dim0, dim1), "transpose");
    /// <summary>Transpose of a 2-d tensor.</summary>
    public Tensor t() => transpose(0, 1);
    public Tensor squeeze() => Wrap(Native.hy_squeeze(Handle, 0, false), "squeeze");
    public Tensor squeeze(long dim) => Wrap(Native.hy_squeeze(Handle, dim, true), "squeeze");
    public Tensor unsqueeze(long dim) => Wrap(Native.hy_unsqueeze(Handle, dim), "unsqueeze");
    public Tensor flatten(long start_dim = 0, long end_dim = -1) => Wrap(Native.hy_flatten(Handle, start_dim, end_dim), "flatten");
    public Tensor narrow(long dim, long start, long length) => Wrap(Native.hy_narrow(Handle, dim, start, length), "narrow");
    public Tensor select(long dim, long index) => Wrap(Native.hy_select(Handle, dim, index), "select");
    public Tensor slice(long dim, long start, long end, long step = 1) => Wrap(Native.hy_slice(Handle, dim, start, end, step), "slice");
    public Tensor index_select(long dim, Tensor index) => Wrap(Native.hy_index_select(Handle, dim, index.Handle), "index_select");
    public Tensor gather(long dim, Tensor index) => Wrap(Native.hy_gather(Handle, dim, index.Handle), "gather");
    public Tensor scatter(long dim, Tensor index, Tensor src) => Wrap(Native.hy_scatter(Handle, dim, index.Handle, src.Handle), "scatter");
    public Tensor scatter(long dim, Tensor index, double value) => Wrap(Native.hy_scatter_value(Handle, dim, index.Handle, value), "scatter");
    public Tensor scatter_add(long dim, Tensor index, Tensor src) => Wrap(Native.hy_scatter_add(Handle, dim, index.Handle, src.Handle), "scatter_add");
    public Tensor masked_select(Tensor mask) => Wrap(Native.hy_masked_select(Handle, mask.Handle), "masked_select");
    /// <summary>Indices of non-zero elements, (N, dim).</summary>
    public Tensor nonzero() => Wrap(Native.hy_nonzero(Handle), "nonzero");
    public Tensor tril(long diagonal = 0) => Wrap(Native.hy_tril(Handle, diagonal), "tril");
    public Tensor triu(long diagonal = 0) => Wrap(Native.hy_triu(Handle, diagonal), "triu");

    public Tensor[] chunk(long chunks, long dim = 0)
    {
        var outp = new IntPtr[chunks];
        var n = Check(Native.hy_chunk(Handle, chunks, dim, outp, chunks), "chunk");
        return Enumerable.Range(0, (int)n).Select(i => new Tensor(outp[i])).ToArray();
    }

    public Tensor[] split(long[] sizes, long dim = 0)
    {
        var outp = new IntPtr[sizes.Length];
        var n = Check(Native.hy_split(Handle, sizes, sizes.Length, dim, outp, sizes.Length), "split");
        return Enumerable.Range(0, (int)n).Select(i => new Tensor(outp[i])).ToArray();
    }

    /// <summary>Splits into pieces of `size` along dim (the last may be smaller).</summary>
    public Tensor[] split(long size, long dim = 0)
    {
        var total = this.size((int)dim);
        var sizes = new List<long>();
        for (long s = 0; s < total; s += size) sizes.Add(Math.Min(size, total - s));
        return split(sizes.ToArray(), dim);
    }

    /// <summary>Advanced indexing x[i0, i1, ...] with index tensors (null = all of that dim).</summary>
    public Tensor index(params Tensor?[] indices)
    {
        var hs = indices.Select(t => t?.Handle.DangerousGetHandle() ?? IntPtr.Zero).ToArray();
        var r = Wrap(Native.hy_index(Handle, hs, hs.Length), "index");
        GC.KeepAlive(indices);
        return r;
    }

    /// <summary>x[i0, i1, ...] = values (or += when accumulate), in place.</summary>
    public Tensor index_put_(Tensor?[] indices, Tensor values, bool accumulate = false)
    {
        var hs = indices.Select(t => t?.Handle.DangerousGetHandle() ?? IntPtr.Zero).ToArray();
        Check(Native.hy_index_put_(Handle, hs, hs.Length, values.Handle, accumulate), "index_put_");
        GC.KeepAlive(indices);
        return this;
    }

    /// <summary>
    /// Readable slicing: t[TensorIndex.Ellipsis, TensorIndex.Slice(0, 2), 3] as in Python's
    /// t[..., 0:2, 3]. Integers select (drop the dim), slices narrow, None inserts a dim.
    /// </summary>
    public Tensor this[params TensorIndex[] indices] => TensorIndex.Apply(this, indices);
}

/// <summary>One component of a slicing expression.</summary>
public readonly record struct TensorIndex
{
    internal enum Kind { Single, Slice, Ellipsis, NewAxis }
    internal Kind kind { get; init; }
    internal long index { get; init; }
    internal long? start { get; init; }
    internal long? stop { get; init; }
    internal long step { get; init; }

    public static TensorIndex Single(long i) => new() { kind = Kind.Single, index = i };
    public static TensorIndex Slice(long? start = null, long? stop = null, long step = 1) =>
        step <= 0 ? throw new ArgumentException("slice step must be positive") : new() { kind = Kind.Slice, start = start, stop = stop, step = step };
    public static readonly TensorIndex Colon = Slice();
    public static readonly TensorIndex Ellipsis = new() { kind = Kind.Ellipsis };
    public static readonly TensorIndex None = new() { kind = Kind.NewAxis };
    public static implicit operator TensorIndex(long i) => Single(i);
    public static implicit operator TensorIndex(int i) => Single(i);

    internal static Tensor Apply(Tensor t, TensorIndex[] ix)
    {
        var ndim = t.dim();
        var consumed = ix.Count(i => i.kind is Kind.Single or Kind.Slice);
        if (ix.Count(i => i.kind == Kind.Ellipsis) > 1) throw new ArgumentException("at most one Ellipsis in an index");
        if (consumed > ndim) throw new ArgumentException($"too many indices ({consumed}) for a {ndim}-d tensor");
        var shape = t.shape;
        var cur = t.alias();
        long d = 0; // the dim of `cur` the next component addresses
        long src = 0; // the dim of `t` it came from
        foreach (var i in ix)
        {
            Tensor next;
            switch (i.kind)
            {
                case Kind.Ellipsis:
                    var skip = ndim - consumed;
                    d += skip; src += skip;
                    continue;
                case Kind.NewAxis:
                    next = cur.unsqueeze(d); d++;
                    break;
                case Kind.Single:
                    var n = shape[src];
                    var k = i.index < 0 ? i.index + n : i.index;
                    if (k < 0 || k >= n) throw new IndexOutOfRangeException($"index {i.index} is out of bounds for dim {src} of size {n}");
                    next = cur.select(d, k); src++;
                    break;
                default:
                    var size = shape[src];
                    long Norm(long v) => Math.Clamp(v < 0 ? v + size : v, 0, size);
                    var a = i.start is { } s0 ? Norm(s0) : 0;
                    var b = i.stop is { } s1 ? Norm(s1) : size;
                    next = cur.slice(d, a, Math.Max(a, b), i.step); d++; src++;
                    break;
            }
            cur.Dispose();
            cur = next;
        }
        return cur;
    }
}
