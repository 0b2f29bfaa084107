/// A segmentation network trained on masks: the fully supervised upper bound (on GT) and the
/// second stage of multi-stage methods (on pseudo masks: CoSA-MS, CSD/PLDA seeds -> seg).
module Hybrid.Wsss.Methods.Supervised

open TorchSharp
open Hybrid.Vision.Backbones
open Hybrid.Vision.Heads
open Hybrid.Wsss
open Hybrid.Wsss.Training

/// DeepLab-LargeFOV on a backbone: images (B, 3, H, W) -> logits (B, K + 1, h, w).
type SegNet(backbone: Backbone, classes: int64, head: LargeFovConfig) as this =
    inherit torch.nn.Module<Tensor, Tensor>("SegNet")
    let decoder = new DeepLabLargeFov(backbone.Info.Channels, classes + 1L, head)
    do
        this.register_module("backbone", backbone)
        this.register_module("decoder", decoder)
    /// Children are registered by name above; no field reflection.
    override _.RegisterComponents() = ()
    member _.Backbone = backbone
    member _.Decoder = decoder
    override _.forward images =
        use f = backbone.forward images
        decoder.forward f.Final

type Config =
    { Head: LargeFovConfig
      /// The head's width, when it differs from the chosen head's (a bound for a method whose
      /// head was narrowed, e.g. the demo's CoSA at 128 channels, uses the same width).
      HeadHidden: int option
      NewLayerLr: float }

let defaults = { Head = LargeFovConfig.DeepLabV1; HeadHidden = None; NewLayerLr = 10.0 }

/// The decoder of a config: the chosen head at its own width or the one given.
let head (c: Config) : LargeFovConfig =
    match c.HeadHidden with
    | Some hidden -> LargeFovConfig(int64 hidden, c.Head.Dilation, c.Head.Fc7Kernel, c.Head.Dropout, c.Head.Bias)
    | None -> c.Head

/// The supervised network's settings table.
let table: SettingsTable<Config> =
    { Method = "supervised"
      Defaults = defaults
      Rows =
        [ Setting.choice "head" "LargeFOV decoder: DeepLab v1's (1024 ch, dilation 12, 1x1 fc7) or CoSA's (512 ch, dilation 5, 3x3 fc7)" "DeepLab-LargeFOV; CoSA Sec. 4.1"
              [ "deeplab_v1", LargeFovConfig.DeepLabV1; "cosa", LargeFovConfig.CoSA ] (fun c -> c.Head) (fun v c -> { c with Head = v })
          Setting.optionalInt "head-hidden" "auto" "the head's channels (auto: the chosen head's: 1024 DeepLab v1, 512 CoSA)" "ours: a bound with the width of the method it bounds" 1
              (fun c -> c.HeadHidden) (fun v c -> { c with HeadHidden = v })
          Setting.float "new_layer_lr" "lr multiplier of the decoder over a pretrained backbone (1 when the backbone is new)" "x10, the papers' common practice"
              Check.positive (fun c -> c.NewLayerLr) (fun v c -> { c with NewLayerLr = v }) ]
      Validate = fun _ -> [] }

let set (key: string) (value: string) (c: Config) = SettingsTable.set table key value c

/// Cross entropy at the label resolution: logits are upsampled to the masks' size.
let segmentationLoss (logits: Tensor) (masks: Tensor) =
    use up = Cam.resize (masks.size 1) (masks.size 2) logits          // (B, K+1, H, W)
    Losses.crossEntropy up masks

let create (env: MethodEnv) (cfg: Config) : Method =
    let net = new SegNet(MethodEnv.backbone env, int64 env.Classes, head cfg) |> MethodEnv.place env
    let groups =
        [ Hybrid.Torch.Optim.ParamGroup(net.Backbone.parameters () |> Seq.filter (fun p -> p.requires_grad), 1.0, name = "backbone")
          Hybrid.Torch.Optim.ParamGroup(net.Decoder.parameters (), MethodEnv.headLrMult env cfg.NewLayerLr, name = "decoder") ]
    { Name = "supervised"
      Model = net
      Groups = groups
      Step = fun _ batch -> [ "seg", segmentationLoss (net.forward batch.Images) (Batch.masks batch) ]
      AfterStep = ignore
      Predict = { Predictor.none with Segment = Some net.forward }
      State = MethodState.none }
