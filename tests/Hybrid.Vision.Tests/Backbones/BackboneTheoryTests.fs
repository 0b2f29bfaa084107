/// One theory over every registered backbone (timm's habit): each stage's map has the shape
/// FeatureInfo promises, nothing is NaN or infinite, and the gradient of the final feature
/// reaches the first layer. Big nets run at batch 1 and small inputs.
module Hybrid.Vision.Tests.BackboneTheoryTests

open System
open Expecto
open TorchSharp
open Hybrid.Vision.Backbones
open Hybrid.Vision.Tests.TestKit

/// (batch, side, first parameter) per backbone: small enough to keep the suite fast.
let private plan (name: string) =
    match name with
    | "tiny_resnet" -> 2L, 96L, "conv1.weight"
    | "resnet18" | "resnet34" -> 2L, 64L, "conv1.weight"
    | "resnet18_imagenet" -> 2L, 64L, "conv1.weight"
    | "resnet50" | "resnet101" -> 1L, 64L, "conv1.weight"
    | "wideresnet38" -> 1L, 32L, "conv1a.weight"
    | "vit_s16" -> 2L, 64L, "patch_embed.proj.weight"
    | "vit_b16" -> 1L, 32L, "patch_embed.proj.weight"
    | _ -> raise (ArgumentException $"no test plan for backbone '{name}': add one")

let private check (name: string) =
    let batch, side, first = plan name
    torch.manual_seed 1L |> ignore
    use model = BackboneRegistry.Create name
    // The registry's listing (built without the model) agrees with the model.
    let spec = BackboneRegistry.Spec name
    Expect.equal model.Name name "name"
    Expect.equal (model.parameter_count ()) spec.ParameterCount "parameter count"
    Expect.sequenceEqual model.Info.Stages spec.Info.Stages "stages"
    Expect.equal (model.Info.Final, model.Info.LowLevel) (spec.Info.Final, spec.Info.LowLevel) "final and low-level stages"
    Expect.equal model.Info.OutputStride (int64 spec.DefaultOutputStride) "output stride"
    model.train ()
    use _scope = torch.NewDisposeScope()
    let x = torch.randn [| batch; 3L; side; side |]                           // (B, 3, S, S)
    use feats = model.forward x

    Expect.sequenceEqual (feats.Stages |> Seq.map (fun struct (n, _) -> n)) (model.Info.Stages |> Seq.map (fun (s: StageInfo) -> s.Name)) "stage names in order"
    for stage in model.Info.Stages do
        let map = feats[stage.Name]
        let expectedSide = if name.StartsWith "vit" then side / stage.Stride else stage.SideFor side
        Expect.equal map.shape [| batch; stage.Channels; expectedSide; expectedSide |] $"{name}: stage {stage.Name} shape"
        Expect.isTrue (isTrue (map.isfinite().all ())) $"{name}: stage {stage.Name} has NaN or infinite values"
    Expect.isTrue (obj.ReferenceEquals(feats[model.Info.Final], feats.Final)) "Final is the final stage's map"
    Expect.isTrue (obj.ReferenceEquals(feats[model.Info.LowLevel], feats.LowLevel)) "LowLevel is the low-level stage's map"
    let stages = List.ofSeq model.Info.Stages
    let lowLevelAt = List.findIndex (fun (s: StageInfo) -> s.Name = model.Info.LowLevel) stages
    let finalAt = List.findIndex (fun (s: StageInfo) -> s.Name = model.Info.Final) stages
    Expect.isLessThan lowLevelAt finalAt "the low-level tap must come before the final feature"

    let loss = feats.Final.square().mean()
    loss.backward ()
    // The first layer the image meets (a ViT lists cls_token / pos_embed before it, as timm does).
    let p = model.named_parameters () |> Seq.filter (fun struct (n, _) -> n = first) |> Seq.exactlyOne |> fun struct (_, p) -> p
    use g = p.grad
    Expect.isNotNull g $"{name}: no gradient at {first}"
    Expect.isTrue (scalar (g.abs().sum()) > 0.0) $"{name}: zero gradient at {first}"
    Expect.isTrue (isTrue (g.isfinite().all ())) $"{name}: non-finite gradient at {first}"

[<Tests>]
let tests =
    testList "Backbones.Theory" [
        for name in BackboneRegistry.Names do
            testCase $"{name}: stages match FeatureInfo, are finite, gradients reach the first layer and the spec is right" (fun () -> check name)
    ]
