
namespace Hybrid.Vision;

/// <summary>
/// Random walk with a semantic affinity (PSA: Ahn and Kwak, CVPR 2018). From non-negative
/// affinities W (N x N over the h*w positions of a map) the transition matrix is
///   T = D^-1 W^beta,  D = diag(row sums of W^beta),
/// so every row of T sums to 1 (T[i, j] = probability of walking from i to j). A map v
/// (one value per position) is propagated t steps as v &lt;- T v; for CAMs (B, C, h, w) every
/// class channel is walked independently. PSA's VOC setting is beta = 8 and t = 2^8 = 256
/// (reached by repeated squaring of T, see <see cref="Power"/>).
/// </summary>
public static class AffinityRandomWalk
{
    /// <summary>
    /// Row-stochastic transition (B, N, N) (or (N, N)) from affinities of the same shape:
    /// elementwise power beta, then each row divided by its sum. Every row must hold a
    /// positive entry (self-affinity usually guarantees it).
    /// </summary>
    public static Tensor Transition(Tensor affinity, double beta = 8)
    {
        var s = affinity.shape;
        if (s.Length is not (2 or 3) || s[^1] != s[^2])
            throw new ArgumentException($"random walk: affinity must be (N, N) or (B, N, N), got [{string.Join(", ", s)}]");
        if (!(beta > 0)) throw new ArgumentOutOfRangeException(nameof(beta), "beta must be > 0");
        using var scope = torch.NewDisposeScope();
        var wb = affinity.clamp_min(0).pow(beta);                         // (B, N, N)
        var rows = wb.sum(-1, keepdim: true).clamp_min(1e-20);            // (B, N, 1)
        return (wb / rows).MoveToOuterDisposeScope();                     // (B, N, N), rows sum to 1
    }

    /// <summary>T^t by repeated squaring (O(log t) matrix products).</summary>
    public static Tensor Power(Tensor transition, int t)
    {
        if (t < 0) throw new ArgumentOutOfRangeException(nameof(t), "the number of steps must be >= 0");
        using var scope = torch.NewDisposeScope();
        var n = transition.size(-1);
        var result = torch.eye(n, dtype: transition.dtype, device: transition.device).expand_as(transition).contiguous();
        var basis = transition.alias();
        for (var k = t; k > 0; k >>= 1)
        {
            if ((k & 1) == 1) result = result.matmul(basis);               // (B, N, N)
            if (k > 1) basis = basis.matmul(basis);                        // (B, N, N)
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Walks a map (B, C, h, w) `steps` times with T (B, N, N), N = h*w: v &lt;- T v per class
    /// channel. Costs steps * C * N^2; for many steps precompute <see cref="Power"/> and call
    /// with steps = 1.
    /// </summary>
    public static Tensor Propagate(Tensor cam, Tensor transition, int steps = 1)
    {
        if (cam.dim() != 4) throw new ArgumentException($"random walk: cam must be (B, C, h, w), got [{string.Join(", ", cam.shape)}]");
        if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), "steps must be >= 0");
        var s = cam.shape;
        var n = s[2] * s[3];
        var ts = transition.shape;
        if (ts[^1] != n || ts[^2] != n)
            throw new ArgumentException($"random walk: transition [{string.Join(", ", ts)}] does not match the {s[2]}x{s[3]} = {n} positions of the cam");
        using var scope = torch.NewDisposeScope();
        var tt = transition.dim() == 2 ? transition.unsqueeze(0) : transition.alias(); // (B, N, N)
        var tT = tt.transpose(1, 2);                                        // (B, N, N): tT[j, i] = T[i, j]
        var v = cam.reshape(s[0], s[1], n);                                 // (B, C, N)
        for (var k = 0; k < steps; k++) v = v.matmul(tT);                  // (B, C, N): v_i <- sum_j T[i, j] v_j
        return v.view(s).MoveToOuterDisposeScope();                        // (B, C, h, w)
    }

    /// <summary>
    /// PSA-style affinities from a feature map (B, D, h, w): W[i, j] = exp(-mean_d |f_i - f_j|)
    /// for positions within Euclidean distance &lt; radius, 0 beyond -> (B, N, N). W[i, i] = 1.
    /// </summary>
    public static Tensor FeatureAffinity(Tensor feature, double radius = 5)
    {
        if (feature.dim() != 4) throw new ArgumentException($"feature must be (B, D, h, w), got [{string.Join(", ", feature.shape)}]");
        if (!(radius > 0)) throw new ArgumentOutOfRangeException(nameof(radius), "radius must be > 0");
        var s = feature.shape;
        var n = s[2] * s[3];
        using var scope = torch.NewDisposeScope();
        var f = feature.reshape(s[0], s[1], n).transpose(1, 2).contiguous();  // (B, N, D)
        var dist = torch.cdist(f, f, 1) / s[1];                            // (B, N, N): mean |f_i - f_j|
        var aff = (-dist).exp();                                           // (B, N, N)
        var ys = torch.arange(0, n, 1, ScalarType.Float32, feature.device).div(s[3]).floor(); // (N)
        var xs = torch.arange(0, n, 1, ScalarType.Float32, feature.device).remainder(s[3]);   // (N)
        var dy = ys.unsqueeze(1) - ys.unsqueeze(0);                        // (N, N)
        var dx = xs.unsqueeze(1) - xs.unsqueeze(0);                        // (N, N)
        var near = (dy * dy + dx * dx).lt(radius * radius).to(aff.dtype);  // (N, N)
        return (aff * near).MoveToOuterDisposeScope();                     // (B, N, N)
    }
}
