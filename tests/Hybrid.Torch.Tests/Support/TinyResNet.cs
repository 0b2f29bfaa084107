using Hybrid.Torch.Modules;

namespace Hybrid.Torch.Tests;

/// <summary>The C# twin of the fixture script's TinyResNet (same member names, so the same
/// state-dict keys as the torchvision-style `.pth` fixtures).</summary>
internal sealed class TinyResNet : Module<Tensor, Tensor>
{
    public sealed class Block : Module<Tensor, Tensor>
    {
        public readonly Conv2d conv1;
        public readonly BatchNorm2d bn1;

        public Block(long c)
        {
            conv1 = RegisterModule("conv1", new Conv2d(c, c, 3, padding: 1, bias: false));
            bn1 = RegisterModule("bn1", new BatchNorm2d(c));
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            var y = bn1.forward(conv1.forward(x)) + x;                            // (B, C, H, W)
            return y.relu().MoveToOuterDisposeScope();
        }
    }

    public readonly Conv2d conv1;
    public readonly BatchNorm2d bn1;
    public readonly Sequential layer1;
    public readonly Linear fc;

    public TinyResNet()
    {
        conv1 = RegisterModule("conv1", new Conv2d(3, 4, 3, padding: 1, bias: false));
        bn1 = RegisterModule("bn1", new BatchNorm2d(4));
        layer1 = RegisterModule("layer1", new Sequential(new Block(4)));
        fc = RegisterModule("fc", new Linear(4, 3));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = bn1.forward(conv1.forward(x)).relu();                              // (B, 4, H, W)
        h = layer1.forward(h);                                                     // (B, 4, H, W)
        return fc.forward(h.mean(new long[] { 2, 3 })).MoveToOuterDisposeScope(); // (B, 3)
    }
}
