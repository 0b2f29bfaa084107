namespace Hybrid.Vision.Backbones;

/// <summary>
/// timm's (and PyTorch's) trunc_normal_: values of N(mean, std^2) restricted to [a, b], drawn by
/// inverse-CDF sampling: u ~ U(2 Phi(a') - 1, 2 Phi(b') - 1) with a' = (a - mean) / std,
/// x = mean + std sqrt(2) erfinv(u), clamped to [a, b] against rounding. (TorchSharp 0.107's
/// nn.init.trunc_normal_ is not used: with std 0.02 it gives weights of magnitude up to 0.02
/// exactly, some of them NaN.)
/// </summary>
internal static class TruncatedNormal
{
    public static Tensor Fill(Tensor t, double std, double mean = 0, double a = -2, double b = 2)
    {
        if (!(std > 0) || !(a < b)) throw new ArgumentOutOfRangeException(nameof(std), $"truncated normal needs std > 0 and a < b, got std {std}, [{a}, {b}]");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var z = torch.tensor(new[] { (a - mean) / std, (b - mean) / std }, ScalarType.Float64);   // (2)
        var erf = (z / Math.Sqrt(2)).erf().data<double>().ToArray();        // 2 Phi(z) - 1 at both ends
        t.uniform_(erf[0], erf[1]).erfinv_().mul_(std * Math.Sqrt(2)).add_(mean).clamp_(a, b);
        return t;
    }
}
