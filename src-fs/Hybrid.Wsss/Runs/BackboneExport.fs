/// A run's backbone alone, as a file `train --weights` starts from: the backbone's tensors
/// (a few MB for tiny_resnet, against a checkpoint's optimizer state, heads and method state)
/// with the run's spec in the safetensors metadata as its provenance.
module Hybrid.Wsss.Runs.BackboneExport

open System.IO
open TorchSharp
open Hybrid.Torch.Serialization
open Hybrid.Vision.Backbones
open Hybrid.Wsss.Training

/// The metadata tag of an exported backbone.
let format = "hybrid-backbone-1"

/// Writes the backbone of the run in `dir` to `out` and returns the spec it came from. The
/// checkpoint is loaded into a fresh backbone of the run's name and stride, which refuses a
/// checkpoint that does not fit it, and the backbone's own state dict is written, so the file
/// loads cleanly by construction. Metadata: format, backbone, output_stride, run (run.json's
/// text) and results (results.json's text, when the run finished).
let export (dir: string) (out: string) : RunSpec =
    let spec, _ = RunSpec.load dir
    let checkpoint = Train.checkpointPath dir
    if not (File.Exists checkpoint) then
        RunError.folderConflict $"{dir} has no checkpoint.safetensors: train the run (or resume it) before exporting its backbone"
    if Path.GetFullPath out = Path.GetFullPath checkpoint then
        RunError.badArguments $"--out {out}: that is the run's checkpoint; give another file"
    let options = BackboneOptions(OutputStride = System.Nullable(enum<OutputStride> spec.OutputStride), FrozenBatchNorm = spec.FrozenBatchNorm, Weights = checkpoint)
    use backbone = BackboneRegistry.Create(spec.Backbone, options)
    let results = Path.Combine(dir, "results.json")
    let metadata =
        dict [ yield "format", format
               yield "backbone", spec.Backbone
               yield "output_stride", string spec.OutputStride
               yield "run", File.ReadAllText(RunSpec.path dir)
               if File.Exists results then yield "results", File.ReadAllText results ]
    match Path.GetDirectoryName(Path.GetFullPath out) with
    | null -> ()
    | parent -> Directory.CreateDirectory parent |> ignore
    use scope = torch.NewDisposeScope()
    let tensors = backbone.state_dict () |> Seq.map (fun kv -> kv.Key, kv.Value) |> dict
    Safetensors.Save(out, System.Collections.Generic.Dictionary(tensors), System.Collections.Generic.Dictionary(metadata))
    spec
