namespace Hybrid.Vision.Backbones.Onnx;

/// <summary>One initializer of the ONNX graph and the state-dict key it became.</summary>
public sealed record ImportedTensor(string Key, string Initializer, string Node);

/// <summary>A state dict converted from an ONNX graph (the caller owns and disposes the tensors)
/// and, in the order the nodes were followed, which initializer went where.</summary>
public sealed class OnnxImport : IDisposable
{
    public OnnxImport(Dictionary<string, Tensor> stateDict, IReadOnlyList<ImportedTensor> mapping)
    {
        StateDict = stateDict;
        Mapping = mapping;
    }

    public Dictionary<string, Tensor> StateDict { get; }
    public IReadOnlyList<ImportedTensor> Mapping { get; }

    public void Dispose()
    {
        foreach (var t in StateDict.Values) t.Dispose();
        StateDict.Clear();
    }
}

/// <summary>
/// Converts the ONNX graph of a CNTK basic-block ResNet (ML.NET's ImageNet ResNet-18) into
/// the state dict of <see cref="ResNet18ImageNet"/> by following the graph's data flow from
/// its input: stem Conv -> BatchNormalization -> Relu -> MaxPool; per block the Conv(s) that
/// read the block input (the 3x3 main branch and, where the shape changes, the 1x1 shortcut,
/// told apart by kernel size), BN, Relu, Conv, BN, the Add of both branches and its Relu; then
/// the global AveragePool that is the graph output. Initializer names are never interpreted:
/// a Conv's weight input becomes convN.weight, a BN's scale / B / mean / var inputs become
/// weight / bias / running_mean / running_var. Every node's attributes are checked against the
/// module (kernel, stride, dilation 1, group 1, CNTK's padding at the traced input size, BN
/// epsilon 1e-5), every node must be visited and every initializer used exactly once;
/// anything else is an <see cref="InvalidDataException"/> naming the file and the node.
/// </summary>
public static class CntkResNetImporter
{
    private const double TorchBatchNormEps = 1e-5;

    public static OnnxImport Import(OnnxModel model, ResNetConfig config)
    {
        if (config.Block != ResNetBlockKind.Basic || !config.ImageNetStem)
            throw new ArgumentException("the CNTK importer handles basic-block ResNets with the 7x7 stem and max-pool");
        var walk = new Walk(model);
        try
        {
            return walk.Run(config);
        }
        catch
        {
            foreach (var t in walk.StateDict.Values) t.Dispose();
            throw;
        }
    }

    private sealed class Walk
    {
        private readonly OnnxModel model;
        private readonly OnnxGraph graph;
        private readonly Dictionary<string, List<OnnxNode>> consumers = new();
        private readonly HashSet<OnnxNode> visited = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<string, (long H, long W)> sizes = new();
        private readonly List<ImportedTensor> mapping = new();
        private readonly Dictionary<string, string> usedBy = new();

        public Dictionary<string, Tensor> StateDict { get; } = new();

        public Walk(OnnxModel model)
        {
            this.model = model;
            graph = model.Graph;
            foreach (var n in graph.Nodes)
                foreach (var i in n.Inputs.Where(i => i.Length > 0))
                {
                    if (!consumers.TryGetValue(i, out var list)) consumers[i] = list = new List<OnnxNode>();
                    list.Add(n);
                }
        }

        private InvalidDataException Error(string what) => new($"{model.Source}: {what}");

