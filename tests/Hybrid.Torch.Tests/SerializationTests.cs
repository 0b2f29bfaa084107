using System.Text;
using System.Text.Json;
using Hybrid.Torch.Modules;
using Hybrid.Torch.Optim;
using Hybrid.Torch.Serialization;
using static Hybrid.Torch.Tests.Data;
using F = Hybrid.Torch.torch.nn.functional;

namespace Hybrid.Torch.Tests;

/// <summary>Checkpoints, safetensors and PyTorch files: round trips, interop with files made
/// outside the binding, and clear errors (naming the file) for truncated or corrupt input.</summary>
public class SerializationTests
{
    private static readonly ScalarType[] AllDtypes =
    {
        ScalarType.Float32, ScalarType.Float64, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Int64,
        ScalarType.Int32, ScalarType.Int16, ScalarType.Int8, ScalarType.UInt8, ScalarType.Bool,
    };

    /// <summary>A few SGD/AdamW steps of TinyResNet on fixed data.</summary>
    private static void Train(TinyResNet m, Optimizer opt, int steps, int seed)
    {
        for (var s = 0; s < steps; s++)
        {
            using var scope = torch.NewDisposeScope();
            var x = Normal(S(4, 3, 6, 6), seed + s).to(ScalarType.Float32);       // (B, 3, H, W)
            var y = torch.tensor(new long[] { 0, 1, 2, 1 });
            opt.zero_grad();
            F.cross_entropy(m.forward(x), y).backward();
            opt.step();
        }
    }

