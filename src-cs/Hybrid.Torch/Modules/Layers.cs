using F = Hybrid.Torch.torch.nn.functional;

namespace Hybrid.Torch.Modules;

/// <summary>2-d convolution; weight (out, in/groups, k, k).</summary>
public sealed class Conv2d : Module<Tensor, Tensor>
{
    public Parameter weight { get; }
    public Parameter? bias { get; }
    public long stride { get; }
    public long padding { get; }
    public long dilation { get; }
    public long groups { get; }

    public Conv2d(long in_channels, long out_channels, long kernel_size, long stride = 1, long padding = 0, long dilation = 1, long groups = 1, bool bias = true)
    {
        if (in_channels % groups != 0 || out_channels % groups != 0) throw new ArgumentException($"Conv2d: channels {in_channels}->{out_channels} not divisible by groups {groups}");
        this.stride = stride; this.padding = padding; this.dilation = dilation; this.groups = groups;
        using var w = torch.empty(new[] { out_channels, in_channels / groups, kernel_size, kernel_size });
        weight = RegisterParameter("weight", new Parameter(w))!;
        if (bias) { using var b = torch.empty(new[] { out_channels }); this.bias = RegisterParameter("bias", new Parameter(b)); }
        else RegisterParameter("bias", null);
        init.DefaultLayer(weight, this.bias);
    }

    public override Tensor forward(Tensor x) => F.conv2d(x, weight, bias, stride, padding, dilation, groups);   // (B, out, H', W')
}

/// <summary>y = x W^T + b; weight (out, in).</summary>
public sealed class Linear : Module<Tensor, Tensor>
{
    public Parameter weight { get; }
    public Parameter? bias { get; }

    public Linear(long in_features, long out_features, bool bias = true)
    {
        using var w = torch.empty(new[] { out_features, in_features });
        weight = RegisterParameter("weight", new Parameter(w))!;
        if (bias) { using var b = torch.empty(new[] { out_features }); this.bias = RegisterParameter("bias", new Parameter(b)); }
        else RegisterParameter("bias", null);
        init.DefaultLayer(weight, this.bias);
    }

    public override Tensor forward(Tensor x) => F.linear(x, weight, bias);
}

/// <summary>Batch norm over (B, C, H, W) with running statistics. Frozen: always uses the
/// running statistics and trains nothing (for small-batch fine-tuning of pretrained nets).</summary>
public sealed class BatchNorm2d : Module<Tensor, Tensor>
{
    public Parameter weight { get; }
    public Parameter bias { get; }
    public Tensor running_mean { get; }
    public Tensor running_var { get; }
    public Tensor num_batches_tracked { get; }
    public double eps { get; }
    public double momentum { get; }
    public bool frozen { get; }

    public BatchNorm2d(long num_features, double eps = 1e-5, double momentum = 0.1, bool frozen = false)
    {
        this.eps = eps; this.momentum = momentum; this.frozen = frozen;
        using var one = torch.ones(new[] { num_features });
        using var zero = torch.zeros(new[] { num_features });
        weight = RegisterParameter("weight", new Parameter(one, requires_grad: !frozen))!;
        bias = RegisterParameter("bias", new Parameter(zero, requires_grad: !frozen))!;
        running_mean = RegisterBuffer("running_mean", torch.zeros(new[] { num_features }));
        running_var = RegisterBuffer("running_var", torch.ones(new[] { num_features }));
        num_batches_tracked = RegisterBuffer("num_batches_tracked", torch.zeros(Array.Empty<long>(), ScalarType.Int64));
    }

    public override Tensor forward(Tensor x)
    {
        var train = training && !frozen;
        if (train) using (torch.no_grad()) num_batches_tracked.add_(1);
        return F.batch_norm(x, running_mean, running_var, weight, bias, train, momentum, eps);
    }
}

public sealed class LayerNorm : Module<Tensor, Tensor>
{
    public Parameter weight { get; }
    public Parameter bias { get; }
    private readonly long[] shape;
    private readonly double eps;

    public LayerNorm(long normalized_shape, double eps = 1e-5)
    {
        shape = new[] { normalized_shape }; this.eps = eps;
        using var one = torch.ones(shape);
        using var zero = torch.zeros(shape);
        weight = RegisterParameter("weight", new Parameter(one))!;
        bias = RegisterParameter("bias", new Parameter(zero))!;
    }

    public override Tensor forward(Tensor x) => F.layer_norm(x, shape, weight, bias, eps);
}

