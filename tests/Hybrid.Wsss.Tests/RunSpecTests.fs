/// RunSpec, the typed value of a run (issue 21, point 1): its JSON form is lossless, and its
/// validation sees every problem at once.
module Hybrid.Wsss.Tests.RunSpecTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Hybrid.Wsss.Methods
open Hybrid.Wsss.Training
open Hybrid.Wsss.Runs
open Hybrid.Wsss.Tests.Properties

/// A valid-looking spec: a registered method, a few of its settings at values their table
/// shows, any numbers and paths.
let private specs =
    gen {
        let! entry = Gen.elements Registry.all
        let rows = entry.Settings.Rows |> List.filter (fun r -> not (r.Default.StartsWith "("))
        let! picked = Gen.subListOf rows
        let! path = Gen.elements [ "data/fmnist-scenes"; "/tmp/a b/c"; "VOC2012" ]
        let! labels = Gen.elements [ None; Some "runs/cam/labels" ]
        let! weights = Gen.elements [ None; Some "w.safetensors" ]
        let! steps = Gen.choose (1, 100000)
        let! seed = Gen.choose (0, 1000)
        let! batch = Gen.choose (1, 64)
        let! crop = Gen.choose (16, 512)
        let! lrExp = Gen.choose (-7, 0)
        let! lrMant = Gen.choose (1, 999)
        let! stride = Gen.elements [ 8; 16 ]
        let! frozen = Gen.elements [ false; true ]
        let! every = Gen.choose (1, 1000)
        let! evalEvery = Gen.elements [ None; Some 50 ]
        let! optimizer = Gen.elements [ None; Some(Sgd(0.9, 5e-4)); Some(Sgd(0.0, 0.0)); Some(AdamW 0.01) ]
        return
            { Method = entry.Name
              Data = path
              Labels = labels
              Backbone = "tiny_resnet"
              OutputStride = stride
              FrozenBatchNorm = frozen
              Weights = weights
              Seed = seed
              Steps = steps
              BatchSize = batch
              Crop = crop
              Lr = float lrMant * Math.Pow(10.0, float lrExp) / 7.0
              Optimizer = optimizer
              Settings = picked |> List.map (fun r -> r.Name, r.Default) },
            { Execution.defaults with CheckpointEvery = every; EvalEvery = evalEvery; Device = "cpu"; Workers = seed % 4 }
    }