    private static void SameState(Module a, Module b)
    {
        var sa = a.state_dict();
        var sb = b.state_dict();
        Assert.Equal(sa.Keys, sb.Keys);
        foreach (var k in sa.Keys) Assert.True(sa[k].equal(sb[k]), $"'{k}' differs after the round trip");
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adamw")]
    public void Checkpoint_restores_model_optimizer_step_and_rng(string which)
    {
        using var dir = new TempDir();
        var path = dir.File("ckpt.safetensors");
        Optimizer Make(TinyResNet m) => which == "sgd"
            ? new SGD(m.parameters(), lr: 0.05, momentum: 0.9, weight_decay: 1e-4, nesterov: true)
            : new AdamW(m.parameters(), lr: 0.01);

        torch.manual_seed(7);
        using var a = new TinyResNet();
        using var optA = Make(a);
        Train(a, optA, 3, 100);
        Checkpoint.Save(path, a, optA, step: 3, new Dictionary<string, string> { ["run"] = "unit" });
        using var drawnAfterSave = torch.randn(S(5));                              // the RNG stream after the save point

        torch.manual_seed(999);                                                    // different init, different RNG position
        using var b = new TinyResNet();
        using var optB = Make(b);
        var (step, meta) = Checkpoint.Load(path, b, optB);
        Assert.Equal(3, step);
        Assert.Equal("unit", meta["run"]);
        Assert.Equal(3, optB.step_count);
        SameState(a, b);
        var stA = optA.state_dict();
        var stB = optB.state_dict();
        Assert.Equal(stA.Keys.OrderBy(k => k), stB.Keys.OrderBy(k => k));
        Assert.NotEmpty(stA);
        foreach (var k in stA.Keys) Assert.True(stA[k].equal(stB[k]), $"optimizer state '{k}' differs");

        using var drawnAfterLoad = torch.randn(S(5));
        Assert.True(drawnAfterLoad.equal(drawnAfterSave), "the RNG does not continue the saved stream");

        // Training continues identically from the restored state.
        Train(a, optA, 2, 200);
        Train(b, optB, 2, 200);
        SameState(a, b);
    }

    [Fact]
    public void Checkpoint_carries_run_state_beside_the_model_and_old_checkpoints_have_none()
    {
        using var dir = new TempDir();
        using var a = new TinyResNet();
        using var queue = torch.tensor(new long[] { 3, 0, 7, 1, 2, 5 }, new long[] { 2, 3 });   // (2, 3) int64
        using var history = torch.tensor(new double[] { 0.5, 0.41 }, new long[] { 2 });
        var withState = dir.File("with.safetensors");
        Checkpoint.Save(withState, a, null, step: 4, state: new Dictionary<string, Tensor> { ["queue"] = queue, ["history"] = history });
        var state = new Dictionary<string, Tensor>();
        using var b = new TinyResNet();
        var (step, _) = Checkpoint.Load(withState, b, stateOut: state);
        Assert.Equal(4, step);
        SameState(a, b);                                                           // "state.*" is not model state
        Assert.Equal(new[] { "history", "queue" }, state.Keys.OrderBy(k => k));
        Assert.True(state["queue"].equal(queue) && state["queue"].dtype == ScalarType.Int64);
        Assert.True(state["history"].equal(history));
        foreach (var t in state.Values) t.Dispose();

        var without = dir.File("without.safetensors");
        Checkpoint.Save(without, a, null, step: 1);
        var none = new Dictionary<string, Tensor>();
        Checkpoint.Load(without, b, stateOut: none);
        Assert.Empty(none);
    }

    [Fact]
    public void Checkpoint_load_into_a_different_model_says_what_does_not_match()
    {
        using var dir = new TempDir();
        var path = dir.File("ckpt.safetensors");
        using var a = new TinyResNet();
        Checkpoint.Save(path, a, null, step: 1);
        using var other = new Sequential(new Linear(4, 3));
        var ex = Assert.Throws<InvalidOperationException>(() => Checkpoint.Load(path, other));
        Assert.Contains("missing", ex.Message);
        Assert.Contains("unexpected", ex.Message);
    }

    [Fact]
    public void Safetensors_round_trip_every_dtype_shape_and_metadata()
    {
        using var dir = new TempDir();
        var path = dir.File("all.safetensors");
        using var scope = torch.NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        foreach (var dt in AllDtypes)
        {
            using var v = torch.arange(-3, 9, 1, ScalarType.Float64);
            tensors[$"t.{dt}"] = (dt == ScalarType.Bool ? v.gt(2) : dt == ScalarType.UInt8 ? v.abs() : v).reshape(3, 4).to(dt);
        }
        tensors["scalar"] = torch.scalar_tensor(2.5, ScalarType.Float64);          // 0-d
        tensors["empty"] = torch.zeros(S(0, 3));                                   // no elements
        using var big = torch.arange(0, 24, 1, ScalarType.Float32).reshape(2, 3, 4);
        tensors["noncontig"] = big.permute(2, 0, 1);                               // saved in logical order
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode ok" };
        Safetensors.Save(path, tensors, meta);

        var (back, m2) = Safetensors.Load(path);
        try
        {
            Assert.Equal(meta, m2);
            Assert.Equal(tensors.Keys.OrderBy(k => k), back.Keys.OrderBy(k => k));
            foreach (var (k, t) in tensors)
            {
                Assert.Equal(t.dtype, back[k].dtype);
                Assert.Equal(t.shape, back[k].shape);
                Assert.True(t.equal(back[k]), $"'{k}' changed");
            }
        }
        finally { foreach (var t in back.Values) t.Dispose(); }

        // The layout is the published one: u64 LE header size, JSON header, 8-byte aligned data.
        var bytes = File.ReadAllBytes(path);
        var n = (long)BitConverter.ToUInt64(bytes, 0);
        Assert.Equal(0, (8 + n) % 8);
        using var hdr = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        Assert.Equal("BF16", hdr.RootElement.GetProperty("t.BFloat16").GetProperty("dtype").GetString());
        Assert.Equal("ünïcode ok", hdr.RootElement.GetProperty("__metadata__").GetProperty("note").GetString());
        Assert.False(File.Exists(path + ".tmp"));
        Assert.Single(Directory.GetFiles(dir.Path));                              // no temp files left behind
    }

    [Fact]
    public void Safetensors_written_outside_the_binding_reads_correctly()
    {
        var fx = Reference.Root.GetProperty("safetensors_interop");
        var (ts, meta) = Safetensors.Load(Reference.PathOf("tiny_interop.safetensors"));
        try
        {
            Assert.Equal("make_torch_reference.py", meta["origin"]);
            foreach (var p in fx.GetProperty("tensors").EnumerateObject())
            {
                var dtype = fx.GetProperty("dtypes").GetProperty(p.Name).GetString();
                var t = ts[p.Name];
                Assert.Equal(dtype, t.dtype switch
                {
                    ScalarType.Float32 => "float32", ScalarType.Int64 => "int64", ScalarType.BFloat16 => "bfloat16",
                    ScalarType.UInt8 => "uint8", ScalarType.Bool => "bool", var o => o.ToString(),
                });
                Close.Equal(p.Value, t, 0, 0, $"safetensors '{p.Name}'");
            }
            Assert.Equal(1L << 40, ts["b.i64"].data<long>()[2]);
        }
        finally { foreach (var t in ts.Values) t.Dispose(); }
    }

    [Fact]
    public void PyTorchFile_save_then_load_round_trips()
    {
        using var dir = new TempDir();
        var path = dir.File("weights.pth");
        using var m = new TinyResNet();
        PyTorchFile.Save(path, m.state_dict());
        var back = PyTorchFile.Load(path);
        try
        {
            Assert.Equal(m.state_dict().Keys.OrderBy(k => k), back.Keys.OrderBy(k => k));
            using var m2 = new TinyResNet();
            Assert.True(m2.load_state_dict(back).IsClean);
            SameState(m, m2);
        }
        finally { foreach (var t in back.Values) t.Dispose(); }
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    // ---- corrupt and truncated files ---------------------------------------------------------------

    private static string Truncated(TempDir dir, string source, string name, double keep)
    {
        var bytes = File.ReadAllBytes(source);
        var path = dir.File(name);
        File.WriteAllBytes(path, bytes.AsSpan(0, (int)(bytes.Length * keep)).ToArray());
        return path;
    }

    [Fact]
    public void Truncated_or_corrupt_safetensors_name_the_file_and_the_problem()
    {
        using var dir = new TempDir();
        var good = dir.File("good.safetensors");
        using (var t = torch.ones(S(16, 16)))
            Safetensors.Save(good, new Dictionary<string, Tensor> { ["w"] = t });

        var cut = Truncated(dir, good, "cut.safetensors", 0.6);                    // data section cut short
        var e1 = Assert.Throws<InvalidDataException>(() => Safetensors.Load(cut));
        Assert.Contains(cut, e1.Message);
        Assert.Contains("truncated", e1.Message);

        var headerCut = Truncated(dir, good, "header-cut.safetensors", 0.05);      // inside the header
        var e2 = Assert.Throws<InvalidDataException>(() => Safetensors.Load(headerCut));
        Assert.Contains(headerCut, e2.Message);

        var tiny = dir.File("tiny.safetensors");
        File.WriteAllBytes(tiny, new byte[] { 1, 2, 3 });
        Assert.Contains(tiny, Assert.Throws<InvalidDataException>(() => Safetensors.Load(tiny)).Message);

        var garbage = dir.File("garbage.safetensors");
        var g = new byte[64];
        BitConverter.GetBytes(40UL).CopyTo(g, 0);
        Encoding.ASCII.GetBytes("this is not json at all, just bytes....").CopyTo(g, 8);
        File.WriteAllBytes(garbage, g);
        var e4 = Assert.Throws<InvalidDataException>(() => Safetensors.Load(garbage));
        Assert.Contains(garbage, e4.Message);
        Assert.Contains("JSON", e4.Message);

        Assert.Contains("overlap", Assert.Throws<InvalidDataException>(() => Safetensors.Load(WithHeader(dir, "overlap.safetensors",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16))).Message);
        Assert.Contains("needs 8", Assert.Throws<InvalidDataException>(() => Safetensors.Load(WithHeader(dir, "size.safetensors",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", 12))).Message);
        Assert.Contains("unsupported dtype", Assert.Throws<InvalidDataException>(() => Safetensors.Load(WithHeader(dir, "dtype.safetensors",
            "{\"a\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8))).Message);
        // Well-formed JSON of the wrong shape is still a clear data error, not a JSON API exception.
        var wrongTypes = WithHeader(dir, "types.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8);
        Assert.Contains(wrongTypes, Assert.Throws<InvalidDataException>(() => Safetensors.Load(wrongTypes)).Message);
        var notObject = WithHeader(dir, "entry.safetensors", "{\"a\":[1,2,3]}", 0);
        Assert.Contains(notObject, Assert.Throws<InvalidDataException>(() => Safetensors.Load(notObject)).Message);
        var badMeta = WithHeader(dir, "meta.safetensors", "{\"__metadata__\":{\"k\":3}}", 0);
        Assert.Contains(badMeta, Assert.Throws<InvalidDataException>(() => Safetensors.Load(badMeta)).Message);

        Assert.Throws<FileNotFoundException>(() => Safetensors.Load(dir.File("absent.safetensors")));
    }

    private static string WithHeader(TempDir dir, string name, string json, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(json);
        var path = dir.File(name);
        File.WriteAllBytes(path, BitConverter.GetBytes((ulong)h.Length).Concat(h).Concat(new byte[dataBytes]).ToArray());
        return path;
    }

    [Fact]
    public void Truncated_or_corrupt_pth_files_name_the_file()
    {
        using var dir = new TempDir();
        var src = Reference.PathOf("tiny_resnet_state.pth");
        foreach (var keep in new[] { 0.5, 0.9, 0.99 })
        {
            var cut = Truncated(dir, src, $"cut{keep}.pth", keep);
            var e = Assert.Throws<InvalidDataException>(() => PyTorchFile.Load(cut));
            Assert.Contains(cut, e.Message);
            Assert.Contains("truncated or corrupt", e.Message);
        }
        var noise = dir.File("noise.pth");
        var rng = new Random(5);
        var bytes = new byte[4096];
        rng.NextBytes(bytes);
        File.WriteAllBytes(noise, bytes);
        Assert.Contains(noise, Assert.Throws<InvalidDataException>(() => PyTorchFile.Load(noise)).Message);

        var empty = dir.File("empty.pth");
        File.WriteAllBytes(empty, Array.Empty<byte>());
        Assert.Contains(empty, Assert.Throws<InvalidDataException>(() => PyTorchFile.Load(empty)).Message);

        var missing = dir.File("absent.pth");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => PyTorchFile.Load(missing)).Message);
        Assert.DoesNotContain(Directory.GetFiles(dir.Path), f => f.EndsWith(".tmp"));
    }

    [Fact]
    public void Truncated_or_foreign_checkpoints_name_the_file()
    {
        using var dir = new TempDir();
        var good = dir.File("ckpt.safetensors");
        using var m = new TinyResNet();
        using var opt = new SGD(m.parameters(), lr: 0.1, momentum: 0.9);
        Train(m, opt, 1, 300);
        Checkpoint.Save(good, m, opt, step: 1);

        var cut = Truncated(dir, good, "cut.safetensors", 0.7);
        using var m2 = new TinyResNet();
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(cut, m2));
        Assert.Contains(cut, e.Message);

        var foreign = dir.File("foreign.safetensors");
        using (var t = torch.ones(S(2))) Safetensors.Save(foreign, new Dictionary<string, Tensor> { ["x"] = t });
        var e2 = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(foreign, m2));
        Assert.Contains(foreign, e2.Message);
        Assert.Contains("not a Hybrid checkpoint", e2.Message);
    }
}
