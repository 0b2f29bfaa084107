using Hybrid.Torch.Modules;
using Hybrid.Torch.Optim;
using Hybrid.Torch.Serialization;
using static Hybrid.Torch.Tests.Data;

namespace Hybrid.Torch.Tests;

/// <summary>Modules: state-dict keys and loading reports, train/eval, batch-norm statistics,
/// Sequential, dtype moves, and a torchvision-style `.pth` written by PyTorch.</summary>
public class ModuleTests
{
    private static string[] PyTorchKeys() =>
        Reference.Root.GetProperty("tiny_resnet").GetProperty("keys").EnumerateArray().Select(k => k.GetString()!).ToArray();

    [Fact]
    public void State_dict_keys_match_pytorch_in_name_and_order()
    {
        using var m = new TinyResNet();
        Assert.Equal(PyTorchKeys(), m.state_dict().Keys.ToArray());
        Assert.Equal("layer1.0.bn1.running_var", m.state_dict().Keys.ElementAt(10));
        Assert.Equal(ScalarType.Int64, m.state_dict()["bn1.num_batches_tracked"].dtype);
        Assert.Equal(4 * 3 * 9 + 4 * 4 * 9 + 2 * (4 + 4) + 3 * 4 + 3, m.parameter_count());
    }

    [Fact]
    public void A_pytorch_state_dict_pth_loads_and_the_model_computes_what_pytorch_computed()
    {
        var fx = Reference.Root.GetProperty("tiny_resnet");
        var sd = PyTorchFile.Load(Reference.PathOf("tiny_resnet_state.pth"));
        try
        {
            Assert.Equal(PyTorchKeys().OrderBy(k => k), sd.Keys.OrderBy(k => k));
            foreach (var (k, t) in sd)
                Close.Equal(fx.GetProperty("state").GetProperty(k), t, 0, 0, $"tensor '{k}' read from the .pth");
            Assert.Equal(7L, sd["bn1.num_batches_tracked"].item<long>());

            using var m = new TinyResNet();
            var report = m.load_state_dict(sd);
            Assert.True(report.IsClean, report.ToString());
            m.eval();
            using var x = Reference.ToTensor(fx.GetProperty("input"));            // (2, 3, 6, 6) float32
            using var y = m.forward(x);                                            // (2, 3)
            Close.Equal(fx.GetProperty("output"), y, 1e-5, 1e-4, $"TinyResNet output [{fx.GetProperty("source").GetString()}]");
        }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    [Fact]
    public void A_training_checkpoint_pth_flattens_to_dotted_keys_and_skips_non_tensors()
    {
        // {"model": sd, "optimizer": SGD state (integer keys), "epoch": 3, "best_acc": 0.5,
        //  "args": argparse.Namespace(...)}: numbers and the Namespace carry no tensor and are skipped.
        var fx = Reference.Root.GetProperty("tiny_resnet");
        var sd = PyTorchFile.Load(Reference.PathOf("tiny_resnet_nested.pth"));
        try
        {
            var expected = fx.GetProperty("nested_keys").EnumerateArray().Select(k => k.GetString()!).ToArray();
            Assert.Equal(expected.OrderBy(k => k), sd.Keys.OrderBy(k => k));
            Assert.Contains("optimizer.state.0.momentum_buffer", sd.Keys);
            Close.Equal(fx.GetProperty("nested_momentum_0"), sd["optimizer.state.0.momentum_buffer"], 0, 0, "momentum buffer 0");
            using var m = new TinyResNet();
            var inner = sd.Where(kv => kv.Key.StartsWith("model.")).ToDictionary(kv => kv.Key["model.".Length..], kv => kv.Value);
            Assert.True(m.load_state_dict(inner).IsClean);
            using var fcw = Reference.ToTensor(fx.GetProperty("state").GetProperty("fc.weight"));
            Assert.True(m.fc.weight.equal(fcw));
        }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    [Fact]
    public void A_legacy_format_pth_reads_the_same_tensors()
    {
        var zip = PyTorchFile.Load(Reference.PathOf("tiny_resnet_state.pth"));
        var legacy = PyTorchFile.Load(Reference.PathOf("tiny_resnet_legacy.pth"));
        try
        {
            Assert.Equal(zip.Keys.OrderBy(k => k), legacy.Keys.OrderBy(k => k));
            foreach (var k in zip.Keys)
            {
                Assert.Equal(zip[k].dtype, legacy[k].dtype);
                Assert.True(zip[k].equal(legacy[k]), $"'{k}' differs between the zip and legacy files");
            }
        }
        finally { foreach (var t in zip.Values.Concat(legacy.Values)) t.Dispose(); }
    }

    [Fact]
    public void Load_state_dict_reports_missing_unexpected_and_misshaped_keys()
    {
        using var src = new TinyResNet();
        using var dst = new TinyResNet();
        var sd = new Dictionary<string, Tensor>(src.state_dict());
        sd.Remove("fc.bias");
        using var extra = torch.zeros(S(2));
        sd["head.weight"] = extra;
        using var wrong = torch.zeros(S(5, 4));
        sd["fc.weight"] = wrong;

        var ex = Assert.Throws<InvalidOperationException>(() => dst.load_state_dict(sd));
        Assert.Contains("1 missing: fc.bias", ex.Message);
        Assert.Contains("1 unexpected: head.weight", ex.Message);
        Assert.Contains("fc.weight model [3,4] file [5,4]", ex.Message);
        Assert.False(dst.conv1.weight.equal(src.conv1.weight));                    // strict: nothing copied

        var report = dst.load_state_dict(sd, strict: false);
        Assert.Equal(new[] { "fc.bias" }, report.Missing);
        Assert.Equal(new[] { "head.weight" }, report.Unexpected);
        Assert.Single(report.Mismatched);
        Assert.Equal(new long[] { 3, 4 }, report.Mismatched[0].Expected);
        Assert.Equal(new long[] { 5, 4 }, report.Mismatched[0].Found);
        Assert.False(report.IsClean);
        Assert.True(dst.conv1.weight.equal(src.conv1.weight));                     // the matching keys were copied
        Assert.False(dst.fc.weight.equal(src.fc.weight));
    }

    [Fact]
    public void Train_and_eval_reach_every_child()
    {
        using var m = new TinyResNet();
        Assert.All(m.named_modules(), x => Assert.True(x.module.training));
        m.eval();
        Assert.All(m.named_modules(), x => Assert.False(x.module.training, x.name));
        Assert.Contains(m.named_modules(), x => x.name == "layer1.0.bn1");
        m.train();
        Assert.True(((TinyResNet.Block)m.layer1[0]).bn1.training);
    }

    [Fact]
    public void BatchNorm2d_updates_running_stats_in_training_as_pytorch()
    {
        var c = Reference.Case("batch_norm_train");                               // momentum 0.1, eps 1e-5
        using var bn = new BatchNorm2d(4);
        bn.to(ScalarType.Float64);
        using (torch.no_grad())
        using (var rm = c.In("rm")) using (var rv = c.In("rv")) using (var w = c.In("w")) using (var b = c.In("b"))
        {
            bn.running_mean.copy_(rm); bn.running_var.copy_(rv); bn.weight.copy_(w); bn.bias.copy_(b);
        }
        using var x = c.In("x");
        using var y = bn.forward(x);
        c.Check(y, 0);
        c.Check(bn.running_mean, 1);
        c.Check(bn.running_var, 2);
        Assert.Equal(1L, bn.num_batches_tracked.item<long>());
        Assert.Equal(ScalarType.Int64, bn.num_batches_tracked.dtype);

        // Eval: running statistics are used and left alone.
        bn.eval();
        var before = bn.running_mean.data<double>();
        using var y2 = bn.forward(x);
        Assert.Equal(before, bn.running_mean.data<double>());
        Assert.Equal(1L, bn.num_batches_tracked.item<long>());
        using var mean = bn.running_mean.view(1, 4, 1, 1);
        using var var = bn.running_var.view(1, 4, 1, 1);
        using var expected = (x - mean) / (var + 1e-5).sqrt() * bn.weight.view(1, 4, 1, 1) + bn.bias.view(1, 4, 1, 1);
        Assert.True(y2.allclose(expected, 1e-10, 1e-12));
    }

    [Fact]
    public void Sequential_names_children_by_position_and_composes_them()
    {
        using var seq = new Sequential(new Conv2d(2, 3, 3, padding: 1), new BatchNorm2d(3), new ReLU(), new AdaptiveAvgPool2d(1));
        Assert.Equal(new[] { "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked" }, seq.state_dict().Keys);
        Assert.Equal(4, seq.Count);
        seq.eval();
        using var x = Normal(S(2, 2, 5, 5), 40).to(ScalarType.Float32);
        using var y = seq.forward(x);                                              // (2, 3, 1, 1)
        using var scope = torch.NewDisposeScope();
        var manual = seq[3].forward(seq[2].forward(seq[1].forward(seq[0].forward(x))));
        Assert.Equal(new long[] { 2, 3, 1, 1 }, y.shape);
        Assert.True(y.equal(manual));
        seq.append(new Identity());
        Assert.Equal(5, seq.Count);
    }

    [Fact]
    public void To_dtype_casts_floating_tensors_and_keeps_identity_for_optimizers()
    {
        using var m = new TinyResNet();
        using var opt = new SGD(m.parameters(), lr: 0.1);
        var w = m.conv1.weight;
        m.to(ScalarType.Float64);
        Assert.Same(w, m.conv1.weight);
        Assert.All(m.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        Assert.Equal(ScalarType.Float64, m.bn1.running_var.dtype);
        Assert.Equal(ScalarType.Int64, m.bn1.num_batches_tracked.dtype);           // integers stay integers
        Assert.True(m.conv1.weight.requires_grad);

        using var x = Normal(S(2, 3, 6, 6), 41);                                   // float64 input now fits
        var before = m.conv1.weight.data<double>();
        using (var y = m.forward(x)) using (var loss = y.pow(2).sum()) loss.backward();
        opt.step();                                                                // the optimizer still holds the moved parameters
        Assert.NotEqual(before, m.conv1.weight.data<double>());
    }

    [Fact]
    public void Dropout_is_identity_in_eval_and_drops_in_training()
    {
        using var d = new Dropout(0.5);
        using var x = torch.ones(S(1000));
        d.eval();
        using (var y = d.forward(x)) Assert.True(y.equal(x));
        d.train();
        using var yt = d.forward(x);
        var v = yt.data<float>();
        Assert.All(v, e => Assert.True(e == 0 || e == 2, $"{e}"));                 // kept values scaled by 1/(1-p)
        Assert.InRange(v.Count(e => e == 0), 350, 650);
    }
}
