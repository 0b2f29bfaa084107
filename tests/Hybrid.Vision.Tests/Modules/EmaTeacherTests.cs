using Hybrid.Torch;
using Hybrid.Torch.Modules;
using static Hybrid.Vision.Tests.Modules.ModulesTestKit;

namespace Hybrid.Vision.Tests.Modules;

public class EmaTeacherTests
{
    private static Sequential Net(long seed)
    {
        torch.manual_seed(seed);
        return new Sequential(new Conv2d(3, 4, 3, padding: 1), new BatchNorm2d(4), new ReLU(), new Conv2d(4, 2, 1));
    }

    private static Dictionary<string, Tensor> Snapshot(Module m) =>
        m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    /// <summary>Moves the student: a training forward (BN running stats and
    /// num_batches_tracked change) and a parameter nudge.</summary>
    private static void Perturb(Sequential student, long seed)
    {
        using var scope = torch.NewDisposeScope();
        student.train();
        student.forward(Randn(seed, 2, 3, 6, 6) * 3 + 1);
        using (torch.no_grad())
            foreach (var p in student.parameters()) p.add_(Randn(seed + 1, p.shape) * 0.1);
    }

    [Fact]
    public void Construction_is_a_hard_copy_and_the_teacher_never_requires_grad()
    {
        using var scope = torch.NewDisposeScope();
        using var student = Net(71);
        using var ema = new EmaTeacher<Sequential>(Net(72), student);
        foreach (var (k, v) in student.state_dict()) Assert.True(ema.Teacher.state_dict()[k].equal(v), k);
        Assert.All(ema.Teacher.parameters(), p => Assert.False(p.requires_grad));
        Assert.All(student.parameters(), p => Assert.True(p.requires_grad));
        var y = ema.Teacher.forward(Randn(73, 1, 3, 6, 6));
        Assert.False(y.requires_grad);
    }

    [Fact]
    public void Momentum_zero_copies_the_student_one_keeps_the_teacher_and_buffers_follow()
    {
        using var scope = torch.NewDisposeScope();
        using var student = Net(81);
        using var ema = new EmaTeacher<Sequential>(Net(82), student);
        Perturb(student, 83);
        var before = Snapshot(ema.Teacher);

        ema.Update(student, 1);                                           // m = 1: unchanged
        foreach (var (k, v) in ema.Teacher.state_dict()) Assert.True(v.equal(before[k]), $"m = 1 changed {k}");

        ema.Update(student, 0);                                           // m = 0: exact copy, buffers included
        foreach (var (k, v) in student.state_dict()) Assert.True(ema.Teacher.state_dict()[k].equal(v), $"m = 0 did not copy {k}");
        Assert.Equal(1L, ema.Teacher.state_dict()["1.num_batches_tracked"].item<long>());
        Assert.All(ema.Teacher.parameters(), p => Assert.False(p.requires_grad));
    }

    [Fact]
    public void Intermediate_momentum_mixes_floats_and_copies_integer_buffers()
    {
        using var scope = torch.NewDisposeScope();
        using var student = Net(91);
        using var ema = new EmaTeacher<Sequential>(Net(92), student);
        Perturb(student, 93);
        Perturb(student, 95);
        var t0 = Snapshot(ema.Teacher);
        const double m = 0.9;
        ema.Update(student, m);
        foreach (var (k, s) in student.state_dict())
        {
            var t = ema.Teacher.state_dict()[k];
            if (s.dtype.IsFloatingPoint()) Close(t0[k] * m + s * (1 - m), t, 1e-6, k);
            else Assert.True(t.equal(s), $"integer buffer {k} not copied");
        }
        Assert.Equal(2L, ema.Teacher.state_dict()["1.num_batches_tracked"].item<long>());
        Assert.True(ema.Teacher.state_dict()["1.running_mean"].abs().sum().ToDouble() > 0); // running stats moved with the student
    }

    [Fact]
    public void A_different_architecture_is_refused()
    {
        using var student = Net(101);
        torch.manual_seed(102);
        using var other = new Sequential(new Conv2d(3, 4, 3, padding: 1), new ReLU());
        var ex = Assert.Throws<ArgumentException>(() => new EmaTeacher<Sequential>(other, student));
        Assert.Contains("architecture", ex.Message);
    }
}
