using TorchSharp.Modules;
using F = TorchSharp.torch.nn.functional;

namespace Hybrid.Bench.Torch;

/// <summary>
/// One training step of a small conv-BN-ReLU network on a (16, 3, 64, 64) float32 batch:
/// zero_grad, forward, cross-entropy over 10 classes, backward, SGD step (lr 0.01, momentum
/// 0.9, weight decay 1e-4; TorchSharp's torch.optim.SGD, whose zero_grad zeroes the gradients
/// as PyTorch 1.13's does), inside a dispose scope. The network (identical in the twin
/// bench/python/bench_torch.py step):
///   conv3x3(3->32)        BN ReLU   (16, 32, 64, 64)
///   conv3x3(32->64, s2)   BN ReLU   (16, 64, 32, 32)
///   conv3x3(64->64)       BN ReLU   (16, 64, 32, 32)
///   conv3x3(64->128, s2)  BN ReLU   (16, 128, 16, 16)
///   global average pool, linear(128->10)
/// Convolutions have padding 1 and no bias (BN follows).
/// </summary>
public sealed class TorchTrainStep : IBenchmark
{
    /// <summary>4 convolutions (3x3x(3x32 + 32x64 + 64x64 + 64x128) = 129,888) + BN (2 x 288) + linear 1,290.</summary>
    public const long ExpectedParameters = 131_754;

    public string Name => "torch-step";
    public string Description => "ms per training step of a 4-layer conv-BN-ReLU net, batch 16 x 3 x 64 x 64";

    internal sealed class Net : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential features;
        private readonly Linear fc;

        private static IEnumerable<nn.Module<Tensor, Tensor>> Block(long cin, long cout, long stride) =>
        [
            nn.Conv2d(cin, cout, 3, stride: stride, padding: 1, bias: false), nn.BatchNorm2d(cout), nn.ReLU(),
        ];

        public Net() : base(nameof(Net))
        {
            features = nn.Sequential(Block(3, 32, 1).Concat(Block(32, 64, 2)).Concat(Block(64, 64, 1)).Concat(Block(64, 128, 2)));
            register_module("features", features);
            fc = nn.Linear(128, 10);
            register_module("fc", fc);
        }

        public override Tensor forward(Tensor x)                                   // (B, 3, 64, 64)
        {
            using var h = features.forward(x);                                     // (B, 128, 16, 16)
            using var pooled = h.mean(new long[] { 2, 3 });                        // (B, 128)
            return fc.forward(pooled);                                             // (B, 10)
        }
    }

    public BenchResult Run(BenchOptions o)
    {
        torch.set_num_threads(o.Threads);
        var samples = o.SamplesOr(20);
        var warmup = o.WarmupOr(3);
        torch.manual_seed(0);
        using var net = new Net();
        var parameters = net.parameters().Sum(p => p.numel());
        if (parameters != ExpectedParameters)
            throw new InvalidOperationException($"torch-step: the net has {parameters} parameters, the twin expects {ExpectedParameters}");
        using var opt = torch.optim.SGD(net.parameters(), 0.01, momentum: 0.9, weight_decay: 1e-4);
        using var x = torch.randn(16, 3, 64, 64);                                 // (B, 3, 64, 64)
        using var y = torch.randint(0, 10, new long[] { 16 });                    // (B)
        var timing = Sampler.Time(warmup, samples, () =>
        {
            using var scope = torch.NewDisposeScope();
            opt.zero_grad();
            var loss = F.cross_entropy(net.forward(x), y);                         // ()
            loss.backward();
            opt.step();
        });
        var info = TorchInfo.Of(o.Threads);
        info["parameters"] = parameters.ToString();
        timing.Describe(info);
        return new BenchResult(Name, "ms/step", timing.Wall, timing.Cpu, info);
    }
}
