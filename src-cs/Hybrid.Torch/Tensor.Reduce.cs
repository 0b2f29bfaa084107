namespace Hybrid.Torch;

// Reductions (over everything, or over dims with keepdim), sorting and selection.
public partial class Tensor
{
    public Tensor sum() => Wrap(Native.hy_sum_all(Handle), "sum");
    public Tensor mean() => Wrap(Native.hy_mean_all(Handle), "mean");
    public Tensor max() => Wrap(Native.hy_max_all(Handle), "max");
    public Tensor min() => Wrap(Native.hy_min_all(Handle), "min");
    public Tensor all() => Wrap(Native.hy_all_all(Handle), "all");
    public Tensor any() => Wrap(Native.hy_any_all(Handle), "any");

    public Tensor sum(long dim, bool keepdim = false) => sum(new[] { dim }, keepdim);
    public Tensor sum(long[] dims, bool keepdim = false) => Wrap(Native.hy_sum(Handle, dims, dims.Length, keepdim), "sum");
    public Tensor mean(long dim, bool keepdim = false) => mean(new[] { dim }, keepdim);
    public Tensor mean(long[] dims, bool keepdim = false) => Wrap(Native.hy_mean(Handle, dims, dims.Length, keepdim), "mean");
    public Tensor amax(long dim, bool keepdim = false) => amax(new[] { dim }, keepdim);
    public Tensor amax(long[] dims, bool keepdim = false) => Wrap(Native.hy_amax(Handle, dims, dims.Length, keepdim), "amax");
    public Tensor amin(long dim, bool keepdim = false) => amin(new[] { dim }, keepdim);
    public Tensor amin(long[] dims, bool keepdim = false) => Wrap(Native.hy_amin(Handle, dims, dims.Length, keepdim), "amin");
    public Tensor logsumexp(long dim, bool keepdim = false) => Wrap(Native.hy_logsumexp(Handle, new[] { dim }, 1, keepdim), "logsumexp");
    public Tensor prod(long dim, bool keepdim = false) => Wrap(Native.hy_prod(Handle, dim, keepdim), "prod");

    /// <summary>Standard deviation over dims (all when null), Bessel-corrected when unbiased.</summary>
    public Tensor std(long[]? dims = null, bool unbiased = true, bool keepdim = false) =>
        Wrap(Native.hy_std(Handle, dims ?? Array.Empty<long>(), dims?.Length ?? 0, unbiased, keepdim), "std");
    public Tensor var(long[]? dims = null, bool unbiased = true, bool keepdim = false) =>
        Wrap(Native.hy_var(Handle, dims ?? Array.Empty<long>(), dims?.Length ?? 0, unbiased, keepdim), "var");
    public Tensor norm(double p = 2, long[]? dims = null, bool keepdim = false) =>
        Wrap(Native.hy_norm(Handle, p, dims ?? Array.Empty<long>(), dims?.Length ?? 0, keepdim), "norm");

    /// <summary>Max over a dim: (values, indices).</summary>
    public (Tensor values, Tensor indices) max(long dim, bool keepdim = false)
    {
        Check(Native.hy_max_dim(Handle, dim, keepdim, out var v, out var i), "max");
        return (new Tensor(v), new Tensor(i));
    }

    public (Tensor values, Tensor indices) min(long dim, bool keepdim = false)
    {
        Check(Native.hy_min_dim(Handle, dim, keepdim, out var v, out var i), "min");
        return (new Tensor(v), new Tensor(i));
    }

    public Tensor argmax() => Wrap(Native.hy_argmax(Handle, 0, false, false), "argmax");
    public Tensor argmax(long dim, bool keepdim = false) => Wrap(Native.hy_argmax(Handle, dim, true, keepdim), "argmax");
    public Tensor argmin() => Wrap(Native.hy_argmin(Handle, 0, false, false), "argmin");
    public Tensor argmin(long dim, bool keepdim = false) => Wrap(Native.hy_argmin(Handle, dim, true, keepdim), "argmin");

    public (Tensor values, Tensor indices) topk(long k, long dim = -1, bool largest = true, bool sorted = true)
    {
        Check(Native.hy_topk(Handle, k, dim, largest, sorted, out var v, out var i), "topk");
        return (new Tensor(v), new Tensor(i));
    }

    public (Tensor values, Tensor indices) sort(long dim = -1, bool descending = false)
    {
        Check(Native.hy_sort(Handle, dim, descending, out var v, out var i), "sort");
        return (new Tensor(v), new Tensor(i));
    }

    public Tensor cumsum(long dim) => Wrap(Native.hy_cumsum(Handle, dim), "cumsum");

    /// <summary>Counts of each non-negative integer (1-d input), optionally weighted.</summary>
    public Tensor bincount(Tensor? weights = null, long minlength = 0) =>
        Wrap(Native.hy_bincount(Handle, weights?.Handle ?? TensorHandle.Null, minlength), "bincount");
}
