/// One theory over every registered method (Registry.all, so a method registered later is
/// covered without a line here): on the tiny FMNIST-Scenes set (TinyScenes: batches of 4 at
/// 32x32, tiny_resnet), each method's final model (what its entry's Build returns) must
///   (a) give a non-empty list of named, finite losses in one step;
///   (b) after that step's backward, give every parameter its optimizer trains (every parameter
///       of its Groups: with the backbone trained from scratch every layer is a new layer) a
///       gradient that exists, is finite and is not all zero;
///   (c) leave the live tensors flat over 20 steps of Train.run after 3 warm-up steps (the
///       process's settled Tensor.TotalCount and the tensors the training thread made and did
///       not dispose, which also counts a tensor left to the garbage collector), no slack;
///   (d) end two runs of one seed (build and steps) with bit-identical weights, buffers and
///       method state;
///   (e) end a run stopped after k steps (Train.run's checkpoint) and resumed into a model
///       rebuilt from other initial weights exactly where the uninterrupted 2k-step run ends.
/// A method that needs more than Build on the tiny set (cheap widths, a gate opened at step 0,
/// the stage inputs of a multi-stage run) says so in `exercises`; a method without an exercise
/// runs with Build and no settings, and a failure names the missing exercise. Everything runs on
/// one libtorch thread, so the comparisons are exact.
module Hybrid.Wsss.Tests.MethodTheory

open System
open System.IO
open System.Threading
open Expecto
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods
open Hybrid.Wsss.Methods.Cam
open Hybrid.Wsss.Methods.Csd
open Hybrid.Wsss.Methods.AuxSegNetPlus
open Hybrid.Wsss.Tests.SingleThread
open Hybrid.Wsss.Tests.TensorValues

/// How the theory steps a method on the tiny set.
type Exercise =
    { /// `--set` pairs: cheap widths, and switches that put step 0 past a warm-up gate.
      Sets: (string * string) list
      /// The final model as its stage of a multi-stage run trains it: Build's method given the
      /// stage inputs that run would hand it, made from the tiny set (identity for one stage).
      Stage: MethodEnv -> (string * string) list -> Method -> Method
      /// Why a trained parameter legitimately gets no gradient from the first step's batch
      /// (None: it must get one). A documented exception per parameter and batch, not a skip.
      NoGradient: Batch -> string -> string option }

module Exercise =
    let plain = { Sets = []; Stage = (fun _ _ m -> m); NoGradient = fun _ _ -> None }

/// PLDA's multi-head discriminator (Eq. 5): head c judges only the pixels the CAM assigns to
/// class c, so the head of a class absent from the batch gets no gradient. A present class
/// always has source pixels (its max-normalised CAM reaches 1 > delta), so its head must get one.
let private pldaAbsentClassHead (batch: Batch) (name: string) : string option =
    let m = Text.RegularExpressions.Regex.Match(name, @"^discriminator\.heads\.(\d+)\.")
    if not m.Success then None
    else
        let c = int m.Groups[1].Value
        use column = batch.Labels.select(1L, int64 c)                     // (B)
        if Array.exists (fun x -> x > 0.0f) (floats column) then None
        else Some $"class {c + 1} is absent from the batch, so head {c} judges no pixel (Eq. 5)"

/// CSD's stage 2 with the partner source its stage 1 would give: the single-label images'
/// masks taken from the tiny set's ground truth (the library's oracle path, Csd.partners with
/// no stage-1 model), so the copy-paste terms L_fg and L_bg run, not only L_cls.
let private csdStage2 (env: MethodEnv) (sets: (string * string) list) (built: Method) : Method =
    let cfg = Csd.config sets
    let ctx: RunContext =
        { Env = env
          Config = TrainConfig.defaults 1 (Schedule.constant 1e-3)
          Batches = fun _ -> Seq.empty
          BatchesOf = fun _ _ -> Seq.empty
          ValBatches = fun () -> Seq.empty
          OnProgress = ignore
          Log = ignore }
    CsdMethod.create cfg (built.Model :?> CamNet) (Some(Csd.partners ctx cfg None)) env

/// AuxSegNet+'s label stage (Eq. 19: every branch trains), on the targets its stage-wise run
/// reads from the batch (the loader reads a stage's label folder as masks and saliency); here
/// the tiny set's masks and saliency maps stand in for stage 0's labels.
let private auxSegNetLabelStage (_: MethodEnv) (_: (string * string) list) (built: Method) : Method =
    AuxSegNetPlusMethod.forPhase (built.Model :?> AuxSegNetNetwork) (LabelStage 0) (fun b ->
        { Segmentation = Batch.masks b; Saliency = Batch.saliency b })

