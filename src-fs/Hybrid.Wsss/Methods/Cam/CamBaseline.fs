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
    { Pooling: Cam.Pooling
      Loss: ClassificationLoss
      /// lr multiplier of the new layers (the classifier).
      NewLayerLr: float }

let defaults = { Pooling = Cam.Gap; Loss = MultilabelSoftMargin; NewLayerLr = 10.0 }

let private keys = [ "pooling", "gap|gmp"; "loss", "mlsm|bce"; "new_layer_lr", "float" ]

/// `--set key=value` for this config.
let set (key: string) (value: string) (c: Config) : Config =
    match key.ToLowerInvariant(), value.ToLowerInvariant() with
    | "pooling", "gap" -> { c with Pooling = Cam.Gap }
    | "pooling", "gmp" -> { c with Pooling = Cam.Gmp }
    | "loss", ("mlsm" | "multilabel_soft_margin") -> { c with Loss = MultilabelSoftMargin }
    | "loss", "bce" -> { c with Loss = Bce }
    | "new_layer_lr", v -> { c with NewLayerLr = Config.parseFloat key v }
    | k, v -> Config.unknown "cam" keys k v

let classificationLoss (loss: ClassificationLoss) scores labels =
    match loss with
    | MultilabelSoftMargin -> Losses.multilabelSoftMargin scores labels
    | Bce -> Losses.bce scores labels

let camPooling = function Cam.Gap -> CamPooling.Gap | Cam.Gmp -> CamPooling.Gmp

/// The CAM network for an environment, on its device.
let network (env: MethodEnv) (cfg: Config) = new CamNet(MethodEnv.backbone env, int64 env.Classes, camPooling cfg.Pooling) |> MethodEnv.place env

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
