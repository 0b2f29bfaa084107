namespace Hybrid.Torch.Tests;

/// <summary>How a C# double scalar combines with integer tensors: an integral value acts as a
/// Python int literal (PyTorch: `labels + 1` stays int64), a fractional one promotes; in-place
/// integer updates (BatchNorm's num_batches_tracked.add_(1)) work.</summary>
public class ScalarSemanticsTests
{
    [Fact]
    public void Integral_scalars_keep_integer_tensors_integer()
    {
        using var labels = torch.tensor(new long[] { 0, 1, 2 });
        using var plus = labels + 1;
        Assert.Equal(ScalarType.Int64, plus.dtype);
        Assert.Equal(new long[] { 1, 2, 3 }, plus.data<long>());
        using var times = 3 * labels;
        Assert.Equal(ScalarType.Int64, times.dtype);
        using var minus = 10 - labels;
        Assert.Equal(new long[] { 10, 9, 8 }, minus.data<long>());
        using var half = labels * 0.5;                                              // fractional: promotes as in PyTorch
        Assert.Equal(ScalarType.Float32, half.dtype);
        using var div = labels / 2;                                                 // true division, as PyTorch
        Assert.Equal(ScalarType.Float32, div.dtype);
        using var sq = labels.pow(2);
        Assert.Equal(ScalarType.Int64, sq.dtype);
        using var mask = labels.gt(0);
        using var where = torch.where(mask, labels, -1);
        Assert.Equal(ScalarType.Int64, where.dtype);
        Assert.Equal(new long[] { -1, 1, 2 }, where.data<long>());
    }

    [Fact]
    public void In_place_integer_updates_work()
    {
        // BatchNorm's num_batches_tracked.add_(1) on an int64 counter.
        using var n = torch.zeros(Array.Empty<long>(), ScalarType.Int64);
        n.add_(1).add_(1).mul_(3);
        Assert.Equal(6L, n.item<long>());
        using var a = torch.tensor(new int[] { 1, 2 });
        using var b = torch.tensor(new int[] { 5, 5 });
        a.add_(b, alpha: 2);
        Assert.Equal(new[] { 11, 12 }, a.data<int>());
        Assert.Throws<TorchException>(() => n.add_(0.5));                           // a float into an int tensor is refused, as PyTorch
    }

    [Fact]
    public void Float_tensors_are_unaffected()
    {
        using var x = torch.tensor(new float[] { 1.5f, 2.5f });
        using var y = x + 1;
        Assert.Equal(ScalarType.Float32, y.dtype);
        Assert.Equal(new[] { 2.5f, 3.5f }, y.data<float>());
        // Bool masks are the binding's one deliberate difference: mask * 1 gives a float mask
        // (PyTorch's `mask * 1` would give int64, `mask * 1.0` float).
        using var bools = torch.tensor(new bool[] { true, false });
        using var bsum = bools * 1;
        Assert.Equal(ScalarType.Float32, bsum.dtype);
        Assert.Equal(new float[] { 1, 0 }, bsum.data<float>());
    }
}