/// Per method, what differs from `Exercise.plain`.
let exercises: Map<string, Exercise> =
    let cheapCosa =
        // warmup=0: CAM2Seg, Seg2CAM and CSC are on from step 0 (the default 10% of the run
        // would gate them off in the first step); one pseudo-label scale and a narrow head keep it fast
        [ "warmup", "0"; "scales", "1"; "flip", "false"; "head-hidden", "16"; "head-dilation", "2" ]
    Map.ofList
        [ "cosa", { Exercise.plain with Sets = cheapCosa }
          // Build is stage 2's segmentation network (CoSA's settings do not reach it); the tiny
          // set's masks stand in for the CPL that stage 1 would put in the batches
          "cosa-ms", Exercise.plain
          "plda", { Exercise.plain with NoGradient = pldaAbsentClassHead }
          "csd", { Exercise.plain with Stage = csdStage2 }
          "auxsegnet+",
          { Exercise.plain with
              Sets = [ "channels", "8"; "dilations", "1,2"; "cam-scales", "1" ]
              Stage = auxSegNetLabelStage } ]

let private exerciseOf (entry: MethodEntry) = exercises |> Map.tryFind entry.Name |> Option.defaultValue Exercise.plain

/// A property failed because the method could not be stepped at all on the tiny set.
let private cannotExercise (entry: MethodEntry) (what: string) (e: exn) : 'a =
    failtestf "%s: %s failed on the tiny set (%s: %s); if the method needs settings or stage inputs to train, give it an exercise in MethodTheory.exercises"
        entry.Name what (e.GetType().Name) e.Message

/// The environment of a run of `steps` steps.
let private envOf (steps: int) = TinyScenes.env steps

/// The method's final model, built after seeding libtorch's generator (as the registry's
/// seedingInit does before Train), with its stage inputs.
let private build (entry: MethodEntry) (env: MethodEnv) (seed: int64) : Method =
    let ex = exerciseOf entry
    torch.manual_seed seed |> ignore
    let built = try entry.Build env ex.Sets with e -> cannotExercise entry "Build" e
    try ex.Stage env ex.Sets built with e -> cannotExercise entry "preparing the stage inputs" e

/// The entry's own optimizer and schedule over `steps` steps, no run folder.
let private config (entry: MethodEntry) (steps: int) (seed: int) : TrainConfig =
    { TrainConfig.defaults steps (Recipe.schedule entry.Recipe) with
        Optimizer = entry.Recipe.Optimizer
        Seed = seed
        LogEvery = 1 }

let private batches (entry: MethodEntry) = TinyScenes.batches entry.Recipe.StrongView

let private seed = 3

/// Every tensor the method carries from step to step: model parameters and buffers by
/// state-dict name, and the run state it checkpoints beside the model.
let private snapshot (m: Method) : (string * float32[]) list =
    use _scope = torch.NewDisposeScope()
    [ for KeyValue(k, t) in m.Model.state_dict () -> k, floats t ]
    @ [ for k, t in m.State.Save() -> "state:" + k, floats t ]

/// Runs a method through Train.run; returns the outcome.
let private train (entry: MethodEntry) (cfg: TrainConfig) (m: Method) : TrainOutcome =
    try (Train.run cfg m (batches entry) ignore None).Outcome
    with
    | :? AssertException -> reraise ()
    | e -> cannotExercise entry "Train.run" e

/// Names the first difference between two snapshots, or None.
let private firstDifference (a: (string * float32[]) list) (b: (string * float32[]) list) : string option =
    if List.map fst a <> List.map fst b then Some(sprintf "the tensors differ in name: %A vs %A" (List.map fst a) (List.map fst b))
    else
        List.zip a b
        |> List.tryPick (fun ((n, x), (_, y)) ->
            if x.Length <> y.Length then Some(sprintf "%s: %d vs %d elements" n x.Length y.Length)
            elif x = y then None
            else
                let differing = Array.map2 (fun (u: float32) v -> u <> v) x y |> Array.filter id |> Array.length
                let maxDiff = Array.map2 (fun (u: float32) v -> abs (float u - float v)) x y |> Array.max
                Some(sprintf "%s: %d of %d elements differ, max |difference| %g" n differing x.Length maxDiff))

