using F = TorchSharp.torch.nn.functional;

namespace Hybrid.Vision;

/// <summary>
/// Pixel-adaptive mask refinement (PAMR; Araslanov and Roth, "Single-stage semantic
/// segmentation from image labels", CVPR 2020), the refinement PLDA uses for its pseudo labels.
///
/// For every pixel i and each neighbour j on the 8-neighbourhood of a 3x3 window at every
/// dilation d (so 8 |D| neighbours, the image border replicated):
///   kappa(i, j) = -|I_i - I_j| / (sigmaScale * sigma_i + 1e-8), per colour channel,
///   where sigma_i is the standard deviation of the intensities of the 9 |D| window
///   samples around i (centre included once per dilation), then averaged over channels;
///   alpha(i, .) = softmax over the 8 |D| neighbours of kappa(i, .).
/// The mask is then refined `Iterations` times: m_i &lt;- sum_j alpha(i, j) m_j. Each step is a
/// convex combination of neighbouring mask values, so a constant mask stays constant and
/// probability vectors stay probability vectors.
///
/// The affinities are computed without gradient (the image is data, not a parameter); the
/// refinement itself is differentiable in the mask, so PAMR can sit inside a training step.
/// Defaults follow the paper and PLDA: 10 iterations, dilations 1, 2, 4, 8, 12, 24; the scale
/// 0.1 on the local standard deviation is the value of the authors' public implementation.
/// </summary>
public sealed class Pamr
{
    public static readonly IReadOnlyList<int> DefaultDilations = new[] { 1, 2, 4, 8, 12, 24 };

    public int Iterations { get; }
    public IReadOnlyList<int> Dilations { get; }
    public double SigmaScale { get; }

    public Pamr(int iterations = 10, IReadOnlyList<int>? dilations = null, double sigmaScale = 0.1)
    {
        if (iterations < 0) throw new ArgumentOutOfRangeException(nameof(iterations), "PAMR iterations must be >= 0");
        Dilations = (dilations ?? DefaultDilations).ToArray();
        if (Dilations.Count == 0) throw new ArgumentException("PAMR needs at least one dilation", nameof(dilations));
        if (Dilations.Any(d => d < 1)) throw new ArgumentException($"PAMR dilations must be >= 1, got [{string.Join(", ", Dilations)}]", nameof(dilations));
        if (!(sigmaScale > 0)) throw new ArgumentOutOfRangeException(nameof(sigmaScale), "sigmaScale must be > 0");
        Iterations = iterations;
        SigmaScale = sigmaScale;
    }

    /// <summary>Number of neighbours per pixel: 8 per dilation.</summary>
    public int NeighbourCount => 8 * Dilations.Count;

    /// <summary>The 8 neighbour offsets of a 3x3 window, in the order of the affinity's neighbour dim.</summary>
    private static readonly (int dy, int dx)[] Offsets =
        { (-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1) };

