namespace Hybrid.Vision.Backbones.Onnx;

/// <summary>The parts of an ONNX ModelProto the importers use (onnx.proto field numbers in
/// <see cref="OnnxReader"/>); everything else in the file is skipped.</summary>
/// <param name="Source">The file it was read from (named in errors).</param>
public sealed record OnnxModel(
    string Source,
    long IrVersion,
    string ProducerName,
    string ProducerVersion,
    IReadOnlyDictionary<string, long> Opsets,
    OnnxGraph Graph);

/// <summary>A GraphProto: nodes in graph (topological) order, initializers by name, inputs and outputs.</summary>
public sealed record OnnxGraph(
    string Name,
    IReadOnlyList<OnnxNode> Nodes,
    IReadOnlyDictionary<string, OnnxTensor> Initializers,
    IReadOnlyList<OnnxValueInfo> Inputs,
    IReadOnlyList<OnnxValueInfo> Outputs);

/// <summary>A NodeProto: one operator application.</summary>
public sealed record OnnxNode(
    string OpType,
    string Name,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, OnnxAttribute> Attributes)
{
    /// <summary>An int-list attribute (kernel_shape, strides, pads, dilations), or <paramref name="fallback"/> when absent.</summary>
    public long[] Ints(string name, long[] fallback) => Attributes.TryGetValue(name, out var a) ? a.Ints.ToArray() : fallback;

    /// <summary>An int attribute (group, spatial), or <paramref name="fallback"/> when absent.</summary>
    public long Int(string name, long fallback) => Attributes.TryGetValue(name, out var a) && a.Int is { } v ? v : fallback;

    /// <summary>A float attribute (epsilon), or <paramref name="fallback"/> when absent.</summary>
    public float Float(string name, float fallback) => Attributes.TryGetValue(name, out var a) && a.Float is { } v ? v : fallback;

    /// <summary>A string attribute (auto_pad), or <paramref name="fallback"/> when absent.</summary>
    public string String(string name, string fallback) => Attributes.TryGetValue(name, out var a) && a.String is { } v ? v : fallback;

    public override string ToString() =>
        $"{OpType} '{Name}' ({string.Join(", ", Inputs)}) -> ({string.Join(", ", Outputs)})";
}

/// <summary>An AttributeProto's scalar and list values (tensor and graph attributes are skipped).</summary>
public sealed record OnnxAttribute(string Name, long? Int, float? Float, string? String, IReadOnlyList<long> Ints, IReadOnlyList<float> Floats);

/// <summary>A TensorProto. <see cref="Floats"/> holds the values of a float tensor (data_type 1,
/// from float_data or raw_data); other element types keep only their shape.</summary>
public sealed record OnnxTensor(string Name, long[] Dims, int DataType, float[]? Floats)
{
    public const int Float32 = 1;

    public long ElementCount => Dims.Aggregate(1L, (a, b) => a * b);

    public override string ToString() => $"{Name} [{string.Join(", ", Dims)}] (data type {DataType})";
}

/// <summary>A graph input or output: its name and, for tensors, its shape (null for a symbolic dimension).</summary>
public sealed record OnnxValueInfo(string Name, int ElementType, IReadOnlyList<long?> Shape);
