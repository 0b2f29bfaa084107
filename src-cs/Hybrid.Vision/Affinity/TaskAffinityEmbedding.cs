
using TorchSharp.Modules;

namespace Hybrid.Vision;

/// <summary>
/// One task's affinity embeddings in the AuxSegNet+ dual-affinity module: query, key and value
/// 1x1 convolutions (pairwise affinity, Eq. 2-5) and, for the dual variant, a 1x1 convolution
/// to one channel whose softmax over all positions is the unary affinity (Eq. 8-9).
/// </summary>
public sealed class TaskAffinityEmbedding : nn.Module
{
    public Conv2d query { get; }
    public Conv2d key { get; }
    public Conv2d value { get; }
    public Conv2d? unary { get; }

    public TaskAffinityEmbedding(long channels, long keyChannels, bool withUnary) : base(nameof(TaskAffinityEmbedding))
    {
        query = this.Child("query", nn.Conv2d(channels, keyChannels, 1));
        key = this.Child("key", nn.Conv2d(channels, keyChannels, 1));
        value = this.Child("value", nn.Conv2d(channels, channels, 1));
        if (withUnary) unary = this.Child("unary", nn.Conv2d(channels, 1, 1));
    }

    /// <summary>Children are registered by name above; no field reflection.</summary>
    protected override void RegisterComponents() { }

    /// <summary>Embeds features (B, C, H, W); the result's tensors belong to the caller's scope.</summary>
    internal TaskEmbedding Embed(Tensor features, bool scaleLogits)
    {
        var s = features.shape;
        var n = s[2] * s[3];
        using var scope = torch.NewDisposeScope();
        var q = query.forward(features).flatten(2);                       // (B, Ck, N)
        var k = key.forward(features).flatten(2);                         // (B, Ck, N)
        var v = value.forward(features).flatten(2);                       // (B, C, N)
        if (scaleLogits) q = q / Math.Sqrt(q.size(1));
        var qt = q.transpose(1, 2);                                       // (B, N, Ck)
        Tensor? u = null;
        if (unary is not null) u = unary.forward(features).view(s[0], n).softmax(1); // (B, N), sums to 1
        return new TaskEmbedding(qt, k, v, u).MoveToOuterDisposeScope();
    }
}

/// <summary>Embedded features of one task: the pieces from which its affinities are computed.</summary>
internal sealed class TaskEmbedding : IDisposable
{
    /// <summary>Queries (B, N, Ck).</summary>
    public Tensor QueryT { get; }
    /// <summary>Keys (B, Ck, N).</summary>
    public Tensor Key { get; }
    /// <summary>Values (B, C, N).</summary>
    public Tensor Value { get; }
    /// <summary>Unary affinity (B, N), a distribution over positions; null for the pairwise variant.</summary>
    public Tensor? Unary { get; }

    public TaskEmbedding(Tensor queryT, Tensor key, Tensor value, Tensor? unary)
    {
        QueryT = queryT; Key = key; Value = value; Unary = unary;
    }

    public long Positions => Key.size(2);

    /// <summary>Hands the tensors to the dispose scope outside the current one.</summary>
    public TaskEmbedding MoveToOuterDisposeScope()
    {
        QueryT.MoveToOuterDisposeScope(); Key.MoveToOuterDisposeScope(); Value.MoveToOuterDisposeScope(); Unary?.MoveToOuterDisposeScope();
        return this;
    }

    /// <summary>Rows [r0, r1) of the task's pairwise affinity A_t = softmax_j(q_i . k_j): (B, R, N).</summary>
    public Tensor Rows(long r0, long r1)
    {
        using var q = QueryT.narrow(1, r0, r1 - r0);                      // (B, R, Ck)
        using var logits = q.bmm(Key);                                    // (B, R, N)
        return logits.softmax(2);                                         // (B, R, N), rows sum to 1
    }

    public void Dispose()
    {
        QueryT.Dispose(); Key.Dispose(); Value.Dispose(); Unary?.Dispose();
    }
}
