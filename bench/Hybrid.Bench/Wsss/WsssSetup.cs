using Hybrid.Bench.Torch;
using Hybrid.Data;
using Hybrid.Torch.Optim;
using Hybrid.Vision.Backbones;
using Hybrid.Wsss.Training;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using Host = Hybrid.Wsss.Host;
using WsssBatch = Hybrid.Wsss.Batch;

namespace Hybrid.Bench.Wsss;

/// <summary>
/// What the method benchmarks share: the environment of the default CPU configuration
/// (tiny_resnet from scratch, 96 px, 10 classes), a fixed random batch, and the body of one
/// step of the training loop (Hybrid.Wsss.Training.Train.run without its logging and
/// checkpoints). The python twins (bench/python/bench_wsss.py) build the same batch.
/// </summary>
internal static class WsssSetup
{
    public const int Classes = 10;
    public const int Side = 96;
    public const string Backbone = "tiny_resnet";

    public static MethodEnv Env(int steps) => new(
        Classes, Enumerable.Range(0, Classes).Select(i => $"class{i}").ToArray(), Backbone, BackboneOptions.Default,
        torch.CPU, Side, steps, 0, FSharpOption<SegmentationDataset>.None);

    /// <summary>Multi-hot labels (B, K): image i holds class i mod K and, unless i is a multiple
    /// of 3, also class (3i + 1) mod K (bench_wsss.py's labels()).</summary>
    public static Tensor Labels(int batch)
    {
        var l = new float[batch * Classes];
        for (var i = 0; i < batch; i++)
        {
            l[i * Classes + i % Classes] = 1;
            if (i % 3 != 0) l[i * Classes + (3 * i + 1) % Classes] = 1;
        }
        return torch.tensor(l, new long[] { batch, Classes });                // (B, K)
    }

    /// <summary>A batch of normal noise images (B, 3, 96, 96) (already "normalised") with the
    /// labels above; with a strong view (another noise draw) for CoSA. Seeded.</summary>
    public static WsssBatch RandomBatch(int batch, bool strong)
    {
        torch.manual_seed(1);
        var images = torch.randn(new long[] { batch, 3, Side, Side });      // (B, 3, H, W)
        var strongView = strong ? FSharpOption<Tensor>.Some(torch.randn(new long[] { batch, 3, Side, Side })) : FSharpOption<Tensor>.None;
        return new WsssBatch(Enumerable.Range(0, batch).Select(i => $"bench_{i}").ToArray(), images, Labels(batch),
            FSharpOption<Tensor>.None, FSharpOption<Tensor>.None, strongView,
            FSharpOption<Tensor>.None); // no padding: the noise fills the whole image, as in the twin
    }

    public static void Dispose(WsssBatch b)
    {
        b.Images.Dispose();
        b.Labels.Dispose();
        if (FSharpOption<Tensor>.get_IsSome(b.Strong)) b.Strong.Value.Dispose();
    }

    public static Optimizer Optimizer(Recipe recipe, Method m) =>
        OptimizerKindModule.create(recipe.Optimizer, m.Groups, recipe.Lr);

    /// <summary>One step as Train.run does it: a dispose scope; the method's named losses, each
    /// read back (Host.item, the loop logs them and checks they are finite); their sum; zero_grad,
    /// backward, the optimizer step and the method's AfterStep (CoSA's EMA update).
    /// Returns the named loss values.</summary>
    public static List<(string Name, double Value)> Step(Method m, Optimizer opt, StepContext ctx, WsssBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        FSharpList<Tuple<string, Tensor>> losses = FSharpFunc<StepContext, WsssBatch>.InvokeFast(m.Step, ctx, batch);
        Tensor? total = null;
        var values = new List<(string, double)>();
        foreach (var (name, t) in losses)
        {
            var v = Host.item<double>(t);
            if (double.IsNaN(v) || double.IsInfinity(v)) throw new InvalidOperationException($"loss term '{name}' is {v}");
            values.Add((name, v));
            total = total is null ? t : total + t;
        }
        if (total is null) throw new InvalidOperationException($"method {m.Name} returned no loss");
        opt.zero_grad();
        total.backward();
        opt.step();
        m.AfterStep.Invoke(ctx);
        return values;
    }

    /// <summary>The method benchmarks' common body: checks the trainable-parameter count the
    /// twin expects, times <c>samples</c> steps (after <c>warmup</c>) from <c>firstStep</c> of
    /// a <c>total</c>-step run on the fixed random batch, and records the context, the last
    /// step's losses and the page faults per step.</summary>
    public static BenchResult TimeSteps(string name, BenchOptions o, int samples, int warmup, Recipe recipe, Method m,
                                        long expectedParameters, int firstStep, int total, bool strong,
                                        Action<Dictionary<string, string>>? describe = null)
    {
        const int batchSize = 16;
        using var opt = Optimizer(recipe, m);
        var batch = RandomBatch(batchSize, strong);
        var info = TorchInfo.Of(o.Threads);
        Describe(info, recipe, m, batchSize);
        describe?.Invoke(info);
        if (info["parameters"] != expectedParameters.ToString())
            throw new InvalidOperationException($"{name}: the model has {info["parameters"]} trainable parameters, the twin expects {expectedParameters}");
        Console.Error.WriteLine($"{name}: {info["parameters"]} trainable parameters");
        m.Model.train();
        var last = new List<(string, double)>();
        var step = firstStep;
        var timing = Sampler.Time(warmup, samples, () =>
        {
            last = Step(m, opt, new StepContext(step, total), batch);
            step++;
        });
        Dispose(batch);
        info["last_step_losses"] = Format(last);
        timing.Describe(info);
        return new BenchResult(name, "ms/step", timing.Wall, timing.Cpu, info);
    }

    /// <summary>"name=value, ..." of a step's losses (recorded so both sides show every term ran).</summary>
    public static string Format(IEnumerable<(string Name, double Value)> losses) =>
        string.Join(", ", losses.Select(l => $"{l.Name}={l.Value.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)}"));

    /// <summary>Registry facts of the benchmarked configuration, recorded beside the timings.</summary>
    public static void Describe(Dictionary<string, string> info, Recipe recipe, Method m, int batch)
    {
        info["parameters"] = m.Model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()).ToString();
        info["optimizer"] = recipe.Optimizer.ToString().Replace('\n', ' ');
        info["lr"] = recipe.Lr.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info["batch"] = $"{batch}x3x{Side}x{Side}";
        info["backbone"] = Backbone;
        info["images_per_sample"] = batch.ToString();
    }
}
