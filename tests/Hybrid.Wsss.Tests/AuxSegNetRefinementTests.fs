module Hybrid.Wsss.Tests.AuxSegNetRefinementTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Methods.AuxSegNetPlus
open Hybrid.Wsss.Tests.AuxSegNetKit
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations
open Hybrid.Wsss.Tests.TensorValues

let private f64 (values: float[]) (shape: int64[]) = torch.tensor(values, shape)

/// Random non-negative affinities (optionally row-stochastic) and softmax predictions.
let private refineCase (seed: int) (rowStochastic: bool) =
    torch.manual_seed (int64 seed) |> ignore
    let n = 12L
    let logits = torch.randn([| 2L; n; n |]) * 3.0
    let a = if rowStochastic then logits.softmax(2L) else logits.exp()   // (B, N, N) >= 0
    let p = (torch.randn([| 2L; 4L; 3L; 4L |]) * 2.0).softmax(1L)          // (B, K, 3, 4)
    a, p

[<Tests>]
let tests =
    testList "AuxSegNetRefinement" [
        testCase "CAM refinement by an identity affinity changes nothing" <| fun () ->
            use scope = torch.NewDisposeScope()
            torch.manual_seed 3L |> ignore
            let cam = torch.rand([| 2L; 3L; 4L; 5L |])                        // (B, K, h, w)
            let eye = torch.eye(20L).unsqueeze(0L).expand([| 2L; 20L; 20L |]).contiguous()
            let refined = AffinityRefinement.normalised (AffinityRefinement.ofMatrix eye) cam
            close cam refined 1e-7

        testCase "refinement matches a reference computed with PyTorch" <| fun () ->
            // Computed with Debian python3-torch 1.13:
            //   A = [[0.5,0.3,0.2],[0.1,0.6,0.1],[0.2,0.2,0.9]]; x = [[0.2,0.5,0.9],[0.8,0.5,0.1]] (K=2, N=3)
            //   print(((x @ A.T) / A.sum(1)).flatten().tolist())
            use scope = torch.NewDisposeScope()
            let a = f64 [| 0.5; 0.3; 0.2; 0.1; 0.6; 0.1; 0.2; 0.2; 0.9 |] [| 1L; 3L; 3L |]
            let x = f64 [| 0.2; 0.5; 0.9; 0.8; 0.5; 0.1 |] [| 1L; 2L; 1L; 3L |]
            let expected = f64 [| 0.43; 0.5125; 0.7307692307692308; 0.57; 0.4875; 0.2692307692307693 |] [| 1L; 2L; 1L; 3L |]
            close expected (AffinityRefinement.normalised (AffinityRefinement.ofMatrix a) x) 1e-12

        propertyN 30 "refined predictions from a row-stochastic affinity stay distributions" (
            Prop.forAll (Arb.fromGen (Gen.choose (0, 100000))) (fun seed ->
                use scope = torch.NewDisposeScope()
                let a, p = refineCase seed true
                let r = AffinityRefinement.normalised (AffinityRefinement.ofMatrix a) p
                let sums = r.sum(1L)
                maxAbs (sums - 1.0) < 1e-5 && (r.amin([| 0L; 1L; 2L; 3L |]).ToSingle()) >= 0.0f
                // a row-stochastic A needs no normalisation: op(1) = 1
                && maxAbs (r - (AffinityRefinement.ofMatrix a p)) < 1e-5))

        propertyN 30 "normalisation keeps predictions distributions for any non-negative affinity" (
            Prop.forAll (Arb.fromGen (Gen.choose (0, 100000))) (fun seed ->
                use scope = torch.NewDisposeScope()
                let a, p = refineCase seed false
                let r = AffinityRefinement.normalised (AffinityRefinement.ofMatrix a) p
                let sigmoidLike = p.narrow(1L, 0L, 1L)                      // in [0, 1]
                let s = AffinityRefinement.normalised (AffinityRefinement.ofMatrix a) sigmoidLike
                maxAbs (r.sum(1L) - 1.0) < 1e-5
                && (s.amin([| 0L; 1L; 2L; 3L |]).ToSingle()) >= 0.0f
                && (s.amax([| 0L; 1L; 2L; 3L |]).ToSingle()) <= 1.0f + 1e-6f))

        testCase "the network's refined outputs are distributions (dual cross-task affinity with unary term)" <| fun () ->
            use scope = torch.NewDisposeScope()
            use net = tinyNetwork tinyConfig
            let b = batch 5L 2
            let out = net.Forward b.Images
            let seg = out.RefinedSegmentation.Value                           // (B, K + 1, 8, 8)
            let sal = out.RefinedSaliency.Value                               // (B, 1, 8, 8)
            Expect.equal seg.shape [| 2L; 4L; 8L; 8L |] "seg.shape"
            Expect.isTrue (maxAbs (seg.sum(1L) - 1.0) < 1e-5) "maxAbs (seg.sum(1L) - 1.0) < 1e-5"
            Expect.isTrue (seg.ge(0.0).all().ToBoolean()) "seg.ge(0.0).all().ToBoolean()"
            Expect.isTrue (sal.ge(0.0).logical_and(sal.le(1.0)).all().ToBoolean()) "sal.ge(0.0).logical_and(sal.le(1.0)).all().ToBoolean()"
            // without normalisation the unary term would double the class sum
            let raw = out.Affinity.Value.Refine(out.Segmentation.softmax(1L), true)
            Expect.isTrue (maxAbs (raw.sum(1L) - 1.0) > 0.5) "maxAbs (raw.sum(1L) - 1.0) > 0.5"

        testCase "Eq. 18 on the network's affinity is the dense pairwise matrix applied and normalised" <| fun () ->
            use scope = torch.NewDisposeScope()
            use net = tinyNetwork tinyConfig
            let b = batch 6L 2
            let out = net.Forward b.Images
            let a = out.Affinity.Value
            let cam = out.Cam.relu()
            let viaDense = AffinityRefinement.normalised (AffinityRefinement.ofMatrix (a.Dense())) cam
            close viaDense (AffinityRefinement.pairwise a cam) 1e-5

        testCase "inference segments with the pairwise affinity alone (Sec. III-C), not training's unary term" <| fun () ->
            use scope = torch.NewDisposeScope()
            use net = tinyNetwork tinyConfig
            let b = batch 7L 2
            net.eval () |> ignore
            // sharpen the freshly initialised affinities (nearly uniform, where pairwise and unary
            // refinement coincide) so the two refinements differ
            do
                use _ng = torch.no_grad ()
                for p in net.NewLayerParameters do
                    p.mul_((4.0).ToScalar()) |> ignore
            let logits = AuxSegNetPlusMethod.segment net b.Images             // (B, K + 1, 8, 8)
            use _ng = torch.no_grad ()
            let out = net.Forward b.Images
            let a = out.Affinity.Value
            let probs = out.Segmentation.softmax(1L)
            // the dense pairwise matrix, applied and normalised, is the reference
            let pairwise = AffinityRefinement.normalised (AffinityRefinement.ofMatrix (a.Dense())) probs
            close (logits.exp ()) pairwise 1e-5
            // and it is not training's refinement with the unary term
            Expect.isTrue (maxAbs (logits.exp () - out.RefinedSegmentation.Value) > 1e-4) "maxAbs (logits.exp () - out.RefinedSegmentation.Value) > 1e-4"

        testCase "Heads is Forward without the refinements" <| fun () ->
            use scope = torch.NewDisposeScope()
            use net = tinyNetwork tinyConfig
            let b = batch 8L 2
            net.eval () |> ignore
            use _ng = torch.no_grad ()
            let heads = net.Heads b.Images
            let full = net.Forward b.Images
            Expect.isTrue (heads.RefinedSegmentation.IsNone && heads.RefinedSaliency.IsNone) "heads.RefinedSegmentation.IsNone && heads.RefinedSaliency.IsNone"
            Expect.isTrue (full.RefinedSegmentation.IsSome && full.RefinedSaliency.IsSome) "full.RefinedSegmentation.IsSome && full.RefinedSaliency.IsSome"
            close full.Scores heads.Scores 1e-6
            close full.Cam heads.Cam 1e-6
            close full.Segmentation heads.Segmentation 1e-6
            close full.Saliency.Value heads.Saliency.Value 1e-6
            close (full.Affinity.Value.Dense()) (heads.Affinity.Value.Dense()) 1e-6

        testCase "normalised refinement has the gradient of finite differences" <| fun () ->
            use scope = torch.NewDisposeScope()
            torch.manual_seed 9L |> ignore
            let a = torch.rand([| 1L; 6L; 6L |], dtype = ScalarType.Float64) + 0.1
            let x = torch.rand([| 1L; 2L; 2L; 3L |], dtype = ScalarType.Float64)
            let w = torch.randn([| 1L; 2L; 2L; 3L |], dtype = ScalarType.Float64)
            let objective (m: Tensor) = (AffinityRefinement.normalised (AffinityRefinement.ofMatrix m) x * w).sum()
            let leaf = a.detach().requires_grad_(true)
            objective(leaf).backward()
            let analytic = doubles leaf.grad
            let flat = doubles a
            let eps = 1e-6
            for i in 0 .. flat.Length - 1 do
                let shifted (d: float) =
                    let v = Array.copy flat
                    v.[i] <- v.[i] + d
                    use m = torch.tensor(v, [| 1L; 6L; 6L |])
                    use _ng = torch.no_grad ()
                    (objective m).ToDouble()
                let numeric = (shifted eps - shifted -eps) / (2.0 * eps)
                Expect.isTrue (abs (numeric - analytic.[i]) < 1e-6) (sprintf "entry %d: numeric %g, analytic %g" i numeric analytic.[i])

        testCase "probability cross entropy matches PyTorch's nll_loss of log-probabilities" <| fun () ->
            // Computed with Debian python3-torch 1.13: p = [[0.7,0.2,0.1],[0.1,0.1,0.8]] (pixels x classes),
            //   F.nll_loss(p.T.reshape(1,3,1,2).clamp_min(1e-8).log(), t, ignore_index=255):
            //   t = [[[2,255]]] -> 2.3025850929940455; t = [[[0,2]]] -> 0.2899092476264711
            use scope = torch.NewDisposeScope()
            let p = f64 [| 0.7; 0.1; 0.2; 0.1; 0.1; 0.8 |] [| 1L; 3L; 1L; 2L |]
            let t1 = torch.tensor([| 2L; 255L |], [| 1L; 1L; 2L |])
            let t2 = torch.tensor([| 0L; 2L |], [| 1L; 1L; 2L |])
            equalRounded 10 ((Objective.probabilityCrossEntropy p t1).ToDouble()) 2.3025850929940455 "(Objective.probabilityCrossEntropy p t1).ToDouble()"
            equalRounded 10 ((Objective.probabilityCrossEntropy p t2).ToDouble()) 0.2899092476264711 "(Objective.probabilityCrossEntropy p t2).ToDouble()"
            let allIgnored = torch.tensor([| 255L; 255L |], [| 1L; 1L; 2L |])
            Expect.equal ((Objective.probabilityCrossEntropy p allIgnored).ToDouble()) 0.0 "(Objective.probabilityCrossEntropy p allIgnored).ToDouble()"

        testCase "refine=logits: training refines the logits, the losses take them as logits, inference refines them pairwise" <| fun () ->
            use scope = torch.NewDisposeScope()
            let cfg = { tinyConfig with Refines = Logits }
            use net = tinyNetwork cfg
            let b = batch 9L 2
            net.eval () |> ignore
            do
                use _ng = torch.no_grad ()
                for p in net.NewLayerParameters do
                    p.mul_((4.0).ToScalar()) |> ignore
            use _ng = torch.no_grad ()
            let out = net.Forward b.Images
            let a = out.Affinity.Value
            close out.RefinedSegmentation.Value (AffinityRefinement.predictions a out.Segmentation) 1e-5
            close out.RefinedSaliency.Value (AffinityRefinement.predictions a out.Saliency.Value) 1e-5
            // refined logits are not distributions: the probability path would give class sums 1
            Expect.isTrue (maxAbs (out.RefinedSegmentation.Value.sum(1L) - 1.0) > 0.1) "logits, not probabilities"
            let targets = randomTargets b
            let losses = Objective.stage cfg out b.Labels targets |> Map.ofList
            let up (x: Tensor) = torch.nn.functional.interpolate(x, [| side; side |], mode = InterpolationMode.Bilinear, align_corners = false)
            close losses.["seg_refined"] (Losses.crossEntropy (up out.RefinedSegmentation.Value) targets.Segmentation) 1e-6
            close losses.["sal_refined"] (torch.nn.functional.binary_cross_entropy_with_logits(up out.RefinedSaliency.Value, targets.Saliency)) 1e-6
            let pairwise = AffinityRefinement.normalised (AffinityRefinement.ofMatrix (a.Dense())) out.Segmentation
            close (AuxSegNetPlusMethod.segment net b.Images) pairwise 1e-5

        testCase "post-affinity-conv adds one dilated 3x3 conv per branch after the affinity, trained as a new layer" <| fun () ->
            use scope = torch.NewDisposeScope()
            let keys (n: AuxSegNetNetwork) = n.state_dict().Keys |> Set.ofSeq
            use plain = tinyNetwork tinyConfig
            use post = tinyNetwork { tinyConfig with PostAffinityDilation = Some 3 }
            let added = Set.difference (keys post) (keys plain)
            Expect.equal added (set [ "seg_post.weight"; "seg_post.bias"; "sal_post.weight"; "sal_post.bias" ]) "the added parameters"
            Expect.equal (post.state_dict().["seg_post.weight"].shape) [| 8L; 8L; 3L; 3L |] "a 3x3 conv over the branch channels"
            Expect.equal (Seq.length post.NewLayerParameters - Seq.length plain.NewLayerParameters) 4 "the new layers include it"
            // the segmentation head reads its output: with the conv zeroed the logits are the
            // head's bias at every position
            let b = batch 10L 2
            use _ng = torch.no_grad ()
            let spread (x: Tensor) = maxAbs (x - x.mean([| 2L; 3L |], keepdim = true))
            Expect.isTrue (spread (post.Heads b.Images).Segmentation > 1e-4) "logits vary over positions"
            post.state_dict().["seg_post.weight"].zero_() |> ignore
            post.state_dict().["seg_post.bias"].zero_() |> ignore
            Expect.isTrue (spread (post.Heads b.Images).Segmentation < 1e-6) "constant once the conv outputs 0"
            let noAffinity = { tinyConfig with Affinity = NoAffinity; Branches = SegmentationOnly; PostAffinityDilation = Some 3 }
            Expect.exists (Config.problems noAffinity) (fun p -> p.Contains "post-affinity-conv") "refused without an affinity"
            Expect.exists (Config.problems { tinyConfig with PostAffinityDilation = Some 0 }) (fun p -> p.Contains "post-affinity-conv") "refused at dilation 0"
    ]
