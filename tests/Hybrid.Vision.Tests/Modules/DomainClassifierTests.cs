using Hybrid.Torch;
using static Hybrid.Vision.Tests.Modules.ModulesTestKit;
using F = Hybrid.Torch.torch.nn.functional;

namespace Hybrid.Vision.Tests.Modules;

public class DomainClassifierTests
{
    [Fact]
    public void Heads_produce_two_logits_per_pixel()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(121);
        using var multi = DomainClassifier.MultiHead(8, 4);
        using var single = DomainClassifier.SingleHead(8);
        var f = Randn(122, 2, 8, 3, 5);
        Assert.Equal(new long[] { 2, 4, 2, 3, 5 }, multi.forward(f).shape);
        Assert.Equal(new long[] { 2, 1, 2, 3, 5 }, single.forward(f).shape);
        Assert.Equal(4, multi.HeadCount);
        Assert.Contains(multi.named_parameters(), p => p.name == "trunk.0.weight" && p.parameter.shape.SequenceEqual(new long[] { 1024, 8, 1, 1 }));
        Assert.Contains(multi.named_parameters(), p => p.name == "trunk.3.weight" && p.parameter.shape.SequenceEqual(new long[] { 512, 1024, 1, 1 }));
        Assert.Contains(multi.named_parameters(), p => p.name == "heads.3.weight" && p.parameter.shape.SequenceEqual(new long[] { 2, 512, 1, 1 }));
    }

    [Fact]
    public void Class_c_pixels_train_only_head_c()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(131);
        using var d = DomainClassifier.MultiHead(6, 3);
        var f = Randn(132, 2, 6, 4, 4).requires_grad_();
        // Pixels of class 1 only (the rest unassigned), half source, half target.
        var headOf = torch.full(new long[] { 2, 4, 4 }, -1, ScalarType.Int64);
        headOf.slice(1, 0, 2).fill_(1);
        var domain = torch.zeros(new long[] { 2, 4, 4 }, ScalarType.Int64);
        domain.slice(2, 2, 4).fill_(DomainAdversarialLoss.Target);
        var labels = DomainAdversarialLoss.AssignHeads(domain, headOf, 3); // (2, 3, 4, 4)
        Assert.Equal(32, labels.select(1, 0).eq(DomainAdversarialLoss.Ignore).sum().item<long>());
        Assert.Equal(16, labels.select(1, 1).ne(DomainAdversarialLoss.Ignore).sum().item<long>());

        var logits = d.forward(f);                                        // (2, 3, 2, 4, 4)
        var loss = DomainAdversarialLoss.MultiHead(logits, labels);
        // Value: head 1's cross entropy summed over its 16 labelled pixels, over all 32 pixels.
        var expected = F.cross_entropy(logits.select(1, 1), labels.select(1, 1), ignore_index: DomainAdversarialLoss.Ignore, reduction: Reduction.Sum) / 32.0;
        Close(expected, loss, 1e-6, "loss value");
        loss.backward();
        for (var c = 0; c < 3; c++)
            foreach (var (name, p) in d.heads[c].named_parameters())
            {
                using var g = p.grad!;
                var total = g.abs().sum().ToDouble();
                if (c == 1) Assert.True(total > 0, $"head 1 {name} got no gradient");
                else Assert.True(total == 0, $"head {c} {name} got gradient {total} from class-1 pixels");
            }
        using var trunkGrad = d.trunk.parameters().First().grad!;
        Assert.True(trunkGrad.abs().sum().ToDouble() > 0);
        using var fg = f.grad!;
        Assert.True(fg.abs().sum().ToDouble() > 0, "the feature extractor gets the (reversed) gradient");
    }

    [Fact]
    public void Multi_head_loss_is_one_mean_over_pixels_each_judged_by_its_class_head()
    {
        // PLDA Eq. 5 (and its public code's reduction): Eq. 2's mean over the B h w pixels,
        // each labelled pixel's domain judged by the head of its class, unlabelled pixels 0.
        // Heads 0 and 2 own 8 and 4 of the 16 pixels, 4 are unassigned: the reference gathers
        // every pixel's logits from its own head, takes the cross entropy per pixel and
        // divides the sum by 16.
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(151);
        using var d = DomainClassifier.MultiHead(6, 3);
        var f = Randn(152, 1, 6, 4, 4);
        var headOf = torch.full(new long[] { 1, 4, 4 }, 0, ScalarType.Int64);
        headOf.slice(1, 2, 3).fill_(-1);                                  // third row: unassigned
        headOf.slice(1, 3, 4).fill_(2);                                   // last row: head 2
        var domain = torch.zeros(new long[] { 1, 4, 4 }, ScalarType.Int64);
        domain.slice(2, 0, 2).fill_(DomainAdversarialLoss.Target);
        var labels = DomainAdversarialLoss.AssignHeads(domain, headOf, 3);
        var logits = d.forward(f);                                        // (1, 3, 2, 4, 4)
        var loss = DomainAdversarialLoss.MultiHead(logits, labels);
        var idx = headOf.clamp_min(0).to(ScalarType.Int64).view(1, 1, 1, 4, 4).expand(1, 1, 2, 4, 4);
        var own = logits.gather(1, idx).squeeze(1);                       // (1, 2, 4, 4): each pixel's head
        var target = domain.masked_fill(headOf.eq(-1), 255);
        var perPixel = F.cross_entropy(own, target, ignore_index: 255, reduction: Reduction.None); // (1, 4, 4)
        Close(perPixel.sum() / 16.0, loss, 1e-6, "sum over the labelled pixels / all 16 pixels");
        // not the per-head means over their own pixels, summed over heads
        var perHeadSum = F.cross_entropy(logits.select(1, 0).slice(2, 0, 2), domain.slice(1, 0, 2))
                         + F.cross_entropy(logits.select(1, 2).slice(2, 3, 4), domain.slice(1, 3, 4));
        Assert.True(Math.Abs(perHeadSum.ToDouble() - loss.ToDouble()) > 0.1);
    }

    [Fact]
    public void Heads_from_cam_follow_the_argmax_and_mada_weights_by_probability()
    {
        using var scope = torch.NewDisposeScope();
        var cam = torch.tensor(new float[] { 0.9f, 0.1f, 0.2f, 0.8f }, new long[] { 1, 2, 1, 2 }); // (1, 2, 1, 2)
        var heads = DomainAdversarialLoss.HeadsFromCam(cam, torch.tensor(new[] { true, false }, new long[] { 1, 1, 2 }));
        Assert.Equal(new long[] { 0, -1 }, heads.data<long>());

        torch.manual_seed(141);
        using var d = DomainClassifier.MultiHead(5, 3);
        var f = Randn(142, 1, 5, 2, 3);
        var domain = torch.tensor(new long[] { 0, 0, 1, 1, 0, 255 }, new long[] { 1, 2, 3 });
        var probs = torch.zeros(new long[] { 1, 3, 2, 3 });
        probs.select(1, 1).fill_(0.25);
        probs.select(1, 2).fill_(0.75);                                   // head 0 has probability 0 everywhere
        var loss = DomainAdversarialLoss.Mada(d.forward(f), domain, probs);
        loss.backward();
        using var g0 = d.heads[0].weight.grad!;
        using var g2 = d.heads[2].weight.grad!;
        Assert.Equal(0.0, g0.abs().sum().ToDouble());
        Assert.True(g2.abs().sum().ToDouble() > 0);
        // Per-class masks: source wins where both are set; unmarked pixels are ignored.
        var srcM = torch.tensor(new[] { true, false, false, true }, new long[] { 1, 2, 1, 2 });
        var tgtM = torch.tensor(new[] { true, true, false, false }, new long[] { 1, 2, 1, 2 });
        Assert.Equal(new long[] { 0, 1, 255, 0 }, DomainAdversarialLoss.LabelsFromMasks(srcM, tgtM).data<long>());
        // DANN: the single head's cross entropy over the labelled pixels, over all 6 pixels.
        using var s = DomainClassifier.SingleHead(5);
        var lg = s.forward(f);
        Close(F.cross_entropy(lg.select(1, 0), domain, ignore_index: 255, reduction: Reduction.Sum) / 6.0, DomainAdversarialLoss.SingleHead(lg, domain), 1e-6, "DANN");
    }
}
