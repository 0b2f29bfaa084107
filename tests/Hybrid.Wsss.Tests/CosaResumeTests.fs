/// CoSA's `--resume`: the dynamic thresholds' queues travel in the checkpoint, so a run
/// stopped and resumed ends where the uninterrupted run ends. The runs' batches reseed the
/// process-wide generator (the suite runs its tests one at a time).
module Hybrid.Wsss.Tests.CosaResumeTests

open System
open System.IO
open Expecto
open Hybrid.Wsss.Tests.SingleThread
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.Cosa
open Hybrid.Wsss.Tests.CosaTestKit

/// The batch of step k, whatever step the stream starts at.
let private stream (start: int) = Seq.initInfinite (fun i -> batch (int64 (start + i)))

/// 6 steps of CoSA (dynamic thresholds, guidance from step 0) in `dir`; `stopAt` cancels
/// after that many steps (the loop checkpoints); `keepState = false` drops the method's
/// checkpoint state (what resuming was before the thresholds were checkpointed).
let private run (dir: string) (resume: bool) (stopAt: int option) (keepState: bool) =
    torch.manual_seed 5L |> ignore
    let m = model tiny
    let meth, state = Cosa.ofModel tiny m
    use cts = new Threading.CancellationTokenSource()
    let meth =
        { meth with
            AfterStep = fun c -> meth.AfterStep c; (if Some(c.Step + 1) = stopAt then cts.Cancel())
            State = if keepState then meth.State else MethodState.none }
    let cfg = { TinyScenes.config 6 with OutDir = Some dir; Resume = resume; Cancel = cts.Token }
    let r = Train.run cfg meth stream ignore None
    m, state, r.Outcome

let private tempDir () = Path.Combine(Path.GetTempPath(), $"hybrid-cosa-resume-{Guid.NewGuid():N}")

[<Tests>]
let tests =
    testList "CosaResume" [
        testCase "a stopped and resumed CoSA run ends as the uninterrupted one, thresholds included" <| fun () ->
            singleThreaded <| fun () ->
                let straight, straightState, _ = run (tempDir ()) false None true
                let dir = tempDir ()
                let first, _, outcome = run dir false (Some 3) true
                Expect.equal outcome (Cancelled 3) "outcome"
                first.Dispose()
                let resumed, resumedState, _ = run dir true None true
                Expect.equal (List.ofSeq resumedState.Threshold.History) (List.ofSeq straightState.Threshold.History) "threshold history"
                Expect.equal (List.ofSeq resumedState.AuxThreshold.History) (List.ofSeq straightState.AuxThreshold.History) "auxiliary threshold history"
                Expect.equal resumedState.Threshold.History.Count 6 "resumedState.Threshold.History.Count"
                Expect.equal resumedState.Threshold.Current straightState.Threshold.Current "resumedState.Threshold.Current"
                let a = straight.state_dict ()
                let b = resumed.state_dict ()
                for KeyValue(k, t) in a do
                    Expect.isTrue (t.allclose(b[k], 1e-5, 1e-6)) ($"{k} differs after resume")
                // without the thresholds in the checkpoint the resumed run refits on a short queue
                let dir2 = tempDir ()
                let first2, _, _ = run dir2 false (Some 3) false
                first2.Dispose()
                let stateless, statelessState, _ = run dir2 true None false
                Expect.equal statelessState.Threshold.History.Count 3 "statelessState.Threshold.History.Count"
                Expect.notEqual (statelessState.Threshold.History.[0]) (straightState.Threshold.History.[3]) "statelessState.Threshold.History.[0]"
                straight.Dispose(); resumed.Dispose(); stateless.Dispose()
    ]
