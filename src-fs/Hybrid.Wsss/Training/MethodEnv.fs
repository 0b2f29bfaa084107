namespace Hybrid.Wsss.Training

open System
open TorchSharp
open Hybrid.Data
open Hybrid.Vision.Backbones
open Hybrid.Wsss

/// What every method is built for: the classes, the backbone, the device, the training set.
type MethodEnv =
    { /// K, the number of foreground classes.
      Classes: int
      ClassNames: string[]
      Backbone: string
      BackboneOptions: BackboneOptions
      Device: Device
      /// Training crop size (square).
      CropSize: int
      Steps: int
      Seed: int
      /// The training split (methods that look at the whole set: CSD's domains and resampling).
      TrainSet: SegmentationDataset option }

module MethodEnv =
    /// An environment on the CPU with the backbone's default options, seed 0 and no training
    /// set (CSD, which reads the whole set, says it needs one): classNames has background
    /// first, so K = classNames.Length - 1. Set other fields with `{ env with ... }`.
    let onCpu (classNames: string[]) (backbone: string) (cropSize: int) (steps: int) : MethodEnv =
        if classNames.Length < 2 then invalidArg (nameof classNames) "class names start with background and name at least one class"
        { Classes = classNames.Length - 1
          ClassNames = classNames
          Backbone = backbone
          BackboneOptions = BackboneOptions.Default
          Device = torch.CPU
          CropSize = cropSize
          Steps = steps
          Seed = 0
          TrainSet = None }

    /// A module moved to the environment's device (its parameters and buffers; nothing moves
    /// on the CPU). Moving replaces the parameters, so a model is placed before its parameter
    /// groups are taken for the optimizer.
    let place (env: MethodEnv) (m: 'M) : 'M when 'M :> torch.nn.Module =
        if env.Device.``type`` <> DeviceType.CPU then m.``to``(env.Device) |> ignore
        m

    /// A fresh backbone of the environment, on its device.
    let backbone (env: MethodEnv) : Backbone =
        BackboneRegistry.Create(env.Backbone, env.BackboneOptions) |> place env

    /// A backbone without pretrained weights is trained like a new layer.
    let backboneIsNew (env: MethodEnv) = isNull env.BackboneOptions.Weights

    /// The lr multiplier of new layers: the papers' x10 applies on a pretrained backbone; when
    /// the backbone itself is trained from scratch every layer is new and shares one rate.
    let headLrMult (env: MethodEnv) (paperMult: float) = if backboneIsNew env then 1.0 else paperMult

    let trainSet (env: MethodEnv) =
        match env.TrainSet with
        | Some ds -> ds
        | None -> invalidOp "this method needs the training set in its environment (MethodEnv.TrainSet)"
