namespace Hybrid.Wsss.Training

open System
open System.Diagnostics
open System.IO
open System.Text.Json
open System.Threading
open TorchSharp
open Hybrid.Torch.Serialization
open Hybrid.Wsss
open Hybrid.Wsss.Schedules

/// A loss term became NaN or infinite: the run stops and names it; the last checkpoint written
/// before this step is kept untouched.
exception NonFiniteLoss of term: string * step: int * value: float
    with
        override e.Message =
            sprintf "loss term '%s' is %g at step %d; the run stopped (the last good checkpoint is kept). Lower the learning rate or that term's weight, or check its inputs." e.term e.value e.step

/// Progress of a run, reported every LogEvery steps.
type Progress =
    { Step: int
      Total: int
      Losses: (string * float) list
      Lr: float
      StepsPerSecond: float
      Elapsed: TimeSpan }

type TrainConfig =
    { Steps: int
      /// Base learning rate as a schedule of the step (groups apply their multipliers).
      Lr: Schedule
      Optimizer: OptimizerKind
      Seed: int
      LogEvery: int
      /// Write a checkpoint every N steps (and always at the end) when OutDir is set.
      CheckpointEvery: int option
      /// Run this evaluation every N steps (metrics are logged with the step).
      EvalEvery: int option
      /// Run folder: metrics.jsonl, checkpoint.safetensors.
      OutDir: string option
      /// Continue from OutDir's checkpoint when it exists.
      Resume: bool
      /// Clip the global gradient norm (None: no clipping).
      ClipGradNorm: float option
      Cancel: CancellationToken }

module TrainConfig =
    let defaults steps lr =
        { Steps = steps
          Lr = lr
          Optimizer = Sgd(0.9, 5e-4)
          Seed = 0
          LogEvery = 10
          CheckpointEvery = None
          EvalEvery = None
          OutDir = None
          Resume = false
          ClipGradNorm = None
          Cancel = CancellationToken.None }

/// How a run ended.
type TrainOutcome =
    | Completed of steps: int
    | Cancelled of atStep: int

type TrainResult =
    { Outcome: TrainOutcome
      /// Mean of each loss term over the last LogEvery steps logged.
      FinalLosses: (string * float) list
      /// Every logged step's total loss, in order (for curves).
      LossCurve: (int * float) list
      Seconds: float }