/// (a) and (b): the first step's losses and, after their backward, the trained parameters'
/// gradients.
let private firstStep (entry: MethodEntry) () =
    let ex = exerciseOf entry
    let m = build entry (envOf 10) (int64 seed)
    try
        let names = [ for struct (n, p) in m.Model.named_parameters () -> p.Handle, n ] |> dict
        m.Model.train ()
        torch.manual_seed (int64 seed) |> ignore
        use _scope = torch.NewDisposeScope()
        let batch = (batches entry) 0 |> Seq.head
        let losses = try m.Step { Step = 0; Total = 10 } batch with e -> cannotExercise entry "Step" e
        Expect.isNonEmpty losses $"{entry.Name}: one step gives named losses"
        let values = losses |> List.map (fun (n, t) -> n, Host.item<float> t)
        for n, v in values do
            Expect.isFalse (String.IsNullOrWhiteSpace n) $"{entry.Name}: every loss term has a name ({values})"
            Expect.isTrue (Double.IsFinite v) $"{entry.Name}: loss '{n}' is {v}, not finite ({values})"
        Expect.equal (values |> List.map fst |> List.distinct |> List.length) values.Length $"{entry.Name}: loss names are distinct ({values})"
        (losses |> List.map snd |> List.reduce (+)).backward ()
        let problems =
            [ for g in m.Groups do
                for p in g.parameters do
                    match names.TryGetValue p.Handle with
                    | false, _ -> yield $"a parameter of group '{g.name}' is not in the model (a checkpoint would miss it)"
                    | true, name when (ex.NoGradient batch name).IsSome -> ()
                    | true, name ->
                        match p.grad with
                        | null -> yield $"{name} (group '{g.name}'): no gradient"
                        | grad ->
                            let v = doubles grad
                            if not (Array.forall Double.IsFinite v) then yield $"{name} (group '{g.name}'): non-finite gradient"
                            elif Array.forall (fun x -> x = 0.0) v then yield $"{name} (group '{g.name}'): gradient all zero" ]
        let trained = m.Groups |> List.sumBy (fun g -> g.parameters.Count)
        Expect.isGreaterThan trained 0 $"{entry.Name}: the optimizer trains some parameter"
        let shown = values |> List.map (fun (n, v) -> $"{n} = {v:G6}") |> String.concat ", "
        if not problems.IsEmpty then
            failtestf "%s: every trained parameter gets a finite, non-zero gradient from the first step (losses %s); %d of %d do not:\n  %s"
                entry.Name shown problems.Length trained (String.concat "\n  " problems)
    finally
        m.Model.Dispose()

/// The tensors this thread created and has not disposed (TorchSharp's per-thread dispose
/// statistics): a tensor the garbage collector finalizes is disposed on the finalizer thread,
/// so one left to the collector stays counted here, however soon the collector runs.
let private undisposedOnThisThread () : int64 =
    DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount

/// (c): before step `warm` and before step `warm + 20` of one run, the process's live tensors
/// (Tensor.TotalCount, once the collector has finalized what was unreachable) and the tensors
/// this thread made and did not dispose: both flat, no slack.
let private liveTensorsFlat (entry: MethodEntry) () =
    let warm, counted = 3, 20
    let steps = warm + counted + 1
    let m = build entry (envOf steps) (int64 seed)
    try
        let counts = Collections.Generic.Dictionary<int, int64 * int64>()
        let counting (start: int) : seq<Batch> =
            seq {
                use e = ((batches entry) start).GetEnumerator()
                let mutable step = start
                while true do
                    // the previous step's dispose scope has closed; this step's batch is not made yet
                    if step = warm || step = warm + counted then counts[step] <- (undisposedOnThisThread (), LiveTensors.settledCount ())
                    if not (e.MoveNext()) then invalidOp "the tiny batch stream ended"
                    yield e.Current
                    step <- step + 1
            }
        let outcome =
            try (Train.run (config entry steps seed) m counting ignore None).Outcome
            with e -> cannotExercise entry "Train.run" e
        Expect.equal outcome (Completed steps) $"{entry.Name}: the run completes"
        let (ownBefore, liveBefore), (ownAfter, liveAfter) = counts[warm], counts[warm + counted]
        Expect.equal ownAfter ownBefore $"{entry.Name}: tensors made and not disposed on the training thread, before step {warm + counted} against before step {warm} ({ownAfter - ownBefore} more over {counted} steps)"
        Expect.equal liveAfter liveBefore $"{entry.Name}: live tensors (Tensor.TotalCount, settled), before step {warm + counted} against before step {warm} ({liveAfter - liveBefore} more over {counted} steps)"
    finally
        m.Model.Dispose()

