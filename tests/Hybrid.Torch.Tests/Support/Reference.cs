using System.Text.Json;

namespace Hybrid.Torch.Tests;

/// <summary>
/// The PyTorch reference fixtures: Fixtures/reference_ops.json and the binary files beside it,
/// written by tests/fixtures/make_torch_reference.py with Debian's python3-torch 1.13 (the same
/// libtorch the binding links). Every case carries the Python expression that produced it.
/// </summary>
internal static class Reference
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "Fixtures");
    public static string PathOf(string file) => Path.Combine(Dir, file);

    private static readonly Lazy<JsonDocument> doc = new(() => JsonDocument.Parse(File.ReadAllBytes(PathOf("reference_ops.json"))));

    public static JsonElement Root => doc.Value.RootElement;

    public static string Source => Root.GetProperty("source").GetString()!;

    public static RefCase Case(string name) =>
        Root.GetProperty("cases").TryGetProperty(name, out var c) ? new RefCase(name, c) : throw new KeyNotFoundException($"no reference case '{name}': regenerate the fixtures");

    public static long[] Shape(JsonElement enc) => enc.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();

    public static double[] Doubles(JsonElement enc) => enc.GetProperty("data").EnumerateArray().Select(x => x.GetDouble()).ToArray();

    public static double[] DoubleArray(JsonElement arr) => arr.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    /// <summary>An encoded tensor {shape, dtype, data} as a tensor of that dtype.</summary>
    public static Tensor ToTensor(JsonElement enc)
    {
        var shape = Shape(enc);
        var dtype = enc.GetProperty("dtype").GetString();
        if (dtype == "int64")
            return torch.tensor(enc.GetProperty("data").EnumerateArray().Select(x => x.GetInt64()).ToArray(), shape);
        using var d = torch.tensor(Doubles(enc), shape);
        return dtype switch
        {
            "float64" => d.clone(),
            "float32" => d.to(ScalarType.Float32),
            "bfloat16" => d.to(ScalarType.BFloat16),
            "float16" => d.to(ScalarType.Float16),
            "int32" => d.to(ScalarType.Int32),
            "uint8" => d.to(ScalarType.UInt8),
            "bool" => d.to(ScalarType.Bool),
            _ => throw new NotSupportedException($"fixture dtype {dtype}"),
        };
    }
}

/// <summary>One recorded op: its inputs, parameters, outputs and provenance.</summary>
internal sealed class RefCase
{
    private readonly JsonElement c;

    public RefCase(string name, JsonElement c) { Name = name; this.c = c; }

    public string Name { get; }
    public string Expr => c.GetProperty("expr").GetString()!;
    public string Provenance => $"{Name}: {Expr} [{c.GetProperty("source").GetString()}]";

    /// <summary>A fresh tensor of the named input (the caller disposes it).</summary>
    public Tensor In(string name) => Reference.ToTensor(c.GetProperty("inputs").GetProperty(name));

    public JsonElement Out(int i = 0) => c.GetProperty("outputs")[i];

    public int OutputCount => c.GetProperty("outputs").GetArrayLength();

    /// <summary>Asserts `actual` equals output i (shape exactly, values within atol + rtol |expected|).</summary>
    public void Check(Tensor actual, int i = 0, double atol = 1e-10, double rtol = 1e-8) =>
        Close.Equal(Out(i), actual, atol, rtol, Provenance);
}

/// <summary>Element-wise closeness with a report of the worst element.</summary>
internal static class Close
{
    public static void Equal(JsonElement expected, Tensor actual, double atol, double rtol, string what) =>
        Equal(Reference.Shape(expected), Reference.Doubles(expected), actual, atol, rtol, what);

    public static void Equal(long[] shape, double[] expected, Tensor actual, double atol, double rtol, string what)
    {
        Assert.True(shape.SequenceEqual(actual.shape), $"{what}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", shape)}]");
        Equal(expected, actual.data<double>(), atol, rtol, what);
    }

    public static void Equal(double[] expected, double[] got, double atol, double rtol, string what)
    {
        Assert.Equal(expected.Length, got.Length);
        var worst = -1;
        var worstExcess = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            var err = Math.Abs(got[i] - expected[i]);
            var excess = err / (atol + rtol * Math.Abs(expected[i]));
            if (double.IsNaN(got[i]) || excess > worstExcess) { worst = i; worstExcess = double.IsNaN(got[i]) ? double.PositiveInfinity : excess; }
        }
        if (worstExcess > 1)
            Assert.Fail($"{what}: element {worst} is {got[worst]:R}, expected {expected[worst]:R} (|diff| {Math.Abs(got[worst] - expected[worst]):E2} > atol {atol:E1} + rtol {rtol:E1} |expected|)");
    }
}
