/// A tiny FMNIST-Scenes set (16 train / 8 val images of 32x32) generated once per test run in
/// a temporary folder, and the pieces CSD's tests build on it.
module Hybrid.Wsss.Tests.CsdFixture

open System
open System.Collections.Generic
open System.IO
open Hybrid.Torch
open Hybrid.Data
open Hybrid.Vision.Backbones
open Hybrid.Wsss
open Hybrid.Wsss.Training
open Hybrid.Wsss.Data
open Hybrid.Wsss.Methods.Csd

let private root =
    lazy
        (let dir = Path.Combine(Path.GetTempPath(), "hybrid-csd-tests-" + Guid.NewGuid().ToString("N"))
         FmnistScenes.Generate(FmnistScenesOptions(dir, Train = 16, Val = 8, Size = 32, Workers = Nullable 1)) |> ignore
         AppDomain.CurrentDomain.ProcessExit.Add(fun _ -> try Directory.Delete(dir, true) with _ -> ())
         dir)

let dataDir () = root.Value

let trainSet () = DataSource.openSplit (dataDir ()) VocSplit.Train None

let crop = 32
let batchSize = 4

let env (ds: SegmentationDataset) : MethodEnv =
    { Classes = ds.NumClasses - 1
      ClassNames = ds.ClassNames |> Array.ofSeq
      Backbone = "tiny_resnet"
      BackboneOptions = BackboneOptions.Default
      Device = Device.CPU
      CropSize = crop
      Steps = 2
      Seed = 0
      TrainSet = Some ds }

let loader (ds: SegmentationDataset) = DataSource.trainLoader ds crop batchSize 0 0 false

let batches (ds: SegmentationDataset) = DataSource.trainStream Device.CPU (loader ds)

/// Stage-1 masks taken from the GT (tests only: deterministic masks without a trained model).
let gtMasks (ds: SegmentationDataset) : IReadOnlyDictionary<int, SourceMask> =
    let split = DomainSplit.split (PartnerSource.labelSets ds)
    let d = Dictionary<int, SourceMask>()
    for i in split.Source do
        let m = ds.Load(i).Mask
        d[i] <- SourceMask.ofPseudo m.Width m.Height (m.Pixels |> Array.map int64)
    d :> IReadOnlyDictionary<int, SourceMask>

let partnerSource (ds: SegmentationDataset) (pairing: Pairing) : PartnerSource =
    PartnerSource.create ds (loader ds).Augmenter (gtMasks ds) Cooccurrence.paper pairing 0L 1

/// Runs a test body on one libtorch thread: the tensors are tiny, and on a loaded 2-core
/// machine a second intra-op thread turns milliseconds into seconds of waiting.
let singleThreaded (body: unit -> 'a) : 'a =
    let before = torch.get_num_threads ()
    torch.set_num_threads 1
    try body () finally torch.set_num_threads before
