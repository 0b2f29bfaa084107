namespace Hybrid.Wsss.Training

open TorchSharp
open Hybrid.Torch.Optim
open Hybrid.Wsss
open Hybrid.Wsss.Schedules

/// Where a train step stands (for schedules, gates and ramps inside a method).
type StepContext =
    { Step: int
      Total: int }
    member c.Clock = Clock.at c.Step c.Total

/// Weighted loss terms of one step; the loop minimises their sum and logs each by name.
type NamedLosses = (string * Tensor) list

/// What a trained model can predict, for evaluation and label generation.
/// K foreground classes; images (B, 3, H, W) normalised.
type Predictor =
    { /// images -> raw class score maps (B, K, h, w) at the model's output stride (the CAM
      /// before ReLU/normalisation; multi-scale fusion and normalisation happen outside).
      Cam: (Tensor -> Tensor) option
      /// images -> segmentation logits (B, K + 1, h, w).
      Segment: (Tensor -> Tensor) option
      /// batch -> pseudo masks (B, H, W) int64 in 0..K with 255 = ignore, the method's own
      /// label pipeline (refinement included).
      Pseudo: (Batch -> Tensor) option }

module Predictor =
    let none = { Cam = None; Segment = None; Pseudo = None }

/// Run state a method keeps outside its model that a checkpoint must carry for `--resume` to
/// continue exactly and for a finished run to predict as it did at the end of training (e.g.
/// CoSA's threshold queues). Tensors by name; Restore takes the tensors a checkpoint held
/// (none from a checkpoint written without state) and owns them.
type MethodState =
    { Save: unit -> (string * Tensor) list
      Restore: Map<string, Tensor> -> unit }

module MethodState =
    /// For methods whose whole state is their model.
    let none = { Save = (fun () -> []); Restore = ignore }

/// A method as the training loop sees it. Everything trainable and everything that must be
/// checkpointed (an EMA teacher included) lives in Model.
type Method =
    { Name: string
      Model: torch.nn.Module
      /// Optimizer parameter groups (lr multipliers, e.g. x10 for new layers).
      Groups: ParamGroup list
      /// One step's losses on a batch (the loop does zero_grad / backward / step).
      Step: StepContext -> Batch -> NamedLosses
      /// After the optimizer step (EMA update, queues ...).
      AfterStep: StepContext -> unit
      Predict: Predictor
      /// State beside the model that checkpoints carry.
      State: MethodState }

/// The optimizer of a run (MAP.md recipes: SGD for PLDA/AuxSegNet+, AdamW for CoSA).
type OptimizerKind =
    | Sgd of momentum: float * weightDecay: float
    | AdamW of weightDecay: float

module OptimizerKind =
    let create (kind: OptimizerKind) (groups: ParamGroup list) (lr: float) : Optimizer =
        match kind with
        | Sgd (m, wd) -> Optimizer.SGD(groups, lr, momentum = m, weight_decay = wd)
        | AdamW wd -> Optimizer.AdamW(groups, lr, weight_decay = wd)

    /// The optimizer a name asks for, with the papers' values: sgd (momentum 0.9, weight decay
    /// 5e-4: the DeepLab recipe of PLDA and AuxSegNet+), adamw (weight decay 0.01: CoSA's).
    let private named = [ "sgd", Sgd(0.9, 5e-4); "adamw", AdamW 0.01 ]

    let ofName (name: string) : OptimizerKind option =
        let key = name.Trim().ToLowerInvariant()
        named |> List.tryFind (fun (n, _) -> n = key) |> Option.map snd

    let names = List.map fst named

    /// e.g. "sgd (momentum 0.9, weight decay 0.0005)"
    let describe (kind: OptimizerKind) =
        let f (x: float) = x.ToString("R", System.Globalization.CultureInfo.InvariantCulture)
        match kind with
        | Sgd (m, wd) -> $"sgd (momentum {f m}, weight decay {f wd})"
        | AdamW wd -> $"adamw (weight decay {f wd})"