        public OnnxImport Run(ResNetConfig config)
        {
            CheckTopologicalOrder();
            var inputs = graph.Inputs.Where(i => !graph.Initializers.ContainsKey(i.Name)).ToList();
            if (inputs.Count != 1) throw Error($"expected one image input, found {inputs.Count}: {string.Join(", ", inputs.Select(i => i.Name))}");
            var input = inputs[0];
            if (input.Shape.Count != 4 || input.Shape[1] != 3) throw Error($"input '{input.Name}' has shape [{string.Join(", ", input.Shape)}], expected (N, 3, H, W)");
            if (input.Shape[2] is { } h && input.Shape[3] is { } w) sizes[input.Name] = (h, w);

            // Stem: conv1 - bn1 - ReLU - max-pool.
            var x = ConvBn(Single(input.Name, "Conv", "the image input"), "conv1", "bn1", config.StemWidth, 7, 2);
            x = Next(x, "Relu", "bn1").Outputs[0];
            x = MaxPool(Next(x, "MaxPool", "the stem's ReLU"), 3, 2);

            long inplanes = config.StemWidth;
            for (var i = 0; i < 4; i++)
                for (var b = 0; b < config.Layers[i]; b++)
                {
                    var stride = b == 0 && i > 0 ? 2L : 1L;
                    x = Block(x, $"layer{i + 1}.{b}", inplanes, config.Widths[i], stride);
                    inplanes = config.Widths[i];
                }

            GlobalPool(x);
            var unvisited = graph.Nodes.Where(n => !visited.Contains(n)).ToList();
            if (unvisited.Count > 0) throw Error($"{unvisited.Count} node(s) are not part of the ResNet: {string.Join("; ", unvisited.Take(5))}");
            var unused = graph.Initializers.Keys.Where(k => !usedBy.ContainsKey(k)).ToList();
            if (unused.Count > 0) throw Error($"{unused.Count} initializer(s) were not used: {string.Join(", ", unused.Take(10))}");
            return new OnnxImport(StateDict, mapping);
        }

        /// <summary>Graph order is a topological order: every input exists before its node.</summary>
        private void CheckTopologicalOrder()
        {
            var known = new HashSet<string>(graph.Inputs.Select(i => i.Name).Concat(graph.Initializers.Keys));
            foreach (var n in graph.Nodes)
            {
                foreach (var i in n.Inputs.Where(i => i.Length > 0))
                    if (!known.Contains(i)) throw Error($"node {n} reads '{i}' before any node produces it");
                foreach (var o in n.Outputs) known.Add(o);
            }
        }

        /// <summary>A residual block; returns the name of its output (after the final ReLU).</summary>
        private string Block(string x, string prefix, long inplanes, long planes, long stride)
        {
            var convs = Consumers(x).Where(n => n.OpType == "Conv").ToList();
            var downsample = stride != 1 || inplanes != planes;
            if (convs.Count != (downsample ? 2 : 1))
                throw Error($"{prefix}: '{x}' feeds {convs.Count} convolution(s), expected {(downsample ? "a 3x3 and a 1x1 shortcut" : "one 3x3")}");
            var main = convs.SingleOrDefault(c => Kernel(c) == 3) ?? throw Error($"{prefix}: no 3x3 convolution reads '{x}'");
            string shortcut = x;
            if (downsample)
            {
                var sc = convs.SingleOrDefault(c => Kernel(c) == 1) ?? throw Error($"{prefix}: no 1x1 shortcut convolution reads '{x}'");
                shortcut = ConvBn(sc, $"{prefix}.downsample.0", $"{prefix}.downsample.1", planes, 1, stride);
            }
            var y = ConvBn(main, $"{prefix}.conv1", $"{prefix}.bn1", planes, 3, stride);
            y = Next(y, "Relu", $"{prefix}.bn1").Outputs[0];
            y = ConvBn(Next(y, "Conv", $"{prefix}'s first ReLU"), $"{prefix}.conv2", $"{prefix}.bn2", planes, 3, 1);
            var add = Next(y, "Add", $"{prefix}.bn2");
            var addends = add.Inputs.OrderBy(s => s, StringComparer.Ordinal).ToArray();
            var expected = new[] { y, shortcut }.OrderBy(s => s, StringComparer.Ordinal).ToArray();
            if (!addends.SequenceEqual(expected)) throw Error($"{prefix}: {add} adds ({string.Join(", ", add.Inputs)}), expected ({y}, {shortcut})");
            if (sizes.TryGetValue(y, out var sy) && sizes.TryGetValue(shortcut, out var ss) && sy != ss)
                throw Error($"{prefix}: the branches of {add} have sizes {sy} and {ss}");
            Visit(add, add.Outputs[0]);
            var relu = Next(add.Outputs[0], "Relu", $"{prefix}'s Add");
            return relu.Outputs[0];
        }

