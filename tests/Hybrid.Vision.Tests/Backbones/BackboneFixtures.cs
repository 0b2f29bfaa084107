using System.Text.Json;
using Hybrid.Torch;
using Hybrid.Torch.Modules;

namespace Hybrid.Vision.Tests.Backbones;

/// <summary>The committed fixtures of Fixtures/Backbones (written by its make_fixtures.py with
/// Debian's python3-torch 1.13 and python3-torchvision 0.14) and the deterministic weights
/// that script's `fill` gives, reproduced here.</summary>
internal static class BackboneFixtures
{
    public static string Dir { get; } = Locate();

    private static string Locate()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "Fixtures", "Backbones");
            if (Directory.Exists(candidate)) return candidate;
            candidate = Path.Combine(d.FullName, "tests", "Hybrid.Vision.Tests", "Fixtures", "Backbones");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"Fixtures/Backbones not found above {AppContext.BaseDirectory}");
    }

    public static string PathOf(string file) => Path.Combine(Dir, file);

    private static readonly Lazy<JsonDocument> keys = new(() => JsonDocument.Parse(File.ReadAllText(PathOf("keys.json"))));
    private static readonly Lazy<JsonDocument> goldens = new(() => JsonDocument.Parse(File.ReadAllText(PathOf("goldens.json"))));

    public static JsonElement Goldens => goldens.Value.RootElement;

    /// <summary>Reference (key, shape) list of a backbone's full PyTorch state dict (classifier included).</summary>
    public static List<(string Key, long[] Shape)> ReferenceKeys(string backbone) =>
        keys.Value.RootElement.GetProperty(backbone).EnumerateArray()
            .Select(e => (e[0].GetString()!, e[1].EnumerateArray().Select(x => x.GetInt64()).ToArray())).ToList();

    /// <summary>make_fixtures.py's `fill`: tensor j of the ordinal-sorted reference keys gets
    /// base = sin(0.7 i + 1.3 j) in float64, then a per-kind affine map, cast to float32.</summary>
    public static void Fill(Module model, IEnumerable<string> referenceKeys)
    {
        var sorted = referenceKeys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        var sd = model.state_dict();
        using var _ = torch.no_grad();
        for (var j = 0; j < sorted.Count; j++)
        {
            var k = sorted[j];
            if (k.EndsWith("num_batches_tracked") || !sd.TryGetValue(k, out var t)) continue;
            using var scope = torch.NewDisposeScope();
            var n = t.numel();
            var b = (torch.arange(0, n, 1, ScalarType.Float64) * 0.7 + 1.3 * j).sin().reshape(t.shape);
            var leaf = k[(k.LastIndexOf('.') + 1)..];
            Tensor v;
            if (leaf == "running_var") v = 1 + 0.5 * b * b;
            else if (leaf == "running_mean") v = 0.1 * b;
            else if (leaf is "cls_token" or "pos_embed") v = 0.1 * b;
            else if (t.dim() == 1 && leaf == "weight") v = 1 + 0.2 * b;
            else if (t.dim() == 1) v = 0.1 * b;
            else
            {
                var s = t.shape;
                long fanIn = s[1];
                for (var i = 2; i < s.Length; i++) fanIn *= s[i];
                v = b * 2 / Math.Sqrt(fanIn);
            }
            t.copy_(v.to(t.dtype));
        }
    }

    /// <summary>make_fixtures.py's golden_input: sin(0.11 i + 0.5), (B, 3, H, W).</summary>
    public static Tensor GoldenInput(long b, long h, long w)
    {
        using var a = torch.arange(0, b * 3 * h * w, 1, ScalarType.Float64);
        using var s = (a * 0.11 + 0.5).sin();
        using var r = s.reshape(b, 3, h, w);
        return r.to(ScalarType.Float32);
    }
}
