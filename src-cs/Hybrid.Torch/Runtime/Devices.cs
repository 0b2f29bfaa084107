namespace Hybrid.Torch;

/// <summary>Devices as the command line and configs spell them ("cpu", "cuda", "cuda:N"), checked
/// against what the loaded libtorch can do, with errors that say what to change.</summary>
public static class Devices
{
    /// <summary>The package that gives CUDA on this operating system.</summary>
    public static string CudaPackage => OperatingSystem.IsWindows() ? "TorchSharp-cuda-windows" : "TorchSharp-cuda-linux";

    /// <summary>Parses "cpu", "cuda", "cuda:N" (any case).</summary>
    public static Device Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        if (t == "cpu") return torch.CPU;
        if (t == "cuda") return new Device(DeviceType.CUDA, 0);
        if (t.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(t.AsSpan(5), out var i) && i >= 0) return new Device(DeviceType.CUDA, i);
        throw new ArgumentException($"unknown device '{text}': use cpu, cuda or cuda:N");
    }

    /// <summary>The device as it is spelled back (cpu, cuda:N).</summary>
    public static string Show(Device d) => d.type == DeviceType.CPU ? "cpu" : $"{d.type.ToString().ToLowerInvariant()}:{Math.Max(d.index, 0)}";

    /// <summary>Throws unless tensors can be made on the device: a CUDA device needs a CUDA build
    /// of libtorch (the package named in the message) and a GPU with that index.</summary>
    public static Device Require(Device d)
    {
        if (d.type == DeviceType.CPU) return d;
        if (d.type != DeviceType.CUDA) throw new ArgumentException($"device {Show(d)} is not supported: use cpu or cuda[:N]");
        if (!torch.cuda.is_available())
            throw new InvalidOperationException(
                $"device {Show(d)} asked for, but the libtorch in use has no CUDA (or no GPU is visible): this build references TorchSharp-cpu. " +
                $"Reference {CudaPackage} instead of TorchSharp-cpu (Directory.Packages.props and src-cs/Hybrid.Torch/Hybrid.Torch.csproj) on a machine with an NVIDIA GPU, or use --device cpu");
        var n = torch.cuda.device_count();
        if (d.index >= n) throw new InvalidOperationException($"device {Show(d)} asked for, but only {n} CUDA device(s) are visible (cuda:0..cuda:{n - 1})");
        return d;
    }

    /// <summary>Parse then Require.</summary>
    public static Device Resolve(string text) => Require(Parse(text));
}
