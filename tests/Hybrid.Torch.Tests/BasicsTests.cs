using Hybrid.Torch;

namespace Hybrid.Torch.Tests;

public class BasicsTests
{
    [Fact]
    public void Creation_and_data_round_trip()
    {
        using var t = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6 }, new long[] { 2, 3 });
        Assert.Equal(new long[] { 2, 3 }, t.shape);
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(new long[] { 3, 1 }, t.stride());
        Assert.Equal(6, t.numel());
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, t.data<float>());
        using var s = t.sum();
        Assert.Equal(21f, s.item<float>());
        using var z = torch.zeros(new long[] { 3 }, ScalarType.Int64);
        Assert.Equal(new long[] { 0, 0, 0 }, z.data<long>());
        using var a = torch.arange(5);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, a.data<long>());
        using var e = torch.eye(2);
        Assert.Equal(new float[] { 1, 0, 0, 1 }, e.data<float>());
        using var l = torch.linspace(0, 1, 5);
        Assert.Equal(new float[] { 0, 0.25f, 0.5f, 0.75f, 1 }, l.data<float>());
        using var f = torch.full(new long[] { 2 }, 7.5, ScalarType.Float64);
        Assert.Equal(new double[] { 7.5, 7.5 }, f.data<double>());
    }

    [Fact]
    public void Every_listed_dtype_round_trips()
    {
        foreach (var dt in new[] { ScalarType.Float32, ScalarType.Float64, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Int64, ScalarType.Int32, ScalarType.UInt8, ScalarType.Bool })
        {
            using var t = torch.ones(new long[] { 2, 2 }, dt);
            Assert.Equal(dt, t.dtype);
            Assert.Equal(new double[] { 1, 1, 1, 1 }, t.data<double>());
        }
    }

    [Fact]
    public void Operators_broadcast_and_mix_scalars()
    {
        using var a = torch.tensor(new float[] { 1, 2, 3 }, new long[] { 3, 1 });
        using var b = torch.tensor(new float[] { 10, 20 }, new long[] { 1, 2 });
        using var c = (a + b) * 2 - 1;
        Assert.Equal(new long[] { 3, 2 }, c.shape);
        Assert.Equal(new float[] { 21, 41, 23, 43, 25, 45 }, c.data<float>());
        using var d = 1.0 / a;
        Assert.Equal(new float[] { 1, 0.5f, 1f / 3 }, d.data<float>());
        using var e = 10.0 - a;
        Assert.Equal(new float[] { 9, 8, 7 }, e.data<float>());
    }

    [Fact]
    public void Autograd_computes_gradients()
    {
        using var x = torch.tensor(new double[] { 1, 2, 3 }, requires_grad: true);
        using var y = (x * x).sum();
        y.backward();
        using var g = x.grad!;
        Assert.Equal(new double[] { 2, 4, 6 }, g.data<double>());
        using (torch.no_grad())
        {
            using var z = x * 2;
            Assert.False(z.requires_grad);
        }
    }

    [Fact]
    public void Slicing_indexer_reads_like_python()
    {
        using var t = torch.arange(24).reshape(2, 3, 4);
        using var a = t[1];                                                      // t[1]
        Assert.Equal(new long[] { 3, 4 }, a.shape);
        using var b = t[TensorIndex.Ellipsis, TensorIndex.Slice(1, 3)];           // t[..., 1:3]
        Assert.Equal(new long[] { 2, 3, 2 }, b.shape);
        Assert.Equal(1L, b[0, 0, 0].item<long>());
        using var c = t[TensorIndex.Colon, -1, TensorIndex.None];                 // t[:, -1, None]
        Assert.Equal(new long[] { 2, 1, 4 }, c.shape);
        Assert.Equal(20L, c[1, 0, 0].item<long>());
        using var d = t[0, TensorIndex.Slice(null, null, 2)];                     // t[0, ::2]
        Assert.Equal(new long[] { 2, 4 }, d.shape);
        Assert.Equal(8L, d[1, 0].item<long>());
        Assert.Throws<IndexOutOfRangeException>(() => t[2]);
    }
}
