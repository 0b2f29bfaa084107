namespace Hybrid.Wsss.Methods.Csd

open System.IO
open Hybrid.Torch.Serialization
open Hybrid.Wsss.Training
open Hybrid.Wsss.Data
open Hybrid.Wsss.Methods.Cam

/// CSD end to end (Sec. 3.2, "two stages like [CDA]"): stage 1 gives the single-label images'
/// masks, stage 2 trains the CAM baseline with the dual consistency terms.
module Csd =
    /// Stage 1's model: the CAM baseline trained for the run's steps (run folder `stage1/`,
    /// resumable like any run), or loaded from a finished CAM run. Returned in eval mode.
    let stage1 (ctx: RunContext) (cfg: CsdConfig) : Method option =
        let m = CamBaseline.create ctx.Env cfg.Baseline
        match cfg.Stage1 with
        | TrainBaseline ->
            let dir = ctx.Config.OutDir |> Option.map (fun d -> Path.Combine(d, "stage1"))
            ctx.Log $"""csd stage 1: training the CAM baseline for {ctx.Config.Steps} steps{dir |> Option.map (fun d -> " in " + d) |> Option.defaultValue ""}"""
            match (Train.run { ctx.Config with OutDir = dir } m ctx.Batches ctx.OnProgress (RunContext.periodicEval ctx m)).Outcome with
            | Completed _ -> Some m
            | Cancelled _ ->
                m.Model.Dispose()
                None
        | FromRun dir ->
            let path = Train.checkpointPath dir
            if not (File.Exists path) then
                m.Model.Dispose()
                raise (FileNotFoundException $"csd stage1={dir}: no {Path.GetFileName path} there; pass the --out folder of a finished `hybrid train --method cam` run (same backbone and pooling)")
            ctx.Log $"csd stage 1: the CAM baseline of {dir}"
            Train.restore path m
            m.Model.eval ()
            Some m

    /// The stage-2 partner source: stage-1 masks of the single-label images, the loader's
    /// training augmentation, the resampler.
    let partners (ctx: RunContext) (cfg: CsdConfig) (stage1: Method option) : PartnerSource =
        let env = ctx.Env
        let ds = MethodEnv.trainSet env
        let split = DomainSplit.split (PartnerSource.labelSets ds)
        ctx.Log $"csd: {split.Source.Length} single-label (source) and {split.Target.Length} multi-label (target) training images"
        let masks =
            match stage1 with
            | Some m -> SourceMasks.compute env.Device m.Predict cfg.SourceMask cfg.MaskScales ds split.Source
            | None ->
                ctx.Log "csd stage 1: DIAGNOSTIC ORACLE, the ground-truth masks of the single-label images (not weakly supervised)"
                SourceMasks.groundTruth ds split.Source
        let fgFraction =
            if masks.Count = 0 then 0.0
            else masks.Values |> Seq.averageBy (fun m -> float (SourceMask.foregroundPixels m) / float m.Pixels.Length)
        ctx.Log $"csd stage 1: {masks.Count} source masks, mean foreground fraction {fgFraction:F3}"
        SourceMasks.agreement ds masks
        |> Option.iter (fun a ->
            ctx.Log $"csd stage 1 (diagnostic, GT not used for training): source-mask foreground IoU {a.ForegroundIoU:F3}, precision {a.Precision:F3}, recall {a.Recall:F3}")
        // the augmentation of the run's loader (same options as DataSource.trainLoader)
        let augmenter = (DataSource.trainLoader ds env.CropSize 1 env.Seed 0 false).Augmenter
        let src = PartnerSource.create ds augmenter masks cfg.Cooccurrence cfg.Pairing (int64 env.Seed) cfg.MinForegroundPixels
        if PartnerSource.pasteable src = 0 then
            invalidOp "csd: no single-label image has a usable stage-1 mask (lower mask_threshold or min_fg_pixels, or train stage 1 longer)"
        ctx.Log $"csd stage 2: {PartnerSource.pasteable src} pasteable single-label images, pairing {cfg.Pairing}"
        src

    /// The settings of `--set` pairs, checked.
    let config (sets: (string * string) list) : CsdConfig =
        SettingsTable.build CsdConfig.table sets

    /// The untrained final model for the settings (stage 2's CAM network), to load a finished
    /// run's checkpoint into.
    let build (env: MethodEnv) (sets: (string * string) list) : Method =
        let cfg = config sets
        CsdMethod.create cfg (CamBaseline.network env cfg.Baseline) None env

    /// Trains CSD under a run context: stage 1 (unless copy-paste is off: the baseline row),
    /// then stage 2 for the run's steps. The stage-2 network is created before anything else
    /// draws random numbers, so it starts from the weights a `cam` run of the same seed starts
    /// from and sees the same batches: the comparison isolates CSD's terms.
    let train (ctx: RunContext) (sets: (string * string) list) : Method =
        let cfg = config sets
        let net = CamBaseline.network ctx.Env cfg.Baseline
        let source =
            if not cfg.CopyPaste then
                ctx.Log "csd: copy-paste off (the component table's baseline row): L = L_cls"
                Some None
            elif cfg.SourceMask = GroundTruthOracle then Some(Some(partners ctx cfg None))
            else
                match stage1 ctx cfg with
                | None -> None
                | Some s1 ->
                    try Some(Some(partners ctx cfg (Some s1))) finally s1.Model.Dispose()
        let m = CsdMethod.create cfg net (Option.flatten source) ctx.Env
        match source with
        | None -> m // stage 1 was cancelled: the caller reports it and stops
        | Some _ ->
            Train.run ctx.Config m ctx.Batches ctx.OnProgress (RunContext.periodicEval ctx m) |> ignore
            m
