/// CSD's tests on the shared tiny FMNIST-Scenes set (TinyScenes: 16 train / 8 val, 32x32):
/// the environment, batches, and partner sources with GT-derived stage-1 masks.
module Hybrid.Wsss.Tests.CsdFixture

open System.Collections.Generic
open TorchSharp
open Hybrid.Wsss
open Hybrid.Data
open Hybrid.Wsss.Training
open Hybrid.Wsss.Data
open Hybrid.Wsss.Methods.Csd

let crop = 32
let batchSize = 4

let trainSet () = TinyScenes.train ()

/// The tiny environment (tiny_resnet, 32x32 crops) on `ds`.
let env (ds: SegmentationDataset) : MethodEnv = { TinyScenes.env 2 with TrainSet = Some ds }

let loader (ds: SegmentationDataset) = DataSource.trainLoader ds crop batchSize 0 0 false

let batches (ds: SegmentationDataset) = DataSource.trainStream torch.CPU (loader ds)

/// Stage-1 masks taken from the GT (tests only: deterministic masks without a trained model).
let gtMasks (ds: SegmentationDataset) : IReadOnlyDictionary<int, SourceMask> =
    SourceMasks.groundTruth ds (DomainSplit.split (PartnerSource.labelSets ds)).Source

let partnerSource (ds: SegmentationDataset) (pairing: Pairing) : PartnerSource =
    PartnerSource.create ds (loader ds).Augmenter (gtMasks ds) Cooccurrence.paper pairing 0L 1
