namespace Hybrid.Vision;

/// <summary>
/// Exponential-moving-average teacher (CoSA's assignment network: AN &lt;- m AN + (1 - m) ON,
/// m = 0.9994, over parameters and buffers). Wraps a separate instance of the student's
/// architecture; on construction it becomes a hard copy of the student, and its parameters
/// never require gradients.
///
/// <see cref="Update"/>: for every floating-point parameter and buffer
/// teacher = m teacher + (1 - m) student; integer and boolean buffers (e.g. BatchNorm's
/// num_batches_tracked) are copied whenever m &lt; 1. m = 0 copies the student exactly; m = 1
/// leaves the whole teacher (buffers included) unchanged. The teacher's train/eval mode is left
/// to the caller.
/// </summary>
public sealed class EmaTeacher<TModule> : IDisposable where TModule : nn.Module
{
    public TModule Teacher { get; }

    /// <summary>Number of <see cref="Update"/> calls so far.</summary>
    public long Updates { get; private set; }

    public EmaTeacher(TModule teacher, nn.Module student)
    {
        Teacher = teacher;
        foreach (var p in teacher.parameters()) p.requires_grad = false;
        Update(student, 0);
        Updates = 0;
    }

    /// <summary>teacher = m teacher + (1 - m) student, m in [0, 1], without autograd.</summary>
    public void Update(nn.Module student, double momentum)
    {
        if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentOutOfRangeException(nameof(momentum), $"EMA momentum must be in [0, 1], got {momentum}");
        var pairs = Pair(Teacher.named_parameters().Select(x => (x.name, (Tensor)x.parameter)), student.named_parameters().Select(x => (x.name, (Tensor)x.parameter)), "parameter")
            .Concat(Pair(Teacher.named_buffers(), student.named_buffers(), "buffer"))
            .ToList();
        if (momentum == 1) { Updates++; return; }                        // a frozen teacher: nothing follows
        using (torch.no_grad())
        {
            foreach (var (t, s) in pairs)
            {
                if (momentum == 0 || !torch.is_floating_point(t.dtype)) t.copy_(s);
                else t.mul_(momentum).add_(s, 1 - momentum);
            }
        }
        Updates++;
    }

    private static IEnumerable<(Tensor teacher, Tensor student)> Pair(IEnumerable<(string name, Tensor t)> teacher, IEnumerable<(string name, Tensor t)> student, string kind)
    {
        var s = student.ToDictionary(x => x.name, x => x.t);
        var t = teacher.ToList();
        var missing = t.Where(x => !s.ContainsKey(x.name)).Select(x => x.name).ToList();
        var extra = s.Keys.Except(t.Select(x => x.name)).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new ArgumentException($"EMA teacher: teacher and student differ in {kind}s (teacher only: [{string.Join(", ", missing.Take(5))}], student only: [{string.Join(", ", extra.Take(5))}]); the teacher must be another instance of the student's architecture");
        foreach (var (name, tt) in t)
        {
            var st = s[name];
            if (!tt.shape.SequenceEqual(st.shape))
                throw new ArgumentException($"EMA teacher: {kind} '{name}' is [{string.Join(", ", tt.shape)}] in the teacher but [{string.Join(", ", st.shape)}] in the student");
            yield return (tt, st);
        }
    }

    public void Dispose() => Teacher.Dispose();
}
