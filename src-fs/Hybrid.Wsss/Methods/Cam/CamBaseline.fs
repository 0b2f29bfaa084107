/// The CAM baseline: a multi-label classifier whose class activation maps are the seeds
/// (MAP.md "Shared pipeline pieces").
module Hybrid.Wsss.Methods.Cam.CamBaseline

open TorchSharp
open Hybrid.Vision.Heads
open Hybrid.Wsss
open Hybrid.Wsss.Training

/// The image-level loss (MAP.md: multilabel soft margin for PLDA/AuxSegNet+, BCE for CoSA).
type ClassificationLoss =
    | MultilabelSoftMargin
    | Bce

type Config =
    { /// Image-level pooling of the classifier (MAP.md: GAP for PLDA and AuxSegNet+, GMP for CoSA).
      Pooling: CamPooling
      Loss: ClassificationLoss
      /// lr multiplier of the new layers (the classifier).
      NewLayerLr: float }

let defaults = { Pooling = CamPooling.Gap; Loss = MultilabelSoftMargin; NewLayerLr = 10.0 }

/// The baseline's settings table (`--set`, config files, run.json, `hybrid settings cam`).
let table: SettingsTable<Config> =
    { Method = "cam"
      Defaults = defaults
      Rows =
        [ Setting.choice "pooling" "global average (gap) or max (gmp) pooling of the CAMs into class scores" "MAP.md shared pipeline"
              [ "gap", CamPooling.Gap; "gmp", CamPooling.Gmp ] (fun c -> c.Pooling) (fun v c -> { c with Pooling = v })
          Setting.choice "loss" "image-level loss: multilabel soft margin (mlsm) or binary cross entropy (bce)" "MAP.md: mlsm for PLDA / AuxSegNet+, bce for CoSA"
              [ "mlsm", MultilabelSoftMargin; "multilabel_soft_margin", MultilabelSoftMargin; "bce", Bce ] (fun c -> c.Loss) (fun v c -> { c with Loss = v })
          Setting.float "new_layer_lr" "lr multiplier of the classifier over a pretrained backbone (1 when the backbone is new)" "x10, the papers' common practice"
              Check.positive (fun c -> c.NewLayerLr) (fun v c -> { c with NewLayerLr = v }) ]
      Validate = fun _ -> [] }

/// One `--set key=value` on this config.
let set (key: string) (value: string) (c: Config) : Config = SettingsTable.set table key value c

let classificationLoss (loss: ClassificationLoss) scores labels =
    match loss with
    | MultilabelSoftMargin -> Losses.multilabelSoftMargin scores labels
    | Bce -> Losses.bce scores labels

/// The CAM network for an environment, on its device.
let network (env: MethodEnv) (cfg: Config) = new CamNet(MethodEnv.backbone env, int64 env.Classes, cfg.Pooling) |> MethodEnv.place env

/// The baseline as a Method: L = L_cls.
let create (env: MethodEnv) (cfg: Config) : Method =
    let net = network env cfg
    { Name = "cam"
      Model = net
      Groups = net.Groups(MethodEnv.headLrMult env cfg.NewLayerLr)
      Step = fun _ batch -> [ "cls", classificationLoss cfg.Loss (net.forward batch.Images) batch.Labels ]
      AfterStep = ignore
      Predict = { Predictor.none with Cam = Some net.Maps }
      State = MethodState.none }
