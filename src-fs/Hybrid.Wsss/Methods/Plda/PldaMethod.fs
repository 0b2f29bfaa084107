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

/// The baseline's `--set` keys (CamBaseline's).
let private baselineKeys = [ "pooling", "gap|gmp"; "loss", "mlsm|bce"; "new_layer_lr", "float" ]

/// Every `--set` key with its value form: PLDA's, then the baseline's.
let settings = PldaConfig.keys @ baselineKeys

/// `--set key=value`: PLDA's keys first, the baseline's otherwise; an unknown key lists both.
let set (key: string) (value: string) (s: Settings) : Settings =
    let k = key.Trim().ToLowerInvariant()
    if PldaConfig.keys |> List.exists (fun (n, _) -> n = k) || k = "assignment" then
        { s with Plda = PldaConfig.set k value s.Plda }
    elif baselineKeys |> List.exists (fun (n, _) -> n = k) then
        { s with Baseline = CamBaseline.set k value s.Baseline }
    else
        let valid = settings |> List.map fst |> String.concat ", "
        invalidArg (nameof key) $"--set {key}={value} is not a setting of plda (valid: {valid})"

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
      Settings = settings
      Train =
        fun ctx sets ->
            let s = sets |> List.fold (fun c (k, v) -> set k v c) defaults
            let run = build ctx.Env s
            Train.run ctx.Config run.Method ctx.Batches ctx.OnProgress (RunContext.periodicEval ctx run.Method) |> ignore
            if run.Diagnostics.Steps > 0 then ctx.Log $"plda diagnostics: {run.Diagnostics}"
            run.Method, sprintf "%A" s
      Build = fun env sets -> create env (sets |> List.fold (fun c (k, v) -> set k v c) defaults) }