public sealed class GroupNorm : Module<Tensor, Tensor>
{
    public Parameter weight { get; }
    public Parameter bias { get; }
    private readonly long groups;
    private readonly double eps;

    public GroupNorm(long num_groups, long num_channels, double eps = 1e-5)
    {
        groups = num_groups; this.eps = eps;
        using var one = torch.ones(new[] { num_channels });
        using var zero = torch.zeros(new[] { num_channels });
        weight = RegisterParameter("weight", new Parameter(one))!;
        bias = RegisterParameter("bias", new Parameter(zero))!;
    }

    public override Tensor forward(Tensor x) => F.group_norm(x, groups, weight, bias, eps);
}

public sealed class Dropout : Module<Tensor, Tensor>
{
    private readonly double p;
    public Dropout(double p = 0.5) { this.p = p; }
    public override Tensor forward(Tensor x) => F.dropout(x, p, training);
}

public sealed class Dropout2d : Module<Tensor, Tensor>
{
    private readonly double p;
    public Dropout2d(double p = 0.5) { this.p = p; }
    public override Tensor forward(Tensor x) => F.dropout2d(x, p, training);
}

public sealed class ReLU : Module<Tensor, Tensor> { public override Tensor forward(Tensor x) => x.relu(); }
public sealed class GELU : Module<Tensor, Tensor> { public override Tensor forward(Tensor x) => x.gelu(); }
public sealed class Identity : Module<Tensor, Tensor> { public override Tensor forward(Tensor x) => x.alias(); }

public sealed class MaxPool2d : Module<Tensor, Tensor>
{
    private readonly long k, s, p;
    private readonly bool ceil;
    public MaxPool2d(long kernel_size, long? stride = null, long padding = 0, bool ceil_mode = false) { k = kernel_size; s = stride ?? kernel_size; p = padding; ceil = ceil_mode; }
    public override Tensor forward(Tensor x) => F.max_pool2d(x, k, s, p, 1, ceil);
}

public sealed class AdaptiveAvgPool2d : Module<Tensor, Tensor>
{
    private readonly long h, w;
    public AdaptiveAvgPool2d(long output_size) : this(output_size, output_size) { }
    public AdaptiveAvgPool2d(long h, long w) { this.h = h; this.w = w; }
    public override Tensor forward(Tensor x) => F.adaptive_avg_pool2d(x, h, w);
}

/// <summary>Applies its children in order; state-dict keys "0.weight", "1.weight", ... as PyTorch.</summary>
public sealed class Sequential : Module<Tensor, Tensor>
{
    private readonly List<Module<Tensor, Tensor>> layers = new();

    public Sequential(params Module<Tensor, Tensor>[] modules)
    {
        foreach (var m in modules) append(m);
    }

    public Sequential(IEnumerable<(string name, Module<Tensor, Tensor> module)> named)
    {
        foreach (var (n, m) in named) { layers.Add(m); RegisterModule(n, m); }
    }

    public Sequential append(Module<Tensor, Tensor> m)
    {
        RegisterModule(layers.Count.ToString(), m);
        layers.Add(m);
        return this;
    }

    public int Count => layers.Count;
    public Module<Tensor, Tensor> this[int i] => layers[i];

    public override Tensor forward(Tensor x)
    {
        if (layers.Count == 0) return x.alias();
        var cur = layers[0].forward(x);
        for (var i = 1; i < layers.Count; i++)
        {
            var next = layers[i].forward(cur);
            cur.Dispose();
            cur = next;
        }
        return cur;
    }
}

/// <summary>A list of modules registered as "0", "1", ...</summary>
public sealed class ModuleList<T> : Module where T : Module
{
    private readonly List<T> items = new();
    public ModuleList(IEnumerable<T> modules) { foreach (var m in modules) Add(m); }
    public void Add(T m) { RegisterModule(items.Count.ToString(), m); items.Add(m); }
    public int Count => items.Count;
    public T this[int i] => items[i];
    public IEnumerable<T> Items => items;
}

/// <summary>Modules by name.</summary>
public sealed class ModuleDict<T> : Module where T : Module
{
    private readonly Dictionary<string, T> items = new();
    public void Add(string name, T m) { RegisterModule(name, m); items[name] = m; }
    public T this[string name] => items.TryGetValue(name, out var m) ? m : throw new KeyNotFoundException($"no module '{name}'");
    public IEnumerable<string> Keys => items.Keys;
}
