namespace Hybrid.Wsss.Methods.Plda

open TorchSharp
open Hybrid.Torch.Optim
open Hybrid.Wsss
open Hybrid.Wsss.Training

/// A CAM baseline as a plug-in sees it: the network split at the backbone feature, its own
/// loss terms and its optimiser groups. Any baseline built with the F# core (a backbone, a
/// 1x1 CAM classifier W, an image-level loss on the pooled scores) can be described by one,
/// and PLDA adds its terms on top without changing the baseline's.
/// K foreground classes, D feature channels.
type CamNetwork =
    { /// The baseline's trainable modules (backbone, classifier, anything it adds).
      Model: torch.nn.Module
      /// Its optimiser groups (lr multipliers as the baseline's recipe).
      Groups: ParamGroup list
      /// D, the channels of the final feature.
      Channels: int64
      /// K, the foreground classes.
      Classes: int
      /// images (B, 3, H, W) normalised -> final feature (B, D, h, w).
      Features: Tensor -> Tensor
      /// final feature (B, D, h, w) -> raw CAM scores W . F (B, K, h, w), before ReLU.
      Scores: Tensor -> Tensor
      /// The baseline's loss terms of a step, from the batch and this step's forward
      /// (feature, scores): L_cls and whatever else the baseline trains with.
      Losses: StepContext -> Batch -> Tensor -> Tensor -> NamedLosses
      /// The baseline's predictor (PLDA keeps its CAM and its pseudo-label pipeline).
      Predict: Predictor }
