namespace Hybrid.Wsss.Training

open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Schedules

/// A method's default recipe on the embedded benchmark (the paper's recipe scaled to a CPU:
/// optimizer and schedule shape as in MAP.md, steps and sizes small).
type Recipe =
    { Optimizer: OptimizerKind
      /// Base learning rate (groups multiply it).
      Lr: float
      /// Warm-up steps before the poly decay.
      Warmup: int
      BatchSize: int
      /// The loader also produces the strong view (CoSA).
      StrongView: bool }

module Recipe =
    /// base lr with linear warm-up then poly 0.9 decay (MAP.md's schedule for every method).
    let schedule (r: Recipe) : Schedule =
        if r.Warmup > 0 then Schedule.build r.Lr (Schedule.warmupFrom 0.1 r.Warmup >> Schedule.poly 0.9)
        else Schedule.build r.Lr (Schedule.poly 0.9)

/// Everything a method's training needs from the outside: its environment, the loop's
/// configuration, the batch streams and where to report.
type RunContext =
    { Env: MethodEnv
      Config: TrainConfig
      /// Training batches from a step on (strong views included when the recipe asks).
      Batches: int -> seq<Batch>
      /// The same training recipe (crop, batch, augmentation, seed, workers) over another
      /// dataset, e.g. the training images with a stage's pseudo labels as masks.
      BatchesOf: Hybrid.Data.SegmentationDataset -> int -> seq<Batch>
      /// A fresh pass over the validation split (for periodic evaluation, early stopping).
      ValBatches: unit -> seq<Batch>
      OnProgress: Progress -> unit
      /// Logs a line of the run (stage changes, label regeneration).
      Log: string -> unit }

module RunContext =
    /// What Train.run calls every `--eval-every` steps (it never calls it otherwise): the
    /// method's val metrics (Evaluate.periodic) in eval mode, logged; the loop writes them to
    /// metrics.jsonl as eval/<name> and puts the model back in training mode.
    let periodicEval (ctx: RunContext) (m: Method) : (int -> (string * float) list) option =
        Some(fun step ->
            m.Model.eval ()
            let metrics = Evaluate.periodic (ctx.Env.Classes + 1) m.Predict ctx.ValBatches
            let shown = metrics |> List.map (fun (k, v) -> sprintf "%s %.4g" k v) |> String.concat ", "
            ctx.Log(sprintf "step %d, val (single scale): %s" step shown)
            metrics)

/// A registered method: its recipe, its settings table and how it trains. Single-stage methods
/// train with one Train.run; multi-stage ones (CSD, AuxSegNet+, CoSA-MS) orchestrate several.
/// Settings reach Train and Build as key/value pairs that Settings.Check accepted.
type MethodEntry =
    { Name: string
      Summary: string
      Recipe: Recipe
      /// The method's settings table (help, docs, validation, run.json's resolved values).
      Settings: SettingsSchema
      /// Trains under the context with the given settings; returns the trained method (its
      /// Predict is what evaluation uses).
      Train: RunContext -> (string * string) list -> Method
      /// The untrained final model for the same settings (a checkpoint is loaded into it to
      /// evaluate, label or infer from a finished run).
      Build: MethodEnv -> (string * string) list -> Method }

module MethodEntry =
    /// The entry of a single-stage method from its settings table and constructor.
    let singleStage name summary recipe (table: SettingsTable<'C>) (create: MethodEnv -> 'C -> Method) =
        { Name = name
          Summary = summary
          Recipe = recipe
          Settings = SettingsTable.schema table
          Train =
            fun ctx sets ->
                let m = create ctx.Env (SettingsTable.build table sets)
                Train.run ctx.Config m ctx.Batches ctx.OnProgress (RunContext.periodicEval ctx m) |> ignore
                m
          Build = fun env sets -> create env (SettingsTable.build table sets) }

    /// The entry with libtorch's generator seeded from the run's seed before Train builds the
    /// model, so the seed fixes the initial weights as well as the steps (Train.run seeds again
    /// before the first step). Without it the new layers' initialisation depends on what drew
    /// from the generator before, and an unseeded generator differs between processes.
    let seedingInit (entry: MethodEntry) : MethodEntry =
        { entry with
            Train =
                fun ctx sets ->
                    torch.manual_seed (int64 ctx.Config.Seed) |> ignore
                    entry.Train ctx sets }
