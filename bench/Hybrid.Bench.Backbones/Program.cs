// Forward and forward+backward time per image of every registered backbone at its default
// input size, on the CPU with 2 intra-op threads (the project's machines have 2 cores).
//
//   dotnet run -c Release --project bench/Hybrid.Bench.Backbones [-- name ...] [--batch N] [--seconds S]
//
// Forward: eval mode, no gradient. Forward+backward: train mode, loss = mean of the final
// feature, backward, gradients cleared. Batch 1 unless --batch is given (tiny_resnet: 32, its
// training batch). Each measurement: one warm-up pass, then passes until S seconds (default 8)
// and at least 3 passes; the median pass is reported.
using System.Diagnostics;
using Hybrid.Torch;
using Hybrid.Vision.Backbones;

var names = new List<string>();
int? batchArg = null;
var seconds = 8.0;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--batch") batchArg = int.Parse(args[++i]);
    else if (args[i] == "--seconds") seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    else names.Add(args[i]);
}
if (names.Count == 0) names.AddRange(BackboneRegistry.Names);

torch.set_num_threads(2);
Console.WriteLine($"libtorch {torch.version}, {torch.get_num_threads()} threads, BLAS: {torch.blas_in_use()}");
Console.WriteLine($"{"backbone",-13} {"params",11} {"input",9} {"batch",5} {"fwd ms/img",11} {"fwd+bwd ms/img",15}");

foreach (var name in names)
{
    var spec = BackboneRegistry.Spec(name);
    var batch = batchArg ?? (name == "tiny_resnet" ? 32 : 1);
    var side = spec.DefaultInputSize;
    torch.manual_seed(0);
    using var model = BackboneRegistry.Create(name);
    using var x = torch.randn(new long[] { batch, 3, side, side });

    double Measure(Action pass)
    {
        pass();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < 3 || total.Elapsed.TotalSeconds < seconds)
        {
            var sw = Stopwatch.StartNew();
            pass();
            times.Add(sw.Elapsed.TotalMilliseconds);
            if (times.Count >= 200) break;
        }
        times.Sort();
        return times[times.Count / 2] / batch;
    }

    model.eval();
    var fwd = Measure(() =>
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        using var f = model.forward(x);
    });
    model.train();
    var fwdBwd = Measure(() =>
    {
        using var scope = torch.NewDisposeScope();
        using var f = model.forward(x);
        var loss = f.Final.mean();
        loss.backward();
        model.zero_grad();
    });
    Console.WriteLine($"{name,-13} {model.parameter_count(),11:N0} {side + "x" + side,9} {batch,5} {fwd,11:F1} {fwdBwd,15:F1}");
}
