/// `hybrid backbones`, `hybrid weights inspect`, `hybrid features`: the backbone registry, a
/// checkpoint's load report, and per-stage features for comparison with a PyTorch model.
module Hybrid.Cli.Commands.BackbonesCmd

open Argu
open TorchSharp
open Hybrid.Data
open Hybrid.Vision.Backbones
open Hybrid.Wsss
open Hybrid.Cli
open Spectre.Console

type ListArgs =
    | Json
    interface IArgParserTemplate with
        member _.Usage = "print as JSON"

let list (a: ParseResults<ListArgs>) =
    let specs = BackboneRegistry.List()
    if a.Contains Json then
        printfn "%s" (System.Text.Json.JsonSerializer.Serialize([ for s in specs -> dict [ "name", box s.Name; "parameters", box s.ParameterCount; "input", box s.DefaultInputSize; "output_stride", box (int s.DefaultOutputStride); "stages", box (string s.Info) ] ]))
    else
        let t = Table().AddColumns("name", "parameters", "input", "stages (channels, stride)", "description")
        for s in specs do
            t.AddRow(s.Name, $"{float s.ParameterCount / 1e6:F2} M", string s.DefaultInputSize, Markup.Escape(string s.Info), Markup.Escape s.Description) |> ignore
        AnsiConsole.Write t
    0

type InspectArgs =
    | [<Mandatory>] Backbone of name: string
    | [<Mandatory>] File of path: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Backbone _ -> "registered backbone name"
            | File _ -> "checkpoint (.pth/.pt or .safetensors)"

type ExportArgs =
    | [<Mandatory>] Run of dir: string
    | [<Mandatory>] Out of path: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Run _ -> "a finished or checkpointed `hybrid train` run folder"
            | Out _ -> "the backbone-only .safetensors to write (what `train --weights` takes)"

type WeightsArgs =
    | [<CliPrefix(CliPrefix.None)>] Inspect of ParseResults<InspectArgs>
    | [<CliPrefix(CliPrefix.None)>] Export of ParseResults<ExportArgs>
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Inspect _ -> "load a checkpoint into a backbone and report missing, unexpected and mis-shaped keys"
            | Export _ -> "write a run's backbone alone (a few MB for tiny_resnet) with the run's spec as provenance"

let weights (a: ParseResults<WeightsArgs>) =
    match a.GetSubCommand() with
    | Inspect i ->
        let r = BackboneWeights.Inspect(i.GetResult Backbone, i.GetResult File)
        printfn "%s" (string r)
        if r.IsClean then 0 else 1
    | Export e ->
        let out = e.GetResult Out
        let spec = Hybrid.Wsss.Runs.BackboneExport.export (e.GetResult Run) out
        Say.info $"{spec.Backbone} backbone of {e.GetResult Run} ({spec.Method}, {spec.Steps} steps, seed {spec.Seed}) written to {out} ({float (System.IO.FileInfo(out).Length) / 1048576.0:F1} MiB)"
        0

type FeaturesArgs =
    | [<Mandatory>] Backbone of name: string
    | Weights of file: string
    | [<Mandatory>] Image of path: string
    | [<Mandatory>] Out of path: string
    | Device of name: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Backbone _ -> "registered backbone name"
            | Weights _ -> "checkpoint to load first"
            | Image _ -> "input image (JPEG/PNG), normalised as torchvision does"
            | Out _ -> "output .safetensors with one tensor per stage"
            | Device _ -> DeviceOption.usage

let features (a: ParseResults<FeaturesArgs>) =
    let name = a.GetResult FeaturesArgs.Backbone
    let device = DeviceOption.resolve (a.TryGetResult FeaturesArgs.Device)
    use backbone = BackboneRegistry.Create(name, BackboneOptions(Weights = (a.TryGetResult FeaturesArgs.Weights |> Option.toObj))).``to``(device)
    backbone.eval ()
    let img = ImageIO.Read(a.GetResult Image).ToRgb()
    use rgb = torch.tensor(img.ToChw(), [| 1L; 3L; int64 img.Height; int64 img.Width |], device = device)   // (1, 3, H, W) in [0, 1]
    let spec = BackboneRegistry.Spec name
    use x = spec.Normalization.Normalize rgb
    use _ng = torch.no_grad ()
    FeatureExtraction.WriteSafetensors(backbone, x, a.GetResult FeaturesArgs.Out, spec.Normalization)
    Say.info $"features of {name} written to {a.GetResult FeaturesArgs.Out}"
    0
