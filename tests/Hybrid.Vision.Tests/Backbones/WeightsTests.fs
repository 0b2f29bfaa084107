/// Loading checkpoints: the committed torch.save files of torchvision's resnet18 / resnet50 and
/// a timm-named ViT-S (real key names, shapes and OrderedDict layout; every tensor a 1-element
/// storage expanded, value 0.001 (j + 1) for the j-th key, see make_fixtures.py), and round
/// trips of our own state dicts with one tensor mis-shaped.
module Hybrid.Vision.Tests.WeightsTests

open System
open System.Collections.Generic
open System.IO
open Expecto
open TorchSharp
open Hybrid.Torch.Serialization
open Hybrid.Vision.Backbones
open Hybrid.Vision.Tests.TestKit
open Hybrid.Vision.Tests.BackboneFixtures

let private assertStubValues (model: Backbone) (backbone: string) =
    // The j-th key of torchvision's / timm's own state-dict order holds 0.001 (j + 1).
    let sd = model.state_dict ()
    let mutable checkedCount = 0
    referenceKeys backbone
    |> List.iteri (fun j (key, _) ->
        match sd.TryGetValue key with
        | true, t when torch.is_floating_point t.dtype ->
            use lo = t.min()
            use hi = t.max()
            equalDigits 5 (0.001 * float (j + 1)) (scalar lo) $"{key} min"
            equalDigits 5 (0.001 * float (j + 1)) (scalar hi) $"{key} max"
            checkedCount <- checkedCount + 1
        | _ -> ())
    Expect.isGreaterThan checkedCount 50 "tensors checked"

let private torchvisionLoads (name: string) (file: string) =
    use model = BackboneRegistry.Create name
    let report = BackboneWeights.Load(model, pathOf file)
    Expect.isTrue report.IsClean (string report)
    Expect.isEmpty report.Load.Missing "missing"
    Expect.isEmpty report.Load.Unexpected "unexpected"
    Expect.isEmpty report.Load.Mismatched "mis-shaped"
    Expect.equal (ordinal report.Ignored) [ "fc.bias"; "fc.weight" ] "ignored"
    Expect.isNull report.StrippedPrefix "no prefix"
    Expect.isEmpty report.Defaulted "nothing defaulted"
    Expect.equal report.Loaded (model.state_dict().Count) "every tensor loaded"
    Expect.stringContains (string report) "2 ignored" "the report says so"
    assertStubValues model name

/// Builds a state dict of our own (the tensors stay the model's or the scope's).
let private copyOf (sd: Dictionary<string, Tensor>) = Dictionary<string, Tensor>(sd)

