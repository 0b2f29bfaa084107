using System.Globalization;
using Hybrid.Torch.Optim;

namespace Hybrid.Torch.Serialization;

/// <summary>
/// A training checkpoint: model state dict, optimizer state, step, libtorch's RNG state and
/// free-form metadata, as one safetensors file written atomically. Keys: "model.*",
/// "optim.state" (TorchSharp's optimizer state as bytes), "rng.cpu", and "state.*" for run state
/// that lives outside the model (e.g. a method's threshold queues); metadata "step",
/// "optim.steps" and whatever the caller adds.
/// </summary>
public static class Checkpoint
{
    public const string Format = "hybrid-checkpoint-2";

    public static void Save(string path, nn.Module model, Optimizer? optimizer, long step, IReadOnlyDictionary<string, string>? metadata = null,
        IReadOnlyDictionary<string, Tensor>? state = null)
    {
        using var scope = torch.NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (k, t) in model.state_dict()) tensors["model." + k] = t;
        if (state is not null)
            foreach (var (k, t) in state) tensors["state." + k] = t;
        if (optimizer is not null) tensors["optim.state"] = torch.tensor(optimizer.SaveState(), ScalarType.Byte);
        tensors["rng.cpu"] = torch.get_rng_state();
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>())
        {
            ["format"] = Format,
            ["step"] = step.ToString(CultureInfo.InvariantCulture),
            ["optim.steps"] = (optimizer?.step_count ?? 0).ToString(CultureInfo.InvariantCulture),
        };
        Safetensors.Save(path, tensors, meta);
    }

    /// <summary>Restores model (strict), optimizer and RNG; returns the step and the metadata.
    /// With <paramref name="stateOut"/>, the "state.*" tensors (names without the prefix) are
    /// added to it and become the caller's to dispose; a checkpoint written without state adds
    /// nothing.</summary>
    public static (long Step, Dictionary<string, string> Metadata) Load(string path, nn.Module model, Optimizer? optimizer = null, bool restoreRng = true,
        IDictionary<string, Tensor>? stateOut = null)
    {
        var (tensors, meta) = Safetensors.Load(path);
        try
        {
            if (!meta.TryGetValue("format", out var f) || f != Format)
                throw new InvalidDataException(f is null
                    ? $"{path} is a safetensors file but not a Hybrid checkpoint (no format tag)"
                    : $"{path} is a Hybrid checkpoint of format '{f}'; this version reads '{Format}' (checkpoints written before the move to TorchSharp are not read: retrain, or load its weights with --weights)");
            var modelSd = tensors.Where(kv => kv.Key.StartsWith("model.")).ToDictionary(kv => kv.Key["model.".Length..], kv => kv.Value);
            StateDicts.Load(model, modelSd, strict: true);
            if (optimizer is not null && tensors.TryGetValue("optim.state", out var os))
                optimizer.LoadState(os.bytes.ToArray(), long.Parse(meta["optim.steps"], CultureInfo.InvariantCulture));
            if (restoreRng && tensors.TryGetValue("rng.cpu", out var rng)) torch.set_rng_state(rng);
            if (stateOut is not null)
                foreach (var k in tensors.Keys.Where(k => k.StartsWith("state.")).ToList())
                {
                    stateOut[k["state.".Length..]] = tensors[k];
                    tensors.Remove(k); // handed over: not disposed below
                }
            return (long.Parse(meta["step"], CultureInfo.InvariantCulture), meta);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }
}
