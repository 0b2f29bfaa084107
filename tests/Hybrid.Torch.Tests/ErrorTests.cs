using Hybrid.Torch.Modules;
using static Hybrid.Torch.Tests.Data;
using F = Hybrid.Torch.torch.nn.functional;

namespace Hybrid.Torch.Tests;

/// <summary>Bad input becomes a managed exception with a message that says what is wrong,
/// never a crash of the process, and the thread's native error slot does not leak into the
/// next call.</summary>
public class ErrorTests
{
    [Fact]
    public void Shape_mismatch_names_the_op_and_the_sizes()
    {
        using var a = torch.ones(S(2, 3));
        using var b = torch.ones(S(4));
        var e = Assert.Throws<TorchException>(() => a + b);
        Assert.StartsWith("add:", e.Message);
        Assert.Contains("size of tensor a (3) must match the size of tensor b (4)", e.Message);

        using var m = torch.ones(S(2, 3));
        var e2 = Assert.Throws<TorchException>(() => m.matmul(m));
        Assert.StartsWith("matmul:", e2.Message);
        Assert.Contains("2x3 and 2x3", e2.Message);

        using var x = torch.ones(S(1, 3, 8, 8));
        using var w = torch.ones(S(4, 2, 3, 3));                                   // expects 2 input channels
        var e3 = Assert.Throws<TorchException>(() => F.conv2d(x, w));
        Assert.StartsWith("conv2d:", e3.Message);
        Assert.Contains("expected input[1, 3, 8, 8] to have 2 channels", e3.Message);

        using var v = torch.ones(S(6));
        Assert.Contains("invalid for input of size 6", Assert.Throws<TorchException>(() => v.view(4, 2)).Message);
    }

    [Fact]
    public void Wrong_dtype_is_reported()
    {
        using var x = torch.ones(S(2, 3));
        using var floatIndex = torch.zeros(S(2, 1));
        var e = Assert.Throws<TorchException>(() => x.gather(1, floatIndex));
        Assert.StartsWith("gather:", e.Message);
        Assert.Contains("Expected dtype int64 for index", e.Message);

        using var logits = torch.randn(S(4, 3));
        using var floatTarget = torch.zeros(S(4, 3, 2));
        var e2 = Assert.Throws<TorchException>(() => F.cross_entropy(logits, floatTarget));
        Assert.StartsWith("cross_entropy:", e2.Message);

        using var img = torch.ones(S(1, 1, 4, 4), ScalarType.Int64);
        using var kf = torch.ones(S(1, 1, 3, 3));
        Assert.Contains("expected scalar type Long but found Float", Assert.Throws<TorchException>(() => F.conv2d(img, kf)).Message);

        Assert.Throws<ArgumentException>(() => x.data<decimal>());                  // no libtorch dtype for decimal
    }

    [Fact]
    public void A_disposed_tensor_cannot_be_used_again()
    {
        var t = torch.ones(S(3));
        t.Dispose();
        Assert.True(t.IsDisposed);
        var e = Assert.Throws<ObjectDisposedException>(() => t.sum());
        Assert.Contains("disposed", e.Message);
        Assert.Contains("MoveToOuterDisposeScope", e.Message);
        using var other = torch.ones(S(3));
        Assert.Throws<ObjectDisposedException>(() => other + t);                   // as an argument too
        Assert.Throws<ObjectDisposedException>(() => torch.cat(new[] { other, t }));
        Assert.Throws<ObjectDisposedException>(() => t.shape);
        Assert.Equal("Tensor(disposed)", t.ToString());
        t.Dispose();                                                               // disposing twice is harmless

        Tensor leaked;
        using (torch.NewDisposeScope()) leaked = torch.ones(S(2)) * 2;
        Assert.Throws<ObjectDisposedException>(() => leaked.item<float>());        // freed by its scope
    }

    [Fact]
    public void Out_of_range_indices_are_reported()
    {
        using var x = torch.arange(6).reshape(2, 3);
        using var idx = torch.tensor(new long[] { 0, 5 });
        var e = Assert.Throws<TorchException>(() => x.index_select(1, idx));
        Assert.StartsWith("index_select:", e.Message);
        Assert.Contains("out of DATA bounds", e.Message);

        using var gidx = torch.tensor(new long[] { 3, 0 }, S(2, 1));
        Assert.Contains("out of bounds", Assert.Throws<TorchException>(() => x.gather(1, gidx)).Message);

        using var table = torch.randn(S(4, 2));
        using var tokens = torch.tensor(new long[] { 1, 4 });
        Assert.Contains("out of range", Assert.Throws<TorchException>(() => F.embedding(tokens, table)).Message);

        using var labels = torch.tensor(new long[] { 0, 7 });                      // class 7 of 3
        using var logits = torch.randn(S(2, 3));
        Assert.Throws<TorchException>(() => F.cross_entropy(logits, labels));

        Assert.Throws<TorchException>(() => x.select(0, 2));
        Assert.Throws<TorchException>(() => x.sum(5L));
        Assert.Throws<IndexOutOfRangeException>(() => x[0, 3]);
        Assert.Throws<ArgumentOutOfRangeException>(() => x.size(2));
        Assert.Throws<TorchException>(() => x.transpose(0, 2));
    }

    [Fact]
    public void An_error_does_not_poison_later_calls_or_other_threads()
    {
        using var a = torch.ones(S(2));
        using var b = torch.ones(S(3));
        Assert.Throws<TorchException>(() => a + b);
        using var ok = a + a;                                                      // the same thread goes on normally
        Assert.Equal(new float[] { 2, 2 }, ok.data<float>());

        string? otherMessage = null;
        var thread = new Thread(() =>
        {
            using var c = torch.ones(S(4));
            using var d = torch.ones(S(5));
            try { using var _ = c * d; } catch (TorchException e) { otherMessage = e.Message; }
        });
        thread.Start();
        thread.Join();
        Assert.StartsWith("mul:", otherMessage);
        using var still = a * 3;
        Assert.Equal(new float[] { 3, 3 }, still.data<float>());
    }

    [Fact]
    public void Bad_arguments_to_modules_and_functions_are_explained()
    {
        using var conv = new Conv2d(3, 4, 3);
        using var x = torch.ones(S(1, 5, 8, 8));
        Assert.Contains("channels", Assert.Throws<TorchException>(() => conv.forward(x)).Message);
        Assert.Throws<ArgumentException>(() => new Conv2d(3, 4, 3, groups: 2));
        using var v = torch.ones(S(3, 4));
        Assert.Contains("(B, C, H, W)", Assert.Throws<ArgumentException>(() => F.interpolate(v, size: S(2, 2))).Message);
        using var img = torch.ones(S(1, 1, 4, 4));
        Assert.Throws<ArgumentException>(() => F.interpolate(img));
        Assert.Throws<ArgumentException>(() => F.interpolate(img, size: S(2, 2), scale_factor: 2));
        Assert.Throws<ArgumentException>(() => F.multilabel_soft_margin_loss(torch.ones(S(2, 3, 4)), torch.ones(S(2, 3, 4))));
        Assert.Throws<ArgumentException>(() => Device.Parse("tpu"));
        Assert.Throws<ArgumentOutOfRangeException>(() => torch.set_num_threads(0));
    }
}
