/// CoSA-MS (Sec. 4.1, Tab. 1): CoSA's CAM pseudo labels train a standalone segmentation
/// network. Stage 1 trains CoSA; stage 2 trains the supervised LargeFOV network on the same
/// training stream with every batch's masks replaced by CoSA's CPL of that (augmented) batch,
/// computed by the trained, frozen CoSA model (Cosa.pseudoMasks).
module Hybrid.Wsss.Methods.Cosa.CosaMs

open System
open System.Globalization
open System.IO
open Hybrid.Wsss
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods

/// Settings of the two stages.
type Config =
    { Cosa: CosaConfig
      Segmentation: Supervised.Config
      /// Stage-2 steps (None: as many as stage 1).
      SegmentationSteps: int option }

let defaults = { Cosa = CosaConfig.defaults; Segmentation = Supervised.defaults; SegmentationSteps = None }

/// CoSA-MS's settings table: CoSA's rows, `seg.<key>` for the segmentation network, `ms-steps`.
let table: SettingsTable<Config> =
    { Method = "cosa-ms"
      Defaults = defaults
      Rows =
        (CosaConfig.table.Rows |> List.map (Setting.within "" (fun c -> c.Cosa) (fun x c -> { c with Cosa = x })))
        @ (Supervised.table.Rows |> List.map (Setting.within "seg." (fun c -> c.Segmentation) (fun x c -> { c with Segmentation = x })))
        @ [ Setting.optionalInt "ms-steps" "auto" "stage-2 steps (auto: as stage 1)" "Sec. 4.1 CoSA-MS" 1
                (fun c -> c.SegmentationSteps) (fun v c -> { c with SegmentationSteps = v }) ]
      Validate = fun c -> CosaConfig.problems c.Cosa @ Supervised.table.Validate c.Segmentation }

let set (key: string) (value: string) (c: Config) : Config = SettingsTable.set table key value c

/// A stage's sub-folder of the run folder (each stage checkpoints on its own).
let private stageDir (cfg: TrainConfig) (name: string) =
    { cfg with OutDir = cfg.OutDir |> Option.map (fun d -> Path.Combine(d, name)) }

let private thresholdFile (cfg: TrainConfig) = cfg.OutDir |> Option.map (fun d -> Path.Combine(d, "threshold.txt"))

/// Both stages under a run context. Returns the stage-2 network's method with CoSA's CAMs and
/// pseudo masks as its Cam / Pseudo predictions (so a report scores seeds, CPL and the
/// standalone segmentation).
let train (ctx: RunContext) (sets: (string * string) list) : Method =
    let cfg = SettingsTable.build table sets
    // stage 1: CoSA
    let cosaCfg = stageDir ctx.Config "cosa"
    let cosa, state = Cosa.createWithState ctx.Env cfg.Cosa
    ctx.Log "CoSA-MS stage 1: CoSA"
    Train.run cosaCfg cosa ctx.Batches ctx.OnProgress (RunContext.periodicEval ctx cosa) |> ignore
    // the threshold is state, not a checkpointed tensor: keep it beside the checkpoint so a
    // resumed run labels with the xi the finished stage 1 ended at
    match thresholdFile cosaCfg with
    | Some f when ctx.Config.Resume && File.Exists f && state.Threshold.History.Count = 0 ->
        let xi = Double.Parse(File.ReadAllText f, CultureInfo.InvariantCulture)
        state.Threshold.Current <- Hybrid.Wsss.Thresholds.Threshold.constant xi
    | Some f -> File.WriteAllText(f, state.Threshold.Value.ToString("R", CultureInfo.InvariantCulture))
    | None -> ()
    ctx.Log (sprintf "CoSA-MS stage 2: segmentation network on CoSA's CPL (xi = %.3f)" state.Threshold.Value)
    // stage 2: the standalone network on CPL
    let seg = Supervised.create ctx.Env cfg.Segmentation
    let pseudo = cosa.Predict.Pseudo.Value
    let relabelled start = ctx.Batches start |> Seq.map (fun b -> { b with Masks = Some(pseudo b) })
    let segCfg = { stageDir ctx.Config "segmentation" with Steps = cfg.SegmentationSteps |> Option.defaultValue ctx.Config.Steps }
    let r = Train.run segCfg seg relabelled ctx.OnProgress (RunContext.periodicEval ctx seg)
    // the run's model is stage 2's network: its checkpoint at the run's root is what
    // `hybrid eval/labels/infer --run` restore (into `Build`, the segmentation network)
    match r.Outcome, ctx.Config.OutDir, segCfg.OutDir with
    | Completed _, Some root, Some segDir -> File.Copy(Train.checkpointPath segDir, Train.checkpointPath root, true)
    | _ -> ()
    { seg with
        Name = "cosa-ms"
        Predict = { seg.Predict with Cam = cosa.Predict.Cam; Pseudo = cosa.Predict.Pseudo } }