        /// <summary>A Conv and the BatchNormalization reading it; returns the BN's output.</summary>
        private string ConvBn(OnnxNode conv, string convKey, string bnKey, long channels, long kernel, long stride)
        {
            var inSize = SizeOf(conv.Inputs[0]);
            if (conv.Inputs.Count != 2)
                throw Error($"{conv}: expected (input, weight) without bias; a bias (a BN folded into the convolution) does not fit {convKey}");
            var w = Initializer(conv, 1);
            if (w.Dims.Length != 4 || w.Dims[0] != channels || w.Dims[2] != kernel || w.Dims[3] != kernel)
                throw Error($"{conv}: weight {w} does not fit {convKey} ({channels} output channels, {kernel}x{kernel})");
            if (Kernel(conv) != kernel) throw Error($"{conv}: kernel_shape [{string.Join(", ", conv.Ints("kernel_shape", Array.Empty<long>()))}], {convKey} is {kernel}x{kernel}");
            CheckWindow(conv, kernel, stride, inSize, convKey);
            if (conv.Int("group", 1) != 1) throw Error($"{conv}: group {conv.Int("group", 1)}, expected 1");
            Map(conv, w, $"{convKey}.weight");
            Propagate(conv, inSize, kernel, stride);

            var bn = Next(conv.Outputs[0], "BatchNormalization", convKey);
            if (bn.Inputs.Count != 5) throw Error($"{bn}: expected (X, scale, B, mean, var)");
            if (bn.Outputs.Skip(1).Any(o => o.Length > 0 && consumers.ContainsKey(o))) throw Error($"{bn}: its training outputs are used");
            var eps = bn.Float("epsilon", 1e-5f);
            if (Math.Abs(eps - TorchBatchNormEps) > 1e-9) throw Error($"{bn}: epsilon {eps}, the module uses {TorchBatchNormEps}");
            if (bn.Int("spatial", 1) != 1) throw Error($"{bn}: spatial = 0 (per-position statistics) does not fit BatchNorm2d");
            string[] leaves = { "weight", "bias", "running_mean", "running_var" };
            for (var i = 0; i < 4; i++)
            {
                var t = Initializer(bn, i + 1);
                if (t.Dims.Length != 1 || t.Dims[0] != channels) throw Error($"{bn}: input {i + 1} {t} does not fit {bnKey}.{leaves[i]} [{channels}]");
                Map(bn, t, $"{bnKey}.{leaves[i]}");
            }
            Visit(bn, bn.Outputs[0], sizes.TryGetValue(conv.Outputs[0], out var s) ? s : null);
            return bn.Outputs[0];
        }

        private string MaxPool(OnnxNode pool, long kernel, long stride)
        {
            var inSize = SizeOf(pool.Inputs[0]);
            CheckWindow(pool, kernel, stride, inSize, "the max-pool");
            var ks = pool.Ints("kernel_shape", Array.Empty<long>());
            if (!ks.SequenceEqual(new[] { kernel, kernel })) throw Error($"{pool}: kernel_shape [{string.Join(", ", ks)}], expected {kernel}x{kernel}");
            if (pool.Int("ceil_mode", 0) != 0) throw Error($"{pool}: ceil_mode");
            Propagate(pool, inSize, kernel, stride);
            return pool.Outputs[0];
        }

        private void GlobalPool(string x)
        {
            var readers = Consumers(x).ToList();
            if (readers.Count != 1) throw Error($"expected the global pool to be the only reader of the last block's output '{x}', found: {string.Join("; ", readers)}");
            var pool = readers[0];
            if (pool.OpType == "AveragePool")
            {
                var ks = pool.Ints("kernel_shape", Array.Empty<long>());
                var pads = pool.Ints("pads", new long[4]);
                if (sizes.TryGetValue(x, out var s) && !ks.SequenceEqual(new[] { s.H, s.W }))
                    throw Error($"{pool}: kernel [{string.Join(", ", ks)}] is not the whole {s.H}x{s.W} map (not a global pool)");
                if (pads.Any(p => p != 0)) throw Error($"{pool}: padded average pool");
            }
            else if (pool.OpType != "GlobalAveragePool")
                throw Error($"expected the global average pool after the last block, found {pool}");
            if (!graph.Outputs.Any(o => o.Name == pool.Outputs[0])) throw Error($"{pool}: its output is not the graph's output");
            Visit(pool, pool.Outputs[0], (1, 1));
        }

