using Hybrid.Torch.Modules;
using Hybrid.Torch.Optim;
using Xunit.Abstractions;
using static Hybrid.Torch.Tests.Data;
using F = Hybrid.Torch.torch.nn.functional;

namespace Hybrid.Torch.Tests;

/// <summary>Dispose scopes keep a long training run's native memory flat.</summary>
public class MemoryTests(ITestOutputHelper output)
{
    /// <summary>conv(1->4, 3x3) -> BN -> ReLU -> global average pool -> linear(4->3).</summary>
    private sealed class Tiny : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv;
        private readonly BatchNorm2d bn;
        private readonly Linear fc;

        public Tiny()
        {
            conv = RegisterModule("conv", new Conv2d(1, 4, 3, padding: 1));
            bn = RegisterModule("bn", new BatchNorm2d(4));
            fc = RegisterModule("fc", new Linear(4, 3));
        }

        public override Tensor forward(Tensor x)                                  // (B, 1, H, W)
        {
            var h = bn.forward(conv.forward(x)).relu();                            // (B, 4, H, W)
            return fc.forward(h.mean(new long[] { 2, 3 }));                        // (B, 3)
        }
    }

    private static long RssKiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:"))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        throw new InvalidOperationException("no VmRSS in /proc/self/status");
    }

    private const int Steps = 10_000;
    private const int Warmup = 500;
    private const int RssEvery = 250;
    /// <summary>Bound on the RSS trend over the 9,500 measured steps: the Theil-Sen slope (median
    /// of pairwise slopes, so a one-off jump of the test host does not count) times the steps.
    /// A leak of one small tensor per step (about 1 KiB with its bookkeeping) would give ~10 MiB.</summary>
    private const double TrendBoundKiB = 4 * 1024;
    /// <summary>Bound on any RSS excursion above the post-warm-up level (a burst, not a trend).</summary>
    private const long ExcursionBoundKiB = 32 * 1024;

    [Fact]
    public void Ten_thousand_training_steps_keep_live_tensors_flat_and_rss_bounded()
    {
        torch.manual_seed(3);
        using var model = new Tiny();
        using var opt = new SGD(model.parameters(), lr: 0.05, momentum: 0.9);
        using var x = torch.randn(S(4, 1, 4, 4));                                  // (B, 1, H, W)
        using var y = torch.tensor(new long[] { 0, 1, 2, 0 });

        long baseline = -1, minLive = long.MaxValue, maxLive = long.MinValue;
        var rss = new List<(int Step, long KiB)>();
        double firstLoss = 0, lastLoss = 0;
        for (var step = 0; step < Steps; step++)
        {
            using (torch.NewDisposeScope())
            {
                opt.zero_grad();
                var loss = F.cross_entropy(model.forward(x), y);
                loss.backward();
                opt.step();
                if (step == 0) firstLoss = loss.item<double>();
                if (step == Steps - 1) lastLoss = loss.item<double>();
            }
            if (step + 1 == Warmup)
            {
                // Tensors other tests left to the finalizer must not leave the count mid-run.
                GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
                baseline = Tensor.LiveCount;
            }
            if (step + 1 >= Warmup)
            {
                var live = Tensor.LiveCount;
                minLive = Math.Min(minLive, live);
                maxLive = Math.Max(maxLive, live);
                if ((step + 1 - Warmup) % RssEvery == 0 || step + 1 == Steps)
                {
                    GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
                    rss.Add((step + 1, RssKiB()));
                }
            }
        }

        var slopes = new List<double>();                                           // KiB per step
        for (var i = 0; i < rss.Count; i++)
            for (var j = i + 1; j < rss.Count; j++)
                slopes.Add((double)(rss[j].KiB - rss[i].KiB) / (rss[j].Step - rss[i].Step));
        slopes.Sort();
        var trend = slopes[slopes.Count / 2] * (Steps - Warmup);
        var excursion = rss.Max(r => r.KiB) - rss[0].KiB;
        output.WriteLine($"live tensors after warm-up {baseline} (min {minLive}, max {maxLive}); VmRSS {rss[0].KiB} -> {rss[^1].KiB} KiB, " +
                         $"trend {trend:F0} KiB over {Steps - Warmup} steps, largest excursion {excursion} KiB; loss {firstLoss:F4} -> {lastLoss:F4}");

        Assert.Equal(baseline, minLive);                                           // exactly flat after warm-up
        Assert.Equal(baseline, maxLive);
        Assert.True(trend < TrendBoundKiB, $"RSS trend {trend:F0} KiB over {Steps - Warmup} steps (bound {TrendBoundKiB} KiB): native memory leaks");
        Assert.True(excursion < ExcursionBoundKiB, $"RSS rose {excursion} KiB above its post-warm-up level (bound {ExcursionBoundKiB} KiB)");
        Assert.True(lastLoss < firstLoss * 0.5, $"the model did not train: loss {firstLoss} -> {lastLoss}");
    }

    [Fact]
    public void Scopes_free_temporaries_and_keep_what_is_moved_out()
    {
        var before = Tensor.LiveCount;
        Tensor kept;
        using (var scope = torch.NewDisposeScope())
        {
            using var a = torch.ones(S(3));
            var b = a * 2;
            var c = (b + 1).sum();
            kept = c.MoveToOuterDisposeScope();
            Assert.True(scope.Count >= 1);
            Assert.False(b.IsDisposed);
        }
        Assert.False(kept.IsDisposed);
        Assert.Equal(9f, kept.item<float>());
        Assert.Equal(before + 1, Tensor.LiveCount);
        kept.Dispose();
        Assert.Equal(before, Tensor.LiveCount);

        // Nested: moving out of the inner scope lands in the outer one, which frees it.
        Tensor inner;
        using (torch.NewDisposeScope())
        {
            using (torch.NewDisposeScope()) inner = torch.zeros(S(2)).MoveToOuterDisposeScope();
            Assert.False(inner.IsDisposed);
        }
        Assert.True(inner.IsDisposed);
        Assert.Equal(before, Tensor.LiveCount);
    }
}