    /// <summary>
    /// Local affinities of an image (B, K, H, W) -> (B, 1, 8|D|, H, W), non-negative and summing
    /// to 1 over the neighbour dim (index 8 k + j = dilation k, offset j). Computed under no_grad.
    /// </summary>
    public Tensor Affinity(Tensor image)
    {
        RequireDims(image, 4, "image", "(B, K, H, W)");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var x = torch.is_floating_point(image.dtype) ? image.detach() : image.to(ScalarType.Float32); // (B, K, H, W)
        var neighbours = new List<Tensor>();
        foreach (var d in Dilations)
        {
            var padded = Pad(x, d);                                         // (B, K, H+2d, W+2d)
            neighbours.AddRange(Offsets.Select(o => Shifted(padded, d, o)));  // 8 x (B, K, H, W) views
        }
        var centre = x.unsqueeze(2);                                        // (B, K, 1, H, W)
        var nb = torch.stack(neighbours, 2);                                // (B, K, 8|D|, H, W)
        // The window statistics count the centre once per dilation, as 9|D| samples.
        var centres = centre.expand(-1, -1, Dilations.Count, -1, -1);       // (B, K, |D|, H, W)
        var sigma = torch.cat(new[] { nb, centres }, 2).std(new long[] { 2 }, unbiased: true, keepdim: true); // (B, K, 1, H, W)
        var kappa = -(nb - centre).abs() / (sigma * SigmaScale + 1e-8);     // (B, K, 8|D|, H, W)
        var alpha = kappa.mean(new long[] { 1 }, keepdim: true).softmax(2); // (B, 1, 8|D|, H, W)
        return alpha.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Refines a mask (B, C, H, W) with the affinities of an image (B, K, H, W) of the same
    /// spatial size. Differentiable in the mask, not in the image.
    /// </summary>
    public Tensor Refine(Tensor image, Tensor mask)
    {
        RequireDims(image, 4, "image", "(B, K, H, W)");
        RequireDims(mask, 4, "mask", "(B, C, H, W)");
        var (si, sm) = (image.shape, mask.shape);
        if (si[0] != sm[0] || si[2] != sm[2] || si[3] != sm[3])
            throw new ArgumentException($"PAMR: image [{string.Join(", ", si)}] and mask [{string.Join(", ", sm)}] must share batch and spatial size; resize one of them first (or call RefineAtMaskSize)");
        using var alpha = Affinity(image);                                  // (B, 1, 8|D|, H, W)
        using var scope = torch.NewDisposeScope();
        var weights = Enumerable.Range(0, NeighbourCount).Select(j => alpha.select(2, j)).ToArray(); // 8|D| x (B, 1, H, W)
        var m = mask.alias();                                               // (B, C, H, W)
        for (var it = 0; it < Iterations; it++)
        {
            // m'_i = sum_j alpha(i, j) m_j, accumulated in place over shifted views of the padded
            // mask (no unfold copies; measured ~4x faster than unfold at 8x21x112x112).
            var next = torch.zeros_like(m);                                 // (B, C, H, W)
            for (var k = 0; k < Dilations.Count; k++)
            {
                var d = Dilations[k];
                using var padded = Pad(m, d);                               // (B, C, H+2d, W+2d)
                for (var j = 0; j < Offsets.Length; j++)
                {
                    using var view = Shifted(padded, d, Offsets[j]);        // (B, C, H, W)
                    next.addcmul_(view, weights[8 * k + j], 1);             // += m_j * alpha(., j)
                }
            }
            m.Dispose();
            m = next;                                                       // (B, C, H, W)
        }
        return m.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Resizes the image to the mask's spatial size (bilinear, corners aligned, as PLDA does
    /// before PAMR) and refines the mask there.
    /// </summary>
    public Tensor RefineAtMaskSize(Tensor image, Tensor mask)
    {
        RequireDims(image, 4, "image", "(B, K, H, W)");
        RequireDims(mask, 4, "mask", "(B, C, H, W)");
        var sm = mask.shape;
        using var small = F.interpolate(image.detach(), new[] { sm[2], sm[3] }, mode: InterpolationMode.Bilinear, align_corners: true); // (B, K, h, w)
        return Refine(small, mask);
    }

    /// <summary>Border-replicating pad by d: (B, K, H, W) -> (B, K, H+2d, W+2d).</summary>
    private static Tensor Pad(Tensor x, int d) => F.pad(x, new long[] { d, d, d, d }, PaddingModes.Replicate);

    /// <summary>The value at offset (dy d, dx d) of every pixel, as a view of the padded map: (B, K, H, W).</summary>
    private static Tensor Shifted(Tensor padded, int d, (int dy, int dx) o)
    {
        var (h, w) = (padded.size(2) - 2 * d, padded.size(3) - 2 * d);
        using var rows = padded.narrow(2, d + o.dy * d, h);                 // (B, K, H, W+2d)
        return rows.narrow(3, d + o.dx * d, w);                             // (B, K, H, W)
    }

    private static void RequireDims(Tensor t, int n, string name, string expected)
    {
        if (t.dim() != n) throw new ArgumentException($"PAMR: {name} must be {expected}, got a {t.dim()}-d tensor [{string.Join(", ", t.shape)}]");
    }
}