/// Draws from libtorch's generator as other work in the process would between two runs.
let private disturbGenerator (k: int64) =
    torch.manual_seed (1000L + k) |> ignore
    use _ = torch.randn ([| 100L + k |])
    ()

/// (d) and (e) share their runs: `k` steps per half, seeds as above.
let private half = 2

/// A run of 2 * half steps in `dir`, from a model built after seeding `buildSeed`; stopped
/// after `stopAt` steps when given (Train.run checkpoints on the stop); resumed when asked.
let private runIn (entry: MethodEntry) (dir: string) (buildSeed: int64) (resume: bool) (stopAt: int option) =
    let steps = 2 * half
    let m = build entry (envOf steps) buildSeed
    use cts = new CancellationTokenSource()
    let stopping = { m with AfterStep = fun c -> m.AfterStep c; (if Some(c.Step + 1) = stopAt then cts.Cancel()) }
    let cfg = { config entry steps seed with OutDir = Some dir; Resume = resume; Cancel = cts.Token }
    let outcome = train entry cfg stopping
    let s = snapshot m
    m.Model.Dispose()
    outcome, s

let private withTempDirs (count: int) (body: string list -> 'a) : 'a =
    let dirs = List.init count (fun _ -> Path.Combine(Path.GetTempPath(), $"hybrid-theory-{Guid.NewGuid():N}"))
    try body dirs
    finally
        for d in dirs do
            if Directory.Exists d then Directory.Delete(d, true)

/// (d): two runs of one seed, whatever drew from the generator before each.
let private sameSeedSameWeights (entry: MethodEntry) () =
    withTempDirs 2 <| fun dirs ->
        disturbGenerator 1L
        let o1, a = runIn entry dirs[0] (int64 seed) false None
        disturbGenerator 2L
        let o2, b = runIn entry dirs[1] (int64 seed) false None
        Expect.equal (o1, o2) (Completed(2 * half), Completed(2 * half)) $"{entry.Name}: both runs complete"
        Expect.isNone (firstDifference a b) $"{entry.Name}: two runs of seed {seed} end bit-identical"

/// (e): k steps, stop (checkpoint), rebuild from other initial weights, resume k steps.
let private resumeEqualsStraight (entry: MethodEntry) () =
    withTempDirs 2 <| fun dirs ->
        let straightOutcome, straight = runIn entry dirs[0] (int64 seed) false None
        Expect.equal straightOutcome (Completed(2 * half)) $"{entry.Name}: the uninterrupted run completes"
        let firstOutcome, _ = runIn entry dirs[1] (int64 seed) false (Some half)
        Expect.equal firstOutcome (Cancelled half) $"{entry.Name}: the first half stops after {half} steps"
        // rebuilt from other initial weights: everything the second half starts from comes from the checkpoint
        let resumedOutcome, resumed = runIn entry dirs[1] (int64 seed + 1000L) true None
        Expect.equal resumedOutcome (Completed(2 * half)) $"{entry.Name}: the resumed run completes"
        Expect.isNone (firstDifference straight resumed) $"{entry.Name}: stopped after {half} steps and resumed, the run ends as the uninterrupted {2 * half}-step run"

[<Tests>]
let tests =
    testList "MethodTheory" [
        yield testCase "every exercise names a registered method" <| fun () ->
            for KeyValue(name, _) in exercises do
                Expect.contains Registry.names name $"the exercise '{name}' names a registered method"

        for entry in Registry.all do
            yield testList entry.Name [
                testCase "one step gives named, finite losses and a gradient to every trained parameter" <| fun () -> singleThreaded (firstStep entry)
                testCase "live tensors stay flat over 20 steps" <| fun () -> singleThreaded (liveTensorsFlat entry)
                testCase "one seed gives bit-identical weights" <| fun () -> singleThreaded (sameSeedSameWeights entry)
                testCase "stop and resume equals the uninterrupted run" <| fun () -> singleThreaded (resumeEqualsStraight entry)
            ]
    ]
