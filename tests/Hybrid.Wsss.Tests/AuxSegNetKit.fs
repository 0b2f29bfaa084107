/// Tiny networks and data for the AuxSegNet+ tests: a two-conv backbone of output stride 4,
/// 32x32 images, K = 3 foreground classes.
module Hybrid.Wsss.Tests.AuxSegNetKit

open System
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Methods.AuxSegNetPlus
open Hybrid.Wsss.Tests.TensorValues

let classes = 3
let side = 32L

/// A tiny AuxSegNet+ configuration: 8-channel branches, small dilations for 8x8 features.
let tinyConfig: Config =
    { Config.defaults with
        BranchChannels = 8
        Dilations = (1, 2)
        ClassificationEpochs = 1
        Stages = 2
        MaxEpochsPerStage = 2
        Patience = 1
        SaliencyCrf = true }

/// A two-conv backbone (3 -> 8 -> 16 channels, stride 4): 32x32 images -> 8x8 features.
let tinyBackbone () : SharedBackbone =
    let convs = torch.nn.Sequential(torch.nn.Conv2d(3L, 8L, 3L, stride = 2L, padding = 1L), torch.nn.ReLU(), torch.nn.Conv2d(8L, 16L, 3L, stride = 2L, padding = 1L), torch.nn.ReLU())
    { Module = convs; Features = (fun x -> convs.forward x); Channels = 16L }

let tinyNetwork (cfg: Config) : AuxSegNetNetwork =
    torch.manual_seed 7L |> ignore
    AuxSegNetPlusMethod.network (tinyBackbone ()) classes cfg

/// A batch of `n` random 32x32 images with image labels, saliency in [0, 1] and ground-truth
/// masks consistent with the labels (pixels of present classes or background).
let batch (seed: int64) (n: int) : Batch =
    torch.manual_seed seed |> ignore
    let images = torch.randn([| int64 n; 3L; side; side |])
    let rng = Random(int seed)
    let labels = Array.init (n * classes) (fun _ -> if rng.NextDouble() < 0.5 then 1.0f else 0.0f)
    for i in 0 .. n - 1 do
        if Array.forall (fun c -> labels.[i * classes + c] = 0.0f) [| 0 .. classes - 1 |] then labels.[i * classes + rng.Next classes] <- 1.0f
    let masks =
        Array.init (n * int (side * side)) (fun p ->
            let i = p / int (side * side)
            let present = [| for c in 0 .. classes - 1 do if labels.[i * classes + c] = 1.0f then yield int64 (c + 1) |]
            if rng.NextDouble() < 0.5 then 0L else present.[rng.Next present.Length])
    { Ids = Array.init n (fun i -> sprintf "img%d_%d" seed i)
      Images = images
      Labels = torch.tensor(labels, [| int64 n; int64 classes |])
      Masks = Some(torch.tensor(masks, [| int64 n; side; side |]))
      Saliency = Some(torch.rand([| int64 n; 1L; side; side |]))
      Strong = None
      Padding = None }

/// Random stage targets for a batch: labels in {0..K, 255}, saliency in [0, 1].
let randomTargets (b: Batch) : StageTargets =
    let n = int64 (Batch.size b)
    let rng = Random(11)
    let seg = Array.init (int (n * side * side)) (fun _ -> match rng.Next 5 with | 4 -> 255L | c -> int64 c % int64 (classes + 1))
    { Segmentation = torch.tensor(seg, [| n; side; side |])
      Saliency = torch.rand([| n; 1L; side; side |]) }

/// Normalised-looking images -> uint8 RGB for the saliency CRF (a fixed affine map).
let toRgb (images: Tensor) : Tensor =
    use scaled = images * 40.0 + 128.0
    use c = scaled.clamp(0.0, 255.0)
    c.to_type(ScalarType.Byte)

let maxAbs (t: Tensor) : float =
    use a = t.abs().max()
    a.ToSingle() |> float

let close (expected: Tensor) (actual: Tensor) (tol: float) =
    if expected.shape <> actual.shape then failwithf "shapes differ: %A vs %A" expected.shape actual.shape
    use d = expected - actual
    let m = maxAbs d
    if not (m <= tol) then failwithf "max |difference| %g exceeds %g" m tol

let isFinite (t: Tensor) : bool =
    let v = doubles t
    v |> Array.forall (fun x -> not (Double.IsNaN x || Double.IsInfinity x))

/// The entry settings of a tiny stage-wise run on the tiny FMNIST-Scenes set: two
/// classification epochs (the loop evaluates between them), two label stages of <= 2 epochs.
let entrySets =
    [ "channels", "8"; "dilations", "1,2"; "stages", "2"; "classification-epochs", "2"; "max-epochs", "2"
      "patience", "1"; "epoch-steps", "2"; "cam-scales", "1" ]

/// A run context on the tiny FMNIST-Scenes set (CsdFixture's environment and batches).
let entryContext (out: string option) (resume: bool) (cancel: Threading.CancellationToken) (log: string -> unit) (onProgress: Hybrid.Wsss.Training.Progress -> unit) : Hybrid.Wsss.Training.RunContext =
    let ds = CsdFixture.trainSet ()
    { Env = CsdFixture.env ds
      Config =
        { Hybrid.Wsss.Training.TrainConfig.defaults 10 (Hybrid.Wsss.Schedules.Schedule.constant 1e-3) with
            Optimizer = Hybrid.Wsss.Training.AdamW 1e-4
            LogEvery = 1
            OutDir = out
            Resume = resume
            Cancel = cancel }
      Batches = CsdFixture.batches ds
      BatchesOf = CsdFixture.batches
      ValBatches = fun () -> Hybrid.Wsss.Data.DataSource.evalBatches torch.CPU (TinyScenes.valSet ()) 4
      OnProgress = onProgress
      Log = log }
