/// Shared pieces of the CoSA training tests: a micro model, a random batch, single-threaded runs.
module Hybrid.Wsss.Tests.CosaTestKit

open System
open TorchSharp
open Hybrid.Vision.Backbones
open Hybrid.Wsss
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.Cosa

let classes = 3

/// Cheap settings: no warm-up, one scale without flip, a narrow head, a fast EMA.
let tiny =
    { CosaConfig.defaults with
        Warmup = WarmupSteps 0
        PseudoScales = [ 1.0 ]
        PseudoFlip = false
        Momentum = FixedMomentum 0.9
        SegmentationHead = { Hidden = 8; Dilation = 2; Fc7Kernel = 3 } }

/// A micro ResNet (widths 8-16, one block per stage, output stride 8): the tests exercise
/// the method's wiring, not the backbone, and 32 switch combinations must stay fast.
let micro () =
    new ResNet("micro_resnet", ResNetConfig(ResNetBlockKind.Basic, [| 1; 1; 1; 1 |], [| 8L; 8L; 16L; 16L |], 8L, false), OutputStride.Eight)

let network (cfg: CosaConfig) = new CosaNetwork(micro (), int64 classes, cfg.SegmentationHead)

let model (cfg: CosaConfig) = new CosaModel(network cfg, network cfg)

let registered = MethodEnv.onCpu [| "background"; "a"; "b"; "c" |] "tiny_resnet" 32 10

/// A random batch of two 32x32 images, each with one or two of the 3 classes, GT masks of
/// those classes and a strong view.
let batch (seed: int64) : Batch =
    torch.manual_seed seed |> ignore
    let images = torch.randn ([| 2L; 3L; 32L; 32L |])
    let labels = torch.tensor ([| 1.0f; 0.0f; 1.0f; 0.0f; 1.0f; 0.0f |], [| 2L; 3L |])
    let masks = torch.tensor ([| for b in 0 .. 1 do for i in 0 .. 1023 -> if i % 32 < 16 then 0L else (if b = 0 then (if i < 512 then 1L else 3L) else 2L) |], [| 2L; 32L; 32L |])
    { Ids = [| "a"; "b" |]
      Images = images
      Labels = labels
      Masks = Some masks
      Saliency = None
      Strong = Some(images * 0.8 + 0.1)
      Padding = None }

let ctx step : StepContext = { Step = step; Total = 10 }

let finite (t: Tensor) = let v = t.ToSingle() in not (Single.IsNaN v || Single.IsInfinity v)

let weightOf (net: CosaNetwork) = net.Classifier.parameters () |> Seq.exactlyOne

/// Gradient of one named term w.r.t. the online classifier weight and backbone (None = no gradient).
let gradientsOf (term: string) (cfg: CosaConfig) =
    use scope = torch.NewDisposeScope()
    torch.manual_seed 11L |> ignore
    use m = model cfg
    let meth, _ = Cosa.ofModel cfg m
    let losses = meth.Step (ctx 5) (batch 1L)
    let total = losses |> List.filter (fun (n, _) -> n = term) |> List.map snd
    if List.isEmpty total then failwithf "no term %s in %A" term (List.map fst losses)
    (List.reduce (+) total).backward ()
    let w = weightOf m.Online
    let wGrad = w.grad |> Option.ofObj |> Option.map (fun g -> g.abs().sum().ToSingle())
    let bGrad = m.Online.BackboneParameters |> List.sumBy (fun p -> match p.grad with null -> 0.0f | g -> g.abs().sum().ToSingle())
    wGrad, bGrad, List.map fst losses