        /// <summary>Strides, dilations, auto_pad and pads of a Conv / MaxPool against the module's.</summary>
        private void CheckWindow(OnnxNode n, long kernel, long stride, (long H, long W)? inSize, string what)
        {
            var strides = n.Ints("strides", new[] { 1L, 1L });
            if (!strides.SequenceEqual(new[] { stride, stride })) throw Error($"{n}: strides [{string.Join(", ", strides)}], {what} has {stride}");
            var dil = n.Ints("dilations", new[] { 1L, 1L });
            if (dil.Any(d => d != 1)) throw Error($"{n}: dilations [{string.Join(", ", dil)}], expected 1");
            var autoPad = n.String("auto_pad", "NOTSET");
            if (autoPad != "NOTSET") throw Error($"{n}: auto_pad {autoPad}; only explicit pads are supported");
            var pads = n.Ints("pads", new long[4]);
            if (inSize is { } s)
            {
                var expected = CntkPadding.OnnxPads(s.H, s.W, kernel, stride);
                if (!pads.SequenceEqual(expected))
                    throw Error($"{n}: pads [{string.Join(", ", pads)}] on a {s.H}x{s.W} input, the module pads [{string.Join(", ", expected)}]");
            }
        }

        private void Propagate(OnnxNode n, (long H, long W)? inSize, long kernel, long stride)
        {
            (long H, long W)? outSize = null;
            if (inSize is { } s)
            {
                var p = n.Ints("pads", new long[4]);
                outSize = ((s.H + p[0] + p[2] - kernel) / stride + 1, (s.W + p[1] + p[3] - kernel) / stride + 1);
            }
            Visit(n, n.Outputs[0], outSize);
        }

        private void Visit(OnnxNode n, string output, (long H, long W)? size = null)
        {
            if (!visited.Add(n)) throw Error($"{n} is reached twice");
            var inherited = n.OpType is "Relu" or "Add" or "BatchNormalization" && sizes.TryGetValue(n.Inputs[0], out var s) ? s : ((long, long)?)null;
            if ((size ?? inherited) is { } known) sizes[output] = known;
        }

        private (long H, long W)? SizeOf(string value) => sizes.TryGetValue(value, out var s) ? s : null;

        private static long Kernel(OnnxNode conv)
        {
            var ks = conv.Ints("kernel_shape", Array.Empty<long>());
            return ks.Length == 2 && ks[0] == ks[1] ? ks[0] : -1;
        }

        private IEnumerable<OnnxNode> Consumers(string value) =>
            consumers.TryGetValue(value, out var list) ? list.Where(n => !visited.Contains(n)) : Enumerable.Empty<OnnxNode>();

        private OnnxNode Single(string value, string op, string what)
        {
            var next = Consumers(value).ToList();
            if (next.Count != 1 || next[0].OpType != op)
                throw Error($"expected one {op} reading {what} ('{value}'), found: {(next.Count == 0 ? "none" : string.Join("; ", next))}");
            return next[0];
        }

        /// <summary>The one unvisited node of type <paramref name="op"/> reading <paramref name="value"/>
        /// (other readers, such as the Add of an identity shortcut, are left for later).</summary>
        private OnnxNode Next(string value, string op, string after)
        {
            var next = Consumers(value).Where(n => n.OpType == op).ToList();
            if (next.Count != 1)
                throw Error($"expected one {op} after {after} ('{value}'), found {next.Count}; readers: {string.Join("; ", Consumers(value))}");
            if (op == "Relu") Visit(next[0], next[0].Outputs[0]);
            return next[0];
        }

        private OnnxTensor Initializer(OnnxNode n, int input)
        {
            var name = n.Inputs[input];
            if (!graph.Initializers.TryGetValue(name, out var t)) throw Error($"{n}: input {input} '{name}' is not an initializer");
            if (t.DataType != OnnxTensor.Float32 || t.Floats is null) throw Error($"{n}: initializer {t} is not float32");
            return t;
        }

        private void Map(OnnxNode n, OnnxTensor t, string key)
        {
            if (usedBy.TryGetValue(t.Name, out var earlier)) throw Error($"initializer '{t.Name}' is used twice: as {earlier} and as {key} ({n})");
            usedBy[t.Name] = key;
            StateDict[key] = torch.tensor(t.Floats!, t.Dims, ScalarType.Float32);
            mapping.Add(new ImportedTensor(key, t.Name, n.Name.Length > 0 ? n.Name : n.Outputs[0]));
        }
    }
}