[<Tests>]
let tests =
    testList "RunSpec" [
        property "run.json round trip: reading what was written gives the spec and execution back" (
            Prop.forAll (Arb.fromGen specs) (fun (spec, exec) ->
                let back, backExec = RunSpec.ofJson "run.json" (RunSpec.toJson spec exec)
                back = spec && backExec = { exec with ScanImages = true }))

        testCase "a hybrid-run-1 run.json written before --frozen-bn reads as trained BatchNorm" <| fun () ->
            let spec = RunSpec.defaults (Registry.find "cam")
            let node = System.Text.Json.Nodes.JsonNode.Parse(RunSpec.toJson { spec with FrozenBatchNorm = true } Execution.defaults).AsObject()
            Expect.isTrue (node.Remove "frozen_bn") "the writer names the field frozen_bn"
            let back, _ = RunSpec.ofJson "run.json" (node.ToJsonString())
            Expect.equal back spec "every other field read back, FrozenBatchNorm = false"

        testCase "a run.json written before --optimizer reads as the method's recipe" <| fun () ->
            let spec = RunSpec.defaults (Registry.find "plda")
            let node = System.Text.Json.Nodes.JsonNode.Parse(RunSpec.toJson { spec with Optimizer = Some(Sgd(0.9, 5e-4)) } Execution.defaults).AsObject()
            let kind = node.["optimizer"].["kind"].GetValue<string>()
            Expect.equal kind "sgd" "the writer names the kind"
            Expect.isTrue (node.Remove "optimizer") "the writer names the field optimizer"
            let back, _ = RunSpec.ofJson "run.json" (node.ToJsonString())
            Expect.equal back spec "every other field read back, Optimizer = None"

        testCase "a run.json with an unknown optimizer kind is refused, naming the field" <| fun () ->
            let spec = RunSpec.defaults (Registry.find "cam")
            let node = System.Text.Json.Nodes.JsonNode.Parse(RunSpec.toJson { spec with Optimizer = Some(AdamW 0.01) } Execution.defaults).AsObject()
            node.["optimizer"].["kind"] <- System.Text.Json.Nodes.JsonValue.Create "lion"
            Expect.throwsC (fun () -> RunSpec.ofJson "run.json" (node.ToJsonString()) |> ignore)
                (fun e -> Expect.stringContains e.Message "optimizer.kind" "names the field")

        testCase "validation lists every problem of a spec at once" <| fun () ->
            let entry = Registry.find "cosa"
            let bad =
                { RunSpec.defaults entry with
                    Steps = 0
                    BatchSize = -1
                    Lr = nan
                    OutputStride = 4
                    Backbone = "nope"
                    Data = "/no/such/folder"
                    Settings = [ "gc", "maybe"; "nokey", "1" ] }
            let ps = RunSpec.problems bad
            for expected in [ "--steps 0"; "--batch-size -1"; "--lr NaN"; "--output-stride 4"; "--backbone nope"; "/no/such/folder"; "gc=maybe"; "'nokey'" ] do
                Expect.exists ps (fun p -> p.Contains expected) $"names {expected}: %A{ps}"
            Expect.exists (RunSpec.problems { bad with Lr = -1e-3 }) (fun p -> p.Contains "--lr -0.001") "a negative lr"
            Expect.exists (RunSpec.problems { bad with Lr = infinity }) (fun p -> p.Contains "--lr") "an infinite lr"
            Expect.exists (RunSpec.problems { bad with Optimizer = Some(AdamW(-1.0)) }) (fun p -> p.Contains "--weight-decay -1") "a negative weight decay"
            Expect.exists (RunSpec.problems { bad with Optimizer = Some(Sgd(1.5, 0.0)) }) (fun p -> p.Contains "momentum 1.5") "a momentum >= 1"

        testCase "--weights imagenet belongs to resnet18_imagenet, whose default start it is" <| fun () ->
            let b = RunSpec.defaults (Registry.find "cam")
            Expect.equal (RunSpec.defaultWeights "resnet18_imagenet") (Some RunSpec.imagenetWeights) "resnet18_imagenet starts from ImageNet"
            Expect.equal (RunSpec.defaultWeights "tiny_resnet") None "others from random init"
            Expect.exists (RunSpec.problems { b with Weights = Some "imagenet" }) (fun p -> p.Contains "only the resnet18_imagenet backbone") "refused for tiny_resnet"
            Expect.isFalse (RunSpec.problems { b with Backbone = "resnet18_imagenet"; Weights = Some "imagenet" } |> List.exists (fun p -> p.Contains "weights")) "accepted for resnet18_imagenet"

        testCase "differences name each field that differs, settings by their resolved values" <| fun () ->
            let a = { RunSpec.defaults (Registry.find "cosa") with Settings = [ "gc", "false" ] }
            Expect.isEmpty (RunSpec.differences a { a with Settings = [ "GC", "off" ] }) "the same settings, spelled otherwise"
            Expect.isEmpty (RunSpec.differences a { a with Settings = [ "gc", "false"; "sa", "true" ] }) "a default given explicitly"
            let d = RunSpec.differences a { a with Steps = 10; Settings = [ "gc", "true" ] }
            // gc and guidance are two keys of one field: both show the change
            Expect.equal d [ "--steps 10 (run.json: 3000)"; "--set gc=true (run.json: false)"; "--set guidance=spl (run.json: none)" ] "the differences"
    ]
