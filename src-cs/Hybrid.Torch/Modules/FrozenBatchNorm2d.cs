using TorchSharp.Modules;

namespace Hybrid.Torch.Modules;

/// <summary>
/// Batch norm that always normalises with its running statistics and trains nothing: the
/// backbones' norm for small-batch fine-tuning of pretrained networks (the papers' ResNet-38 and
/// DeepLab recipes freeze BN). Its state-dict keys equal BatchNorm2d's (weight, bias,
/// running_mean, running_var, num_batches_tracked), so either loads the other's weights.
/// </summary>
public sealed class FrozenBatchNorm2d : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight, bias;
    private readonly Tensor running_mean, running_var, num_batches_tracked;

    public double eps { get; }
    public long num_features { get; }

    public FrozenBatchNorm2d(long num_features, double eps = 1e-5) : base(nameof(FrozenBatchNorm2d))
    {
        this.num_features = num_features;
        this.eps = eps;
        weight = new Parameter(torch.ones(num_features), requires_grad: false);
        bias = new Parameter(torch.zeros(num_features), requires_grad: false);
        running_mean = torch.zeros(num_features);
        running_var = torch.ones(num_features);
        num_batches_tracked = torch.zeros(Array.Empty<long>(), ScalarType.Int64);
        register_parameter(nameof(weight), weight);
        register_parameter(nameof(bias), bias);
        register_buffer(nameof(running_mean), running_mean);
        register_buffer(nameof(running_var), running_var);
        register_buffer(nameof(num_batches_tracked), num_batches_tracked);
    }

    public override Tensor forward(Tensor x)                                    // (B, C, H, W)
    {
        using var scope = torch.NewDisposeScope();
        var scale = weight * (running_var + eps).rsqrt();                       // (C)
        var shift = bias - running_mean * scale;                                // (C)
        return (x * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1)).MoveToOuterDisposeScope();
    }

    /// <summary>Frozen stays frozen: requires_grad is never switched back on.</summary>
    public override void train(bool on = true)
    {
        base.train(on);
        weight.requires_grad = false;
        bias.requires_grad = false;
    }
}

/// <summary>Norm layers by role.</summary>
public static class Norms
{
    /// <summary>A 2-d batch norm: trainable (TorchSharp's BatchNorm2d) or frozen.</summary>
    public static nn.Module<Tensor, Tensor> BatchNorm2d(long channels, bool frozen, double eps = 1e-5, double momentum = 0.1) =>
        frozen ? new FrozenBatchNorm2d(channels, eps) : nn.BatchNorm2d(channels, eps, momentum);
}