/// The generic training loop: seeds, optimizer and schedule, a dispose scope per step,
/// named-loss logging to metrics.jsonl, non-finite detection, periodic evaluation and atomic
/// checkpoints, exact resume (model, optimizer, step and RNG stream).
module Train =
    let checkpointPath (dir: string) = Path.Combine(dir, "checkpoint.safetensors")

    /// Loads a checkpoint into the method's model (strict) and hands the run state it carries
    /// to the method; restores the optimizer and the RNG stream when asked. Returns the step.
    let load (path: string) (m: Method) (opt: Hybrid.Torch.Optim.Optimizer option) (restoreRng: bool) : int64 =
        let state = Collections.Generic.Dictionary<string, Tensor>()
        let struct (step, _) = Checkpoint.Load(path, m.Model, Option.toObj opt, restoreRng, state)
        m.State.Restore(state |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq)
        step

    /// A finished run's checkpoint into a freshly built method, for evaluation and inference:
    /// model and run state, neither optimizer nor RNG.
    let restore (path: string) (m: Method) : unit = load path m None false |> ignore

    let private appendJsonl (path: string) (fields: (string * obj) list) =
        let d = Collections.Generic.Dictionary<string, obj>()
        for k, v in fields do
            // JSON has no NaN or infinity: a metric that is undefined at this step is written as null
            d[k] <- (match v with :? float as x when Double.IsNaN x || Double.IsInfinity x -> null | _ -> v)
        File.AppendAllText(path, JsonSerializer.Serialize(d) + "\n")

    /// metrics.jsonl as a run resumed at `start` continues it: the lines the interrupted run wrote
    /// after its checkpoint (steps the resumed run replays) and a line cut by a kill are dropped,
    /// so the file ends up equal to the uninterrupted run's. A step's loss line carries the
    /// step's index (0-based: kept when < start); an evaluation line the number of steps done
    /// (kept when <= start: the evaluation at the checkpoint's step ran before the checkpoint).
    let trimMetrics (path: string) (start: int) =
        if File.Exists path then
            let keep (line: string) =
                try
                    use doc = JsonDocument.Parse line
                    let r = doc.RootElement
                    match r.TryGetProperty "step" with
                    | true, s when s.ValueKind = JsonValueKind.Number ->
                        let step = s.GetInt32()
                        match r.TryGetProperty "loss" with
                        | true, _ -> step < start
                        | _ -> step <= start
                    | _ -> false
                with :? JsonException -> false
            let lines = File.ReadAllLines path
            let kept = lines |> Array.filter keep
            if kept.Length <> lines.Length then
                AtomicFile.WriteAllText(path, kept |> Array.map (fun l -> l + "\n") |> String.concat "")

    /// Runs `cfg.Steps` steps of `m`. batches: the batch stream starting at a given step
    /// (deterministic in the step, so resuming at step k sees what the uninterrupted run saw).
    let run (cfg: TrainConfig) (m: Method) (batches: int -> seq<Batch>) (onProgress: Progress -> unit) (evaluate: (int -> (string * float) list) option) : TrainResult =
        if cfg.Steps < 1 then invalidArg "Steps" "a run needs at least one step"
        torch.manual_seed (int64 cfg.Seed) |> ignore
        use opt = OptimizerKind.create cfg.Optimizer m.Groups (cfg.Lr (Clock.at 0 cfg.Steps))
        let metricsPath = cfg.OutDir |> Option.map (fun d -> Directory.CreateDirectory d |> ignore; Path.Combine(d, "metrics.jsonl"))
        // temp files of checkpoint writes that a kill interrupted (their process is gone)
        cfg.OutDir |> Option.iter (AtomicFile.RemoveStale >> ignore)
        let mutable start = 0
        match cfg.OutDir with
        | Some d when cfg.Resume && File.Exists(checkpointPath d) ->
            start <- int (load (checkpointPath d) m (Some opt) true)
            metricsPath |> Option.iter (fun p -> trimMetrics p start)
        | _ -> metricsPath |> Option.iter (fun p -> if File.Exists p then File.Delete p)
        let save step =
            cfg.OutDir |> Option.iter (fun d ->
                use _scope = torch.NewDisposeScope()
                let state = m.State.Save() |> readOnlyDict
                Checkpoint.Save(checkpointPath d, m.Model, opt, int64 step, readOnlyDict [ "method", m.Name ], state))
        let sw = Stopwatch.StartNew()
        let window = Collections.Generic.Dictionary<string, float * int>()
        let mutable lastLosses = []
        let mutable curve = []
        let mutable outcome = Completed cfg.Steps
        let mutable step = start
        m.Model.train ()
        use e = (batches start).GetEnumerator()
        let mutable stop = start >= cfg.Steps
        while not stop do
            if cfg.Cancel.IsCancellationRequested then
                save step
                outcome <- Cancelled step
                stop <- true
            else
                let ctx: StepContext = { Step = step; Total = cfg.Steps }
                let lr = cfg.Lr ctx.Clock
                opt.set_lr lr
                do
                    use _scope = torch.NewDisposeScope()
                    if not (e.MoveNext()) then invalidOp "the batch stream ended before the run did"
                    let batch = e.Current
                    let losses = m.Step ctx batch
                    if List.isEmpty losses then invalidOp $"method {m.Name} returned no loss at step {step}"
                    let values = losses |> List.map (fun (n, t) -> n, Host.item<float> t)
                    for n, v in values do
                        if Double.IsNaN v || Double.IsInfinity v then raise (NonFiniteLoss(n, step, v))
                    let total = losses |> List.map snd |> List.reduce (+)
                    opt.zero_grad ()
                    total.backward ()
                    cfg.ClipGradNorm |> Option.iter (fun c -> Hybrid.Torch.Optim.Optimizer.clip_grad_norm_(m.Model.parameters (), c) |> ignore)
                    opt.step ()
                    m.AfterStep ctx
                    for n, v in values do
                        let s, c = match window.TryGetValue n with | true, x -> x | _ -> (0.0, 0)
                        window[n] <- (s + v, c + 1)
                    let totalV = values |> List.sumBy snd
                    metricsPath |> Option.iter (fun p ->
                        appendJsonl p ([ "step", box step; "lr", box lr; "loss", box totalV ] @ (values |> List.map (fun (n, v) -> "loss/" + n, box v))))
                step <- step + 1
                if step % cfg.LogEvery = 0 || step = cfg.Steps then
                    let means = [ for kv in window -> kv.Key, fst kv.Value / float (snd kv.Value) ]
                    lastLosses <- means
                    curve <- (step, means |> List.sumBy snd) :: curve
                    window.Clear()
                    let elapsed = sw.Elapsed
                    onProgress { Step = step; Total = cfg.Steps; Losses = means; Lr = lr; StepsPerSecond = float (step - start) / max 1e-9 elapsed.TotalSeconds; Elapsed = elapsed }
                match cfg.EvalEvery, evaluate with
                | Some k, Some ev when step % k = 0 && step < cfg.Steps ->
                    let metrics = ev step
                    m.Model.train ()
                    metricsPath |> Option.iter (fun p -> appendJsonl p ([ "step", box step ] @ (metrics |> List.map (fun (n, v) -> "eval/" + n, box v))))
                | _ -> ()
                match cfg.CheckpointEvery with
                | Some k when step % k = 0 && step < cfg.Steps -> save step
                | _ -> ()
                if step >= cfg.Steps then stop <- true
        match outcome with
        | Completed _ -> save cfg.Steps
        | Cancelled _ -> ()
        m.Model.eval ()
        { Outcome = outcome; FinalLosses = lastLosses; LossCurve = List.rev curve; Seconds = sw.Elapsed.TotalSeconds }
