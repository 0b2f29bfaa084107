/// A tiny CAM baseline for PLDA's tests: three stride-2 3x3 convs (output stride 8, D = 16)
/// and a 1x1 CAM classifier without bias, trained with the multilabel soft margin on GAP.
module Hybrid.Wsss.Tests.PldaTinyNet

open TorchSharp
open Hybrid.Torch.Optim
open Hybrid.Wsss
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.Plda

let Channels = 16L

type TinyCamNet(classes: int) as this =
    inherit torch.nn.Module<Tensor, Tensor>("TinyCamNet")
    let backbone =
        torch.nn.Sequential(
            torch.nn.Conv2d(3L, 8L, 3L, stride = 2L, padding = 1L), torch.nn.ReLU(),
            torch.nn.Conv2d(8L, 16L, 3L, stride = 2L, padding = 1L), torch.nn.ReLU(),
            torch.nn.Conv2d(16L, Channels, 3L, stride = 2L, padding = 1L), torch.nn.ReLU())
    let classifier = torch.nn.Conv2d(Channels, int64 classes, 1L, bias = false)
    do
        this.register_module("backbone", backbone)
        this.register_module("classifier", classifier)
    member _.Backbone = backbone
    member _.Classifier = classifier
    /// (B, 3, H, W) -> (B, K, H/8, W/8) class scores.
    override _.forward images = classifier.forward (backbone.forward images)

/// The tiny baseline as a CamNetwork.
let network (classes: int) : CamNetwork =
    let net = new TinyCamNet(classes)
    { Model = net
      Groups = [ ParamGroup(net.parameters ()) ]
      Channels = Channels
      Classes = classes
      Features = fun images -> net.Backbone.forward images              // (B, 16, H/8, W/8)
      Scores = fun f -> net.Classifier.forward f                         // (B, K, h, w)
      Losses = fun _ batch _ scores -> [ "cls", Losses.multilabelSoftMargin (scores.mean([| 2L; 3L |])) batch.Labels ] // GAP of the maps (B, K)
      Predict = Predictor.none }

/// A random batch of 32x32 images with multi-hot labels (>= 1 class each) and random GT masks.
let batch (seed: int64) (size: int) (classes: int) : Batch =
    torch.manual_seed seed |> ignore
    let rng = System.Random(int seed)
    let labels =
        Array.init size (fun _ ->
            let l = Array.init classes (fun _ -> if rng.NextDouble() < 0.5 then 1.0f else 0.0f)
            if Array.forall ((=) 0.0f) l then l[rng.Next classes] <- 1.0f
            l)
        |> Array.concat
    let images = torch.randn ([| int64 size; 3L; 32L; 32L |])
    images.DetachFromDisposeScope() |> ignore
    let lbl = torch.tensor (labels, [| int64 size; int64 classes |])
    lbl.DetachFromDisposeScope() |> ignore
    let masks = torch.randint (0L, int64 classes + 1L, [| int64 size; 32L; 32L |])
    masks.DetachFromDisposeScope() |> ignore
    { Ids = Array.init size string; Images = images; Labels = lbl; Masks = Some masks; Saliency = None; Strong = None; Padding = None }

/// Small discriminator widths so the tests stay fast.
let smallConfig = { PldaConfig.defaults with Hidden1 = 16; Hidden2 = 8; MmdSamples = 32 }
