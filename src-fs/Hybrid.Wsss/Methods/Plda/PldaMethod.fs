/// PLDA as a registered method: the CAM baseline of Methods/Cam with PLDA plugged in.
module Hybrid.Wsss.Methods.Plda.PldaMethod

open System
open TorchSharp
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.Cam

/// PLDA's settings and those of the baseline it is plugged into (GAP + multilabel soft
/// margin, as the paper's baselines).
type Settings =
    { Plda: PldaConfig
      Baseline: CamBaseline.Config }

let defaults = { Plda = PldaConfig.defaults; Baseline = CamBaseline.defaults }

/// PLDA's settings table: PLDA's rows, then the baseline's.
let table: SettingsTable<Settings> =
    { Method = "plda"
      Defaults = defaults
      Rows =
        (PldaConfig.table.Rows |> List.map (Setting.within "" (fun s -> s.Plda) (fun c s -> { s with Plda = c })))
        @ (CamBaseline.table.Rows |> List.map (Setting.within "" (fun s -> s.Baseline) (fun c s -> { s with Baseline = c })))
      Validate = fun s -> PldaConfig.table.Validate s.Plda @ CamBaseline.table.Validate s.Baseline }

/// One `--set key=value`.
let set (key: string) (value: string) (s: Settings) : Settings = SettingsTable.set table key value s

/// The CAM baseline network as PLDA sees it: split at the backbone's final feature, its loss
/// the baseline's image-level loss on the pooled scores.
let ofCamNet (net: CamNet) (baseline: CamBaseline.Config) (groups: Hybrid.Torch.Optim.ParamGroup list) : CamNetwork =
    { Model = net
      Groups = groups
      Channels = net.Classifier.Channels
      Classes = int net.Classes
      Features = fun images -> (net.Backbone.forward images).Final    // (B, D, h, w)
      Scores = fun f -> net.Classifier.RawCam f                        // (B, K, h, w)
      Losses = fun _ batch f _ -> [ "cls", CamBaseline.classificationLoss baseline.Loss (net.Classifier.forward f) batch.Labels ]
      Predict = { Predictor.none with Cam = Some net.Maps } }

/// PLDA for an environment, with its diagnostics.
let build (env: MethodEnv) (s: Settings) : PldaRun =
    let net = CamBaseline.network env s.Baseline
    let network = ofCamNet net s.Baseline (net.Groups(MethodEnv.headLrMult env s.Baseline.NewLayerLr))
    // the papers' x10 for new layers applies on a pretrained backbone (MethodEnv.headLrMult)
    let cfg = { s.Plda with NewLayerLrMult = MethodEnv.headLrMult env s.Plda.NewLayerLrMult }
    Plda.build cfg network

/// PLDA for an environment, as the training loop sees it.
let create (env: MethodEnv) (s: Settings) : Method = (build env s).Method

/// The registry entry (single stage), on the baseline's recipe so that PLDA and the CAM
/// baseline train with the same optimiser, schedule and batches. The run log ends with the
/// diagnostics of the domains and pseudo labels (when the training batches carry GT masks).
let entry (recipe: Recipe) : MethodEntry =
    { Name = "plda"
      Summary = "PLDA: pixel-level domain adaptation (multi-head GRL discriminator, MaskAssign, confident pseudo-supervision) on the CAM baseline"
      Recipe = recipe
      Settings = SettingsTable.schema table
      Train =
        fun ctx sets ->
            let run = build ctx.Env (SettingsTable.build table sets)
            Train.run ctx.Config run.Method ctx.Batches ctx.OnProgress (RunContext.periodicEval ctx run.Method) |> ignore
            if run.Diagnostics.Steps > 0 then ctx.Log $"plda diagnostics: {run.Diagnostics}"
            run.Method
      Build = fun env sets -> create env (SettingsTable.build table sets) }
