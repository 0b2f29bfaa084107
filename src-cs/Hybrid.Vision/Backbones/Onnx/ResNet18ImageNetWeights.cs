using System.Reflection;
using System.Security.Cryptography;
using Hybrid.Torch.Serialization;

namespace Hybrid.Vision.Backbones.Onnx;

/// <summary>
/// Pretrained weights of <see cref="ResNet18ImageNet"/>: ResNet18.onnx of the NuGet package
/// Microsoft.ML.DnnImageFeaturizer.ResNet18 (MIT; tools/DnnImageModels/ResNet18Onnx), whose
/// path the build compiles in (Hybrid.Vision.csproj references the package without its assets
/// and writes the path into an AssemblyMetadata attribute), converted once by
/// <see cref="CntkResNetImporter"/> and cached as safetensors under
/// $HYBRID_CACHE (default $XDG_CACHE_HOME/hybrid or ~/.cache/hybrid), the file name carrying
/// the first 16 hex digits of the ONNX file's SHA-256. Use:
/// <c>BackboneRegistry.Create("resnet18_imagenet", new() { Weights = ResNet18ImageNetWeights.Pretrained() })</c>.
/// </summary>
public static class ResNet18ImageNetWeights
{
    /// <summary>Key of the AssemblyMetadata attribute holding the package's ONNX path.</summary>
    public const string OnnxPathMetadataKey = "Hybrid.ResNet18ImageNet.Onnx";

    /// <summary>Overrides the compiled-in ONNX path.</summary>
    public const string OnnxPathVariable = "HYBRID_RESNET18_ONNX";

    /// <summary>Overrides the cache folder.</summary>
    public const string CacheVariable = "HYBRID_CACHE";

    private static readonly Dictionary<(string, long, DateTime), string> Digests = new();

    /// <summary>The ResNet18.onnx to convert: $HYBRID_RESNET18_ONNX, else the package's file.</summary>
    public static string OnnxPath()
    {
        var env = Environment.GetEnvironmentVariable(OnnxPathVariable);
        if (!string.IsNullOrEmpty(env))
            return File.Exists(env) ? env : throw new FileNotFoundException($"${OnnxPathVariable} names {env}, which does not exist", env);
        var compiled = typeof(ResNet18ImageNetWeights).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == OnnxPathMetadataKey)?.Value;
        if (string.IsNullOrEmpty(compiled))
            throw new FileNotFoundException($"Hybrid.Vision was built without the path of ResNet18.onnx (package Microsoft.ML.DnnImageFeaturizer.ResNet18); set ${OnnxPathVariable}");
        return File.Exists(compiled) ? compiled
            : throw new FileNotFoundException($"ResNet18.onnx is not at {compiled} (NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0; run dotnet restore, or set ${OnnxPathVariable})", compiled);
    }

    /// <summary>The cache folder: $HYBRID_CACHE, else $XDG_CACHE_HOME/hybrid, else ~/.cache/hybrid.</summary>
    public static string CacheDirectory()
    {
        var env = Environment.GetEnvironmentVariable(CacheVariable);
        if (!string.IsNullOrEmpty(env)) return env;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "hybrid");
    }

    /// <summary>The cached safetensors file for <paramref name="onnxPath"/> (default
    /// <see cref="OnnxPath"/>), converted first when it is not there yet.</summary>
    public static string Pretrained(string? onnxPath = null, string? cacheDirectory = null)
    {
        var onnx = onnxPath ?? OnnxPath();
        var path = Path.Combine(cacheDirectory ?? CacheDirectory(), $"{ResNet18ImageNet.RegistryName}-cntk-{Digest(onnx)[..16]}.safetensors");
        if (!File.Exists(path)) Convert(onnx, path);
        return path;
    }

    /// <summary>Converts <paramref name="onnxPath"/> to a safetensors state dict of
    /// <see cref="ResNet18ImageNet"/> (checked to load into it without a missing, unexpected or
    /// mis-shaped tensor), written atomically.</summary>
    public static void Convert(string onnxPath, string safetensorsPath)
    {
        var model = OnnxReader.Read(onnxPath);
        using var import = CntkResNetImporter.Import(model, ResNet18ImageNet.Config);
        using (var module = new ResNet18ImageNet(OutputStride.ThirtyTwo))
        {
            var report = BackboneWeights.Load(module, import.StateDict, onnxPath);
            if (!report.IsClean) throw new InvalidDataException($"{onnxPath} converted to a state dict that does not fit {ResNet18ImageNet.RegistryName}: {report}");
        }
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["backbone"] = ResNet18ImageNet.RegistryName,
            ["source"] = Path.GetFileName(onnxPath),
            ["source_sha256"] = Digest(onnxPath),
            ["source_producer"] = $"{model.ProducerName} {model.ProducerVersion}".Trim(),
            ["input"] = "0..255 BGR minus channel means " + string.Join(",", BgrMeanInput.MeanBgr),
        };
        Safetensors.Save(safetensorsPath, import.StateDict, metadata);
    }

    /// <summary>SHA-256 of a file in hex (remembered per path, size and modification time).</summary>
    public static string Digest(string path)
    {
        var info = new FileInfo(path);
        var key = (info.FullName, info.Length, info.LastWriteTimeUtc);
        lock (Digests)
            if (Digests.TryGetValue(key, out var known)) return known;
        using var stream = File.OpenRead(path);
        var hex = System.Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
        lock (Digests) Digests[key] = hex;
        return hex;
    }
}
