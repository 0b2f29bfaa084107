/// Our backbones against PyTorch: state-dict names and shapes equal torchvision's (and the
/// timm / PSA name mirrors), and forward results equal PyTorch's on the same deterministic
/// weights (Fixtures/Backbones/goldens.json; provenance in make_fixtures.py: torch 1.13,
/// torchvision 0.14).
module Hybrid.Vision.Tests.ReferenceTests

open System
open Expecto
open TorchSharp
open Hybrid.Vision.Backbones
open Hybrid.Vision.Tests.TestKit
open Hybrid.Vision.Tests.BackboneFixtures

let private keysEqualTheReference (name: string) (classifier: string option) =
    let reference = referenceKeys name
    let isClassifier (k: string) = match classifier with Some c -> k.StartsWith c | None -> false
    let expected = reference |> List.filter (fun (k, _) -> not (isClassifier k)) |> Map.ofList
    use model = BackboneRegistry.Create name
    let ours = model.state_dict () |> Seq.map (fun kv -> kv.Key, kv.Value.shape) |> Map.ofSeq
    Expect.isEmpty (Set.difference (set expected.Keys) (set ours.Keys)) "reference keys missing from ours"
    Expect.isEmpty (Set.difference (set ours.Keys) (set expected.Keys)) "our keys absent from the reference"
    for KeyValue (k, s) in expected do
        Expect.isTrue (s = ours[k]) $"""{k}: reference [{String.Join(",", s)}], ours [{String.Join(",", ours[k])}]"""
    if classifier.IsSome then
        for k, _ in reference |> List.filter (fun (k, _) -> isClassifier k) do
            Expect.isTrue (model.IsIgnorableCheckpointKey k) $"{k} is an ignorable classifier key"

let private forwardEqualsPyTorch (name: string) =
    let g = goldens().GetProperty name
    let os = enum<OutputStride> (g.GetProperty("output_stride").GetInt32())
    let shape = [| for x in g.GetProperty("input").EnumerateArray() -> x.GetInt64() |]
    use model = BackboneRegistry.Create(name, BackboneOptions(OutputStride = Nullable os))
    fill model (referenceKeys name |> List.map fst)
    model.eval ()
    use _scope = torch.NewDisposeScope()
    use _g = torch.no_grad ()
    let x = goldenInput shape[0] shape[2] shape[3]
    use feats = model.forward x
    let mutable compared = 0
    for stage in g.GetProperty("stages").EnumerateObject() do
        let map = feats[stage.Name]
        let s = stage.Value
        Expect.sequenceEqual map.shape [| for v in s.GetProperty("shape").EnumerateArray() -> v.GetInt64() |] $"{name}.{stage.Name}: shape"
        let flat = map.contiguous().reshape(-1L).to_type(ScalarType.Float64)
        let std = s.GetProperty("std").GetDouble()
        let tol = 1e-4 * std
        let mean = scalar (flat.mean())
        Expect.isTrue (abs (mean - s.GetProperty("mean").GetDouble()) <= tol) $"""{name}.{stage.Name}: mean {mean} vs PyTorch {s.GetProperty("mean").GetDouble()}"""
        let ourStd = scalar (flat.std())
        Expect.isTrue (abs (ourStd - std) <= tol) $"{name}.{stage.Name}: std {ourStd} vs PyTorch {std}"
        let values = doubles flat
        let idx = [| for v in s.GetProperty("index").EnumerateArray() -> v.GetInt64() |]
        let want = [| for v in s.GetProperty("value").EnumerateArray() -> v.GetDouble() |]
        for i in 0 .. idx.Length - 1 do
            Expect.isTrue (abs (values[int idx[i]] - want[i]) <= tol) $"{name}.{stage.Name}[{idx[i]}] = {values[int idx[i]]}, PyTorch {want[i]}"
        compared <- compared + 1
    Expect.equal compared model.Info.Stages.Count "every stage compared"

let private resamplingEqualsInterpolate (h: int64) (w: int64) =
    let refs = goldens().GetProperty "pos_embed_resample"
    use _scope = torch.NewDisposeScope()
    let pos = (torch.arange(0L, 48L, 1L, ScalarType.Float64) * 0.3).sin().to_type(ScalarType.Float32).reshape(1L, 16L, 3L) // (1, 4*4, 3)
    for mode, key in [ PosEmbedInterpolation.Bicubic, "bicubic"; PosEmbedInterpolation.Bilinear, "bilinear" ] do
        let r = PositionEmbedding.Resample(pos, 4L, 4L, h, w, mode)          // (1, h*w, 3)
        Expect.equal r.shape [| 1L; h * w; 3L |] $"{key} {h}x{w}: shape"
        let want = [| for v in refs.GetProperty($"{key}_{h}x{w}").EnumerateArray() -> v.GetSingle() |]
        let got = floats r
        for i in 0 .. want.Length - 1 do
            Expect.isTrue (abs (got[i] - want[i]) < 2e-5f) $"{key} {h}x{w} [{i}]: {got[i]} vs F.interpolate {want[i]}"
    let sameGrid = PositionEmbedding.Resample(pos, 4L, 4L, 4L, 4L, PosEmbedInterpolation.Bicubic)
    Expect.isTrue (same sameGrid pos) "the same grid is returned unchanged"

[<Tests>]
let tests =
    testList "Backbones.Reference" [
        for name, classifier in [ "resnet18", Some "fc."; "resnet34", Some "fc."; "resnet50", Some "fc."; "resnet101", Some "fc."
                                  "vit_s16", Some "head."; "vit_b16", Some "head."; "wideresnet38", None ] do
            testCase $"State dict keys and shapes equal the reference minus the classifier ({name})" (fun () -> keysEqualTheReference name classifier)
        for name in [ "resnet18"; "resnet50"; "wideresnet38"; "vit_s16" ] do
            testCase $"Forward equals PyTorch on deterministic weights ({name})" (fun () -> forwardEqualsPyTorch name)
        for h, w in [ 3L, 5L; 7L, 6L ] do
            testCase $"Position embedding resampling equals F.interpolate ({h}x{w})" (fun () -> resamplingEqualsInterpolate h w)
    ]
