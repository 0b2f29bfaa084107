namespace Hybrid.Vision.Backbones.Onnx;

/// <summary>
/// Reads an ONNX file (a serialised ModelProto) with <see cref="ProtobufReader"/>: model
/// header, opsets, and the graph's nodes (op_type, inputs, outputs, int / float / string /
/// int-list / float-list attributes), float initializers (dims, float_data or raw_data) and
/// input / output shapes. Field numbers are those of onnx.proto (stable since IR version 1).
/// Data stored outside the file (external_data) is refused with the tensor's name.
/// </summary>
public static class OnnxReader
{
    public static OnnxModel Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX file not found: {path}", path);
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses a ModelProto; <paramref name="source"/> is named in errors.</summary>
    public static OnnxModel Parse(ReadOnlyMemory<byte> bytes, string source)
    {
        var r = new ProtobufReader(bytes, source);
        long ir = 0;
        string producer = "", version = "";
        var opsets = new Dictionary<string, long>();
        OnnxGraph? graph = null;
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: r.Expect(field, wire, WireType.Varint, "ModelProto.ir_version"); ir = r.ReadInt64(); break;
                case 2: r.Expect(field, wire, WireType.LengthDelimited, "ModelProto.producer_name"); producer = r.ReadString(); break;
                case 3: r.Expect(field, wire, WireType.LengthDelimited, "ModelProto.producer_version"); version = r.ReadString(); break;
                case 7: r.Expect(field, wire, WireType.LengthDelimited, "ModelProto.graph"); graph = ReadGraph(r.ReadMessage("graph")); break;
                case 8:
                {
                    r.Expect(field, wire, WireType.LengthDelimited, "ModelProto.opset_import");
                    var (domain, v) = ReadOpset(r.ReadMessage("opset_import"));
                    opsets[domain] = v;
                    break;
                }
                default: r.Skip(wire); break;
            }
        }
        if (graph is null) throw new InvalidDataException($"{source}: not an ONNX model (no graph; {bytes.Length} bytes)");
        return new OnnxModel(source, ir, producer, version, opsets, graph);
    }

    private static (string Domain, long Version) ReadOpset(ProtobufReader r)
    {
        string domain = "";
        long version = 0;
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            if (field == 1 && wire == WireType.LengthDelimited) domain = r.ReadString();
            else if (field == 2 && wire == WireType.Varint) version = r.ReadInt64();
            else r.Skip(wire);
        }
        return (domain, version);
    }

    private static OnnxGraph ReadGraph(ProtobufReader r)
    {
        string name = "";
        var nodes = new List<OnnxNode>();
        var inits = new Dictionary<string, OnnxTensor>();
        var inputs = new List<OnnxValueInfo>();
        var outputs = new List<OnnxValueInfo>();
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: r.Expect(field, wire, WireType.LengthDelimited, "GraphProto.node"); nodes.Add(ReadNode(r.ReadMessage($"node {nodes.Count}"))); break;
                case 2: r.Expect(field, wire, WireType.LengthDelimited, "GraphProto.name"); name = r.ReadString(); break;
                case 5:
                {
                    r.Expect(field, wire, WireType.LengthDelimited, "GraphProto.initializer");
                    var t = ReadTensor(r.ReadMessage($"initializer {inits.Count}"));
                    if (!inits.TryAdd(t.Name, t)) throw new InvalidDataException($"{r.Source}: initializer '{t.Name}' appears twice");
                    break;
                }
                case 11: r.Expect(field, wire, WireType.LengthDelimited, "GraphProto.input"); inputs.Add(ReadValueInfo(r.ReadMessage("input"))); break;
                case 12: r.Expect(field, wire, WireType.LengthDelimited, "GraphProto.output"); outputs.Add(ReadValueInfo(r.ReadMessage("output"))); break;
                default: r.Skip(wire); break;   // value_info, doc_string, sparse initializers ...
            }
        }
        return new OnnxGraph(name, nodes, inits, inputs, outputs);
    }

    private static OnnxNode ReadNode(ProtobufReader r)
    {
        string op = "", name = "";
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attrs = new Dictionary<string, OnnxAttribute>();
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: r.Expect(field, wire, WireType.LengthDelimited, "NodeProto.input"); inputs.Add(r.ReadString()); break;
                case 2: r.Expect(field, wire, WireType.LengthDelimited, "NodeProto.output"); outputs.Add(r.ReadString()); break;
                case 3: r.Expect(field, wire, WireType.LengthDelimited, "NodeProto.name"); name = r.ReadString(); break;
                case 4: r.Expect(field, wire, WireType.LengthDelimited, "NodeProto.op_type"); op = r.ReadString(); break;
                case 5:
                {
                    r.Expect(field, wire, WireType.LengthDelimited, "NodeProto.attribute");
                    var a = ReadAttribute(r.ReadMessage($"attribute {attrs.Count}"));
                    attrs[a.Name] = a;
                    break;
                }
                default: r.Skip(wire); break;
            }
        }
        if (op.Length == 0) throw new InvalidDataException($"{r.Source}: a node without op_type");
        return new OnnxNode(op, name, inputs, outputs, attrs);
    }

    private static OnnxAttribute ReadAttribute(ProtobufReader r)
    {
        string name = "";
        long? i = null;
        float? f = null;
        string? s = null;
        var ints = new List<long>();
        var floats = new List<float>();
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: r.Expect(field, wire, WireType.LengthDelimited, "AttributeProto.name"); name = r.ReadString(); break;
                case 2: r.Expect(field, wire, WireType.Fixed32, "AttributeProto.f"); f = r.ReadFloat(); break;
                case 3: r.Expect(field, wire, WireType.Varint, "AttributeProto.i"); i = r.ReadInt64(); break;
                case 4: r.Expect(field, wire, WireType.LengthDelimited, "AttributeProto.s"); s = r.ReadString(); break;
                case 7: r.ReadRepeatedFloat(wire, floats); break;
                case 8: r.ReadRepeatedInt64(wire, ints); break;
                default: r.Skip(wire); break;   // type, tensors, graphs, strings ...
            }
        }
        return new OnnxAttribute(name, i, f, s, ints, floats);
    }

    private static OnnxTensor ReadTensor(ProtobufReader r)
    {
        string name = "";
        int dataType = 0;
        var dims = new List<long>();
        var floatData = new List<float>();
        ReadOnlyMemory<byte>? raw = null;
        var external = false;
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: r.ReadRepeatedInt64(wire, dims); break;
                case 2: r.Expect(field, wire, WireType.Varint, "TensorProto.data_type"); dataType = (int)r.ReadInt64(); break;
                case 4: r.ReadRepeatedFloat(wire, floatData); break;
                case 8: r.Expect(field, wire, WireType.LengthDelimited, "TensorProto.name"); name = r.ReadString(); break;
                case 9: r.Expect(field, wire, WireType.LengthDelimited, "TensorProto.raw_data"); raw = r.ReadBytes(); break;
                case 13: external = true; r.Skip(wire); break;
                case 14: r.Expect(field, wire, WireType.Varint, "TensorProto.data_location"); external |= r.ReadInt64() == 1; break;
                default: r.Skip(wire); break;
            }
        }
        if (external) throw new NotSupportedException($"{r.Source}: tensor '{name}' keeps its data in an external file, which is not supported");
        if (dims.Any(d => d < 0)) throw new InvalidDataException($"{r.Source}: tensor '{name}' has a negative dimension [{string.Join(", ", dims)}]");
        var tensor = new OnnxTensor(name, dims.ToArray(), dataType, null);
        if (dataType != OnnxTensor.Float32) return tensor;
        if (raw is { } bytes)
        {
            if (floatData.Count > 0) throw new InvalidDataException($"{r.Source}: tensor '{name}' has both raw_data and float_data");
            if (bytes.Length != tensor.ElementCount * 4)
                throw new InvalidDataException($"{r.Source}: tensor '{name}' [{string.Join(", ", dims)}] has {bytes.Length} bytes of raw_data, expected {tensor.ElementCount * 4}");
            ProtobufReader.AppendFloats(bytes.Span, floatData);
        }
        if (floatData.Count != tensor.ElementCount)
            throw new InvalidDataException($"{r.Source}: tensor '{name}' [{string.Join(", ", dims)}] holds {floatData.Count} floats, expected {tensor.ElementCount}");
        return tensor with { Floats = floatData.ToArray() };
    }

    private static OnnxValueInfo ReadValueInfo(ProtobufReader r)
    {
        string name = "";
        int elem = 0;
        var shape = new List<long?>();
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            if (field == 1 && wire == WireType.LengthDelimited) name = r.ReadString();
            else if (field == 2 && wire == WireType.LengthDelimited)
            {
                // TypeProto.tensor_type (1) -> elem_type (1), shape (2) -> dim (1) -> dim_value (1) | dim_param (2)
                var type = r.ReadMessage("type");
                while (!type.AtEnd)
                {
                    var (tf, tw) = type.ReadTag();
                    if (tf != 1 || tw != WireType.LengthDelimited) { type.Skip(tw); continue; }
                    var tensor = type.ReadMessage("tensor_type");
                    while (!tensor.AtEnd)
                    {
                        var (ef, ew) = tensor.ReadTag();
                        if (ef == 1 && ew == WireType.Varint) elem = (int)tensor.ReadInt64();
                        else if (ef == 2 && ew == WireType.LengthDelimited)
                        {
                            var sh = tensor.ReadMessage("shape");
                            while (!sh.AtEnd)
                            {
                                var (sf, sw) = sh.ReadTag();
                                if (sf != 1 || sw != WireType.LengthDelimited) { sh.Skip(sw); continue; }
                                var dim = sh.ReadMessage("dim");
                                long? value = null;
                                while (!dim.AtEnd)
                                {
                                    var (df, dw) = dim.ReadTag();
                                    if (df == 1 && dw == WireType.Varint) value = dim.ReadInt64();
                                    else dim.Skip(dw);
                                }
                                shape.Add(value);
                            }
                        }
                        else tensor.Skip(ew);
                    }
                }
            }
            else r.Skip(wire);
        }
        return new OnnxValueInfo(name, elem, shape);
    }
}
