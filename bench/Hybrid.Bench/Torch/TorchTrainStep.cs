using Hybrid.Torch;
using Hybrid.Torch.Modules;
using Hybrid.Torch.Optim;
using F = Hybrid.Torch.torch.nn.functional;

namespace Hybrid.Bench.Torch;

/// <summary>
/// One training step of a small conv-BN-ReLU network on a (16, 3, 64, 64) float32 batch:
/// zero_grad, forward, cross-entropy over 10 classes, backward, SGD step (lr 0.01, momentum
/// 0.9, weight decay 1e-4), inside a dispose scope. The network (identical in the twin
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
    public string Name => "torch-step";
    public string Description => "ms per training step of a 4-layer conv-BN-ReLU net, batch 16 x 3 x 64 x 64";

    internal sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Sequential features;
        private readonly Linear fc;

        private static IEnumerable<Module<Tensor, Tensor>> Block(long cin, long cout, long stride) => new Module<Tensor, Tensor>[]
        {
            new Conv2d(cin, cout, 3, stride: stride, padding: 1, bias: false), new BatchNorm2d(cout), new ReLU(),
        };

        public Net()
        {
            features = RegisterModule("features", new Sequential(
                Block(3, 32, 1).Concat(Block(32, 64, 2)).Concat(Block(64, 64, 1)).Concat(Block(64, 128, 2)).ToArray()));
            fc = RegisterModule("fc", new Linear(128, 10));
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
        using var opt = new SGD(net.parameters(), lr: 0.01, momentum: 0.9, weight_decay: 1e-4);
        using var x = torch.randn(new long[] { 16, 3, 64, 64 });
        using var y = torch.randint(0, 10, new long[] { 16 });
        var timing = Sampler.Time(warmup, samples, () =>
        {
            using var scope = torch.NewDisposeScope();
            opt.zero_grad();
            var loss = F.cross_entropy(net.forward(x), y);
            loss.backward();
            opt.step();
        });
        var info = TorchInfo.Of(o.Threads);
        info["parameters"] = net.parameter_count().ToString();
        timing.Describe(info);
        return new BenchResult(Name, "ms/step", timing.Wall, timing.Cpu, info);
    }
}
