using F = TorchSharp.torch.nn.functional;

namespace Hybrid.Vision;

/// <summary>
/// The affinity learned by <see cref="CrossTaskDualAffinity"/> for one batch, kept in factored
/// form (embeddings, not the N x N matrix): rows of the fused pairwise affinity A (B, N, N) are
/// produced on demand in chunks, so refining a map never holds all of A at once. Holds
/// autograd-connected tensors: refinement is differentiable in the module's parameters.
/// </summary>
public sealed class CrossTaskAffinity : IDisposable
{
    private readonly TaskEmbedding seg;
    private readonly TaskEmbedding? sal;
    private readonly AffinityFusion? fusion;
    private readonly long chunk;

    /// <summary>Fused unary affinity (B, N) (dual variant), else null.</summary>
    public Tensor? Unary { get; }
    public long Height { get; }
    public long Width { get; }
    public long Positions => Height * Width;
    public long ChunkRows => chunk;

    internal CrossTaskAffinity(TaskEmbedding seg, TaskEmbedding? sal, AffinityFusion? fusion, Tensor? unary, long height, long width, long? chunkRows)
    {
        this.seg = seg; this.sal = sal; this.fusion = fusion;
        Unary = unary; Height = height; Width = width;
        chunk = chunkRows ?? height * width;
    }

    /// <summary>Rows [r0, r1) of the pairwise affinity used for refinement: (B, R, N).</summary>
    public Tensor Rows(long r0, long r1)
    {
        var n = Positions;
        if (r0 < 0 || r1 > n || r0 >= r1) throw new ArgumentOutOfRangeException(nameof(r0), $"rows [{r0}, {r1}) outside [0, {n})");
        if (sal is null || fusion is null) return seg.Rows(r0, r1);       // (B, R, N): A_seg
        using var scope = torch.NewDisposeScope();
        // The fusion's 3x3 conv sees one row above and below: compute the halo rows too and
        // zero-pad only at the true matrix border, so chunks reproduce the unchunked result.
        var e0 = Math.Max(0, r0 - 1);
        var e1 = Math.Min(n, r1 + 1);
        var aSal = sal.Rows(e0, e1);                                      // (B, E, N)
        var aSeg = seg.Rows(e0, e1);                                      // (B, E, N)
        var stacked = torch.stack(new[] { aSal, aSeg }, 1);               // (B, 2, E, N)
        var padded = F.pad(stacked, new long[] { 1, 1, r0 == 0 ? 1 : 0, r1 == n ? 1 : 0 }); // (B, 2, R + 2, N + 2)
        var off = r0 - e0;
        var fused = fusion.Fuse(padded, aSal.narrow(1, off, r1 - r0), aSeg.narrow(1, off, r1 - r0)); // (B, R, N)
        return fused.MoveToOuterDisposeScope();
    }

    /// <summary>The whole pairwise affinity (B, N, N): N^2 memory, for inspection and small maps.</summary>
    public Tensor Dense() => Rows(0, Positions);

    /// <summary>
    /// Applies the affinity to a map x (B, K, H, W) (predictions, probabilities or CAMs):
    /// x'_i = sum_j A[i, j] x_j, plus sum_j U[j] x_j at every i when `includeUnary` and the
    /// module is dual. Chunked over rows of A.
    /// </summary>
    public Tensor Refine(Tensor x, bool includeUnary = true)
    {
        var s = x.shape;
        if (s.Length != 4 || s[2] != Height || s[3] != Width)
            throw new ArgumentException($"affinity refinement: map [{string.Join(", ", s)}] must be (B, K, {Height}, {Width}); resize it to the affinity's resolution first");
        using var scope = torch.NewDisposeScope();
        var n = Positions;
        var flat = x.reshape(s[0], s[1], n);                              // (B, K, N)
        var parts = new List<Tensor>();
        for (long r0 = 0; r0 < n; r0 += chunk)
        {
            var r1 = Math.Min(n, r0 + chunk);
            var a = Rows(r0, r1);                                         // (B, R, N)
            parts.Add(flat.bmm(a.transpose(1, 2)));                       // (B, K, R)
            if (!torch.is_grad_enabled()) a.Dispose();                    // keep the no-grad peak at one chunk
        }
        var refined = parts.Count == 1 ? parts[0] : torch.cat(parts, 2);  // (B, K, N)
        if (includeUnary && Unary is not null)
            refined = refined + flat.bmm(Unary.unsqueeze(2));             // (B, K, N) + (B, K, 1)
        return refined.view(s).MoveToOuterDisposeScope();                 // (B, K, H, W)
    }

    /// <summary>Eq. 18: CAM refinement with the pairwise cross-task affinity, (B, C, H, W).</summary>
    public Tensor RefineCam(Tensor cam) => Refine(cam, includeUnary: false);

    public void Dispose()
    {
        seg.Dispose(); sal?.Dispose(); Unary?.Dispose();
    }
}