[<Tests>]
let tests =
    testList "Backbones.Weights" [
        for name, file in [ "resnet18", "torchvision_resnet18_stub.pth"; "resnet50", "torchvision_resnet50_stub.pth" ] do
            testCase $"A torchvision checkpoint loads with nothing missing and only fc ignored ({name})" (fun () -> torchvisionLoads name file)

        testCase "A timm ViT checkpoint wrapped in model loads with the prefix stripped and head ignored" (fun () ->
            use model = BackboneRegistry.Create "vit_s16"
            let report = BackboneWeights.Load(model, pathOf "timm_vit_s16_stub.pth")
            Expect.isTrue report.IsClean (string report)
            Expect.equal report.StrippedPrefix "model." "prefix"
            Expect.equal (ordinal report.Ignored) [ "head.bias"; "head.weight" ] "ignored"
            assertStubValues model "vit_s16")

        testCase "The registry loads weights at creation and keeps the report" (fun () ->
            use model = BackboneRegistry.Create("resnet18", BackboneOptions(Weights = pathOf "torchvision_resnet18_stub.pth", OutputStride = Nullable OutputStride.Eight))
            Expect.isNotNull model.LoadedWeights "report kept"
            Expect.isTrue model.LoadedWeights.IsClean "clean"
            Expect.equal model.Info.OutputStride 8L "output stride")

        testCase "A pth round trip is clean and a mis-shaped tensor is reported and not copied" (fun () ->
            withTempDir "hybrid-weights-" (fun dir ->
                torch.manual_seed 3L |> ignore
                use a = BackboneRegistry.Create "resnet18"
                let file = Path.Combine(dir, "ours.pth")
                PyTorchFile.Save(file, a.state_dict ())

                use b = BackboneRegistry.Create "resnet18"
                let clean = BackboneWeights.Load(b, file)
                Expect.isTrue clean.IsClean (string clean)
                Expect.isEmpty clean.Ignored "nothing ignored"
                let sa = a.state_dict ()
                for KeyValue (k, t) in b.state_dict () do Expect.isTrue (same t sa[k]) $"{k} differs after the round trip"

                // One tensor with the wrong shape: reported, left untouched, and Create refuses the file.
                use _scope = torch.NewDisposeScope()
                let bad = copyOf sa
                bad["layer1.0.conv1.weight"] <- torch.ones [| 64L; 64L; 1L; 1L |]
                let badFile = Path.Combine(dir, "bad.pth")
                PyTorchFile.Save(badFile, bad)
                use c = BackboneRegistry.Create "resnet18"
                let before = c.state_dict().["layer1.0.conv1.weight"].clone()
                let report = BackboneWeights.Load(c, badFile)
                Expect.isFalse report.IsClean "not clean"
                let m = Expect.wantSome (report.Load.Mismatched |> Seq.tryExactlyOne) "exactly one mis-shaped tensor"
                let struct (key, expected, found) = m
                Expect.equal key "layer1.0.conv1.weight" "key"
                Expect.equal expected [| 64L; 64L; 3L; 3L |] "model shape"
                Expect.equal found [| 64L; 64L; 1L; 1L |] "file shape"
                Expect.isTrue (same (c.state_dict().["layer1.0.conv1.weight"]) before) "left untouched"
                Expect.stringContains (string report) "mis-shaped" "the report says so"
                let e = raises<InvalidDataException> "Create with a bad file" (fun () -> BackboneRegistry.Create("resnet18", BackboneOptions(Weights = badFile)) |> ignore)
                Expect.stringContains e.Message "layer1.0.conv1.weight" "names the tensor"))

        testCase "Safetensors load too and missing or unknown keys are reported" (fun () ->
            withTempDir "hybrid-weights-" (fun dir ->
                use _scope = torch.NewDisposeScope()
                use a = BackboneRegistry.Create "tiny_resnet"
                let sd = copyOf (a.state_dict ())
                sd.Remove "layer4.0.bn2.weight" |> ignore
                sd["extra.weight"] <- torch.zeros [| 3L |]
                let file = Path.Combine(dir, "partial.safetensors")
                Safetensors.Save(file, sd)
                use b = BackboneRegistry.Create "tiny_resnet"
                let report = BackboneWeights.Load(b, file)
                Expect.sequenceEqual report.Load.Missing [ "layer4.0.bn2.weight" ] "missing"
                Expect.sequenceEqual report.Load.Unexpected [ "extra.weight" ] "unexpected"
                Expect.isFalse report.IsClean "not clean"))

        testCase "A run checkpoint initialises the backbone through its nested prefix" (fun () ->
            // a method's checkpoint: the whole model under "model." (backbone, classifier) beside
            // the optimizer's state, as Checkpoint.Save writes it after `hybrid train`
            withTempDir "hybrid-weights-" (fun dir ->
                use _scope = torch.NewDisposeScope()
                torch.manual_seed 5L |> ignore
                use trained = BackboneRegistry.Create "tiny_resnet"
                let sd = Dictionary<string, Tensor>()
                for KeyValue (k, v) in trained.state_dict () do sd["model.backbone." + k] <- v
                sd["model.classifier.weight"] <- torch.zeros [| 10L; 192L |]
                sd["optimizer.0.0.exp_avg"] <- torch.zeros [| 3L |]
                let file = Path.Combine(dir, "run-checkpoint.safetensors")
                Safetensors.Save(file, sd)
                torch.manual_seed 6L |> ignore
                use fresh = BackboneRegistry.Create "tiny_resnet"
                let report = BackboneWeights.Load(fresh, file)
                Expect.equal report.StrippedPrefix "model.backbone." "nested prefix"
                Expect.isEmpty report.Load.Missing "missing"
                Expect.isEmpty report.Load.Unexpected "unexpected"
                Expect.equal (ordinal report.OutsidePrefix) [ "model.classifier.weight"; "optimizer.0.0.exp_avg" ] "set aside"
                let a = trained.state_dict ()
                for KeyValue (k, t) in fresh.state_dict () do Expect.isTrue (same t a[k]) $"{k} was not loaded"))

        testCase "Old checkpoints without num_batches_tracked and half precision ones load clean" (fun () ->
            withTempDir "hybrid-weights-" (fun dir ->
                use _scope = torch.NewDisposeScope()
                use a = BackboneRegistry.Create "tiny_resnet"
                let sd = Dictionary<string, Tensor>()
                for KeyValue (k, v) in a.state_dict () do
                    if not (k.EndsWith "num_batches_tracked") then
                        sd[k] <- if v.dtype = ScalarType.Float32 then v.to_type ScalarType.Float16 else v
                let file = Path.Combine(dir, "old.pth")
                PyTorchFile.Save(file, sd)
                use b = BackboneRegistry.Create "tiny_resnet"
                let report = BackboneWeights.Load(b, file)
                Expect.isTrue report.IsClean (string report)
                Expect.equal report.Defaulted.Count (a.named_buffers () |> Seq.filter (fun struct (n, _) -> n.EndsWith "num_batches_tracked") |> Seq.length) "every counter defaulted"
                Expect.contains report.Converted "Float16 -> Float32" "the conversion is reported"))

        testCase "A ViT position embedding of another grid is resampled and reported" (fun () ->
            use _scope = torch.NewDisposeScope()
            use model = BackboneRegistry.Create "vit_s16"
            let sd = copyOf (model.state_dict ())
            sd["pos_embed"] <- torch.randn [| 1L; 1L + 24L * 24L; 384L |]     // a 384-px checkpoint
            let report = BackboneWeights.Load(model, sd)
            Expect.isTrue report.IsClean (string report)
            Expect.exists report.Adapted (fun a -> a.StartsWith "pos_embed [1,577,384] -> [1,197,384]") "the resampling is reported"
            use cls = model.state_dict().["pos_embed"].narrow(1L, 0L, 1L)
            use fileCls = sd["pos_embed"].narrow(1L, 0L, 1L)
            Expect.isTrue (same cls fileCls) "the class token's embedding is copied, not resampled")

        testCase "Missing and corrupt files are clear errors" (fun () ->
            withTempDir "hybrid-weights-" (fun dir ->
                use model = BackboneRegistry.Create "tiny_resnet"
                let missing = Path.Combine(dir, "nope.pth")
                Expect.stringContains (raises<FileNotFoundException> "missing" (fun () -> BackboneWeights.Load(model, missing) |> ignore)).Message "not found" "says not found"
                let corrupt = Path.Combine(dir, "corrupt.pth")
                File.WriteAllBytes(corrupt, [| byte 'P'; byte 'K'; 3uy; 4uy; 1uy; 2uy; 3uy |])
                raises<InvalidDataException> "corrupt pth" (fun () -> BackboneWeights.Load(model, corrupt) |> ignore) |> ignore
                let corruptSt = Path.Combine(dir, "corrupt.safetensors")
                File.WriteAllBytes(corruptSt, [| 1uy; 2uy; 3uy |])
                raises<InvalidDataException> "corrupt safetensors" (fun () -> BackboneWeights.Load(model, corruptSt) |> ignore) |> ignore))
    ]
