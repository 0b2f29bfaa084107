using Hybrid.Torch;
using Hybrid.Torch.Serialization;

namespace Hybrid.Vision.Tests.Backbones;

/// <summary>The managed torch.save reader on files written by Debian's python3-torch 1.13
/// (Fixtures/Backbones/make_fixtures.py: base = arange(12).reshape(3, 4) as float32).</summary>
public class TorchSaveReaderTests
{
    private static float[] Base => Enumerable.Range(0, 12).Select(i => (float)i).ToArray();

    private static void Dispose(Dictionary<string, Tensor> d) { foreach (var t in d.Values) t.Dispose(); }

    [Fact]
    public void A_one_entry_dict_reads()
    {
        var d = TorchSaveReader.Load(BackboneFixtures.PathOf("torchsave_single.pth"));
        try
        {
            Assert.Equal(new[] { "only" }, d.Keys);
            Assert.Equal(new[] { 3L, 4 }, d["only"].shape);
            Assert.Equal(Base, d["only"].data<float>());
        }
        finally { Dispose(d); }
    }

    [Fact]
    public void Views_expands_dtypes_nesting_and_non_tensor_objects_read()
    {
        var d = TorchSaveReader.Load(BackboneFixtures.PathOf("torchsave_cases.pth"));
        try
        {
            Assert.Equal(new[] { "model.b", "model.e", "model.h", "model.i", "model.n.0", "model.n.1.deep", "model.t" }, d.Keys.OrderBy(k => k, StringComparer.Ordinal));
            Assert.Equal(new[] { 4L, 3 }, d["model.t"].shape);
            Assert.Equal(new float[] { 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11 }, d["model.t"].data<float>());
            Assert.Equal(Enumerable.Repeat(2.5f, 6), d["model.e"].data<float>());
            Assert.Equal(ScalarType.Float16, d["model.h"].dtype);
            Assert.Equal(Base, d["model.h"].data<float>());
            Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, d["model.i"].data<long>());
            Assert.Equal(new[] { true, false }, d["model.b"].data<bool>());
            Assert.Equal(new float[] { 4, 5, 6, 7 }, d["model.n.0"].data<float>());
            Assert.Equal(new float[] { 1, 2, 5, 6, 9, 10 }, d["model.n.1.deep"].data<float>());
        }
        finally { Dispose(d); }
    }

    [Fact]
    public void The_legacy_format_reads()
    {
        var d = TorchSaveReader.Load(BackboneFixtures.PathOf("torchsave_legacy.pth"));
        try
        {
            Assert.Equal(Base, d["w"].data<float>());
            Assert.Equal(new float[] { 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11 }, d["t"].data<float>());
        }
        finally { Dispose(d); }
    }

    [Fact]
    public void A_truncated_file_is_a_clear_error()
    {
        var bytes = File.ReadAllBytes(BackboneFixtures.PathOf("torchsave_legacy.pth"));
        var path = Path.Combine(Path.GetTempPath(), $"hybrid-truncated-{Environment.ProcessId}.pth");
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - 10).ToArray());
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => TorchSaveReader.Load(path));
            Assert.Contains(path, e.Message);
        }
        finally { File.Delete(path); }
    }
}
