/// Training checkpoints: model, optimizer, step, RNG and run state restored so that training
/// continues bit-identically; clear errors for truncated or foreign files.
module Hybrid.Torch.Tests.CheckpointTests

open System
open System.Collections.Generic
open System.IO
open Expecto
open TorchSharp
open Hybrid.Torch.Optim
open Hybrid.Torch.Serialization
open Hybrid.Torch.Tests.OneThread

type private Tensor = torch.Tensor
type private F = torch.nn.functional

/// A few optimizer steps of TinyResNet on fixed data.
let private train (m: TinyResNet) (opt: Optimizer) (steps: int) (seed: int) =
    for s in 0 .. steps - 1 do
        use _scope = torch.NewDisposeScope()
        let x = (Data.normal [| 4L; 3L; 6L; 6L |] (seed + s)).to_type torch.ScalarType.Float32   // (B, 3, H, W)
        let y = Data.longs [| 0L; 1L; 2L; 1L |] [| 4L |]
        opt.zero_grad ()
        F.cross_entropy(m.forward x, y).backward()
        opt.step ()

let private sameState (a: torch.nn.Module) (b: torch.nn.Module) =
    let sa = a.state_dict ()
    let sb = b.state_dict ()
    Expect.sequenceEqual sb.Keys sa.Keys "same keys"
    for k in sa.Keys do Expect.isTrue (Same.tensors sa[k] sb[k]) $"'{k}' differs"

let private makeOptimizer (which: string) (m: TinyResNet) =
    match which with
    | "sgd" -> Optimizer.SGD([ ParamGroup(m.parameters ()) ], 0.05, momentum = 0.9, weight_decay = 1e-4, nesterov = true)
    | _ -> Optimizer.AdamW([ ParamGroup(m.parameters ()) ], 0.01)

let private restores (which: string) =
    torchTest $"{which}: restores model, optimizer, step and RNG; training continues bit-identically" (fun () ->
        use dir = new TempDir()
        let path = dir.File "ckpt.safetensors"
        torch.manual_seed 7L |> ignore
        use a = new TinyResNet()
        use optA = makeOptimizer which a
        let freshState = optA.SaveState()
        train a optA 3 100
        Checkpoint.Save(path, a, optA, 3L, readOnlyDict [ "run", "unit" ])
        Expect.sequenceEqual (Directory.GetFiles dir.Path) [ path ] "written atomically: no temporary left"
        use drawnAfterSave = torch.randn [| 5L |]                                     // the RNG stream after the save point

        torch.manual_seed 999L |> ignore                                               // different init, different RNG position
        use b = new TinyResNet()
        use optB = makeOptimizer which b
        let struct (step, meta) = Checkpoint.Load(path, b, optB)
        Expect.equal step 3L "step"
        Expect.equal meta["run"] "unit" "caller's metadata"
        Expect.equal optB.step_count 3L "optimizer step count"
        sameState a b
        let stA = optA.SaveState()
        Expect.notEqual stA freshState "the optimizer has state after three steps"
        Expect.sequenceEqual (optB.SaveState()) stA "optimizer state restored"

        use drawnAfterLoad = torch.randn [| 5L |]
        Expect.isTrue (Same.tensors drawnAfterLoad drawnAfterSave) "the RNG continues the saved stream"

        // Training continues identically from the restored state.
        train a optA 2 200
        train b optB 2 200
        sameState a b)

[<Tests>]
let tests =
    testList "Checkpoint" [
        restores "sgd"
        restores "adamw"

        torchTest "run state travels beside the model, and a checkpoint without it gives none" (fun () ->
            use dir = new TempDir()
            use a = new TinyResNet()
            use queue = Data.longs [| 3L; 0L; 7L; 1L; 2L; 5L |] [| 2L; 3L |]      // (2, 3) int64
            use history = Data.doubles [| 0.5; 0.41 |] [| 2L |]
            let withState = dir.File "with.safetensors"
            Checkpoint.Save(withState, a, null, 4L, state = readOnlyDict [ "queue", queue; "history", history ])
            let state = Dictionary<string, Tensor>()
            use b = new TinyResNet()
            let struct (step, _) = Checkpoint.Load(withState, b, stateOut = state)
            Expect.equal step 4L "step"
            sameState a b                                                              // "state.*" is not model state
            Expect.equal (List.ofSeq state.Keys |> List.sort) [ "history"; "queue" ] "state names"
            Expect.isTrue (Same.tensors state["queue"] queue && state["queue"].dtype = torch.ScalarType.Int64) "queue"
            Expect.isTrue (Same.tensors state["history"] history) "history"
            for t in state.Values do t.Dispose()

            let without = dir.File "without.safetensors"
            Checkpoint.Save(without, a, null, 1L)
            let none = Dictionary<string, Tensor>()
            Checkpoint.Load(without, b, stateOut = none) |> ignore
            Expect.isEmpty none "no state")

        torchTest "loading into a different model says what does not match" (fun () ->
            use dir = new TempDir()
            let path = dir.File "ckpt.safetensors"
            use a = new TinyResNet()
            Checkpoint.Save(path, a, null, 1L)
            use other = torch.nn.Sequential(torch.nn.Linear(4L, 3L) :> torch.nn.Module<Tensor, Tensor>)
            let ex = Expect.throwsC (fun () -> Checkpoint.Load(path, other) |> ignore) id
            Expect.isTrue (ex :? InvalidOperationException) $"{ex.GetType().Name}"
            Expect.stringContains ex.Message "missing" "missing keys"
            Expect.stringContains ex.Message "unexpected" "unexpected keys")

        torchTest "truncated or foreign checkpoints name the file" (fun () ->
            use dir = new TempDir()
            let good = dir.File "ckpt.safetensors"
            use m = new TinyResNet()
            use opt = Optimizer.SGD([ ParamGroup(m.parameters ()) ], 0.1, momentum = 0.9)
            train m opt 1 300
            Checkpoint.Save(good, m, opt, 1L)

            let cut = SafetensorsTests.truncated dir good "cut.safetensors" 0.7
            use m2 = new TinyResNet()
            let e = Expect.throwsC (fun () -> Checkpoint.Load(cut, m2) |> ignore) id
            Expect.isTrue (e :? InvalidDataException) $"cut: {e.GetType().Name}"
            Expect.stringContains e.Message cut "cut: names the file"

            let foreign = dir.File "foreign.safetensors"
            do
                use t = torch.ones [| 2L |]
                Safetensors.Save(foreign, readOnlyDict [ "x", t ])
            let e2 = Expect.throwsC (fun () -> Checkpoint.Load(foreign, m2) |> ignore) id
            Expect.isTrue (e2 :? InvalidDataException) $"foreign: {e2.GetType().Name}"
            Expect.stringContains e2.Message foreign "foreign: names the file"
            Expect.stringContains e2.Message "not a Hybrid checkpoint" "foreign: says what it is not")
    ]
