/// CoSA's loss terms: Seg2CAM (Eq. 8), CAM2Seg with RAW (Eq. 5) and the contrastive
/// separation (Eq. 9-10) with its bounded sampling.
module Hybrid.Wsss.Tests.CosaLossTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Thresholds
open Hybrid.Wsss.Methods.Cosa
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations
open Hybrid.Wsss.Tests.TensorValues

/// Embeddings (N, D) where pixel i takes the unit vector of class `assign i`, labels the
/// true classes. Three classes of 6 pixels each.
let private clustered (assign: int -> int) =
    let n, d = 18, 3
    let labels = Array.init n (fun i -> int64 (i / 6))
    let e = Array.init (n * d) (fun j -> let i, c = j / d, j % d in if c = assign i then 1.0f else 0.0f)
    torch.tensor (e, [| int64 n; int64 d |]), torch.tensor (labels, [| int64 n |])

[<Tests>]
let tests =
    testList "CosaLoss" [
        testCase "Seg2CAM is the mean per-class BCE (reference from PyTorch)" <| fun () ->
            use scope = torch.NewDisposeScope()
            let cams = torch.tensor ([| 0.0; 1.5; 0.2; 3.0; 0.7; 0.0; 2.2; 0.1 |], [| 1L; 2L; 2L; 2L |])
            let target = torch.tensor ([| 0.1; 0.9; 0.0; 1.0; 0.5; 0.0; 1.0; 0.2 |], [| 1L; 2L; 2L; 2L |])
            // Debian python3-torch 1.13: F.binary_cross_entropy_with_logits(cams, target) on these
            // float64 values = 0.5208874860982127
            let got = (Seg2Cam.loss cams { Probabilities = target; Valid = None }).ToDouble()
            equalRounded 12 got 0.5208874860982127 "got"

        testCase "Seg2CAM from the SPL takes its foreground channels at the CAM size" <| fun () ->
            use scope = torch.NewDisposeScope()
            // SPL (1, 3, 4, 4): background, class 1, class 2 in constant planes
            let planes = [| 0.2f; 0.5f; 0.3f |]
            let spl = torch.tensor ([| for c in 0 .. 2 do for _ in 0 .. 15 -> planes.[c] |], [| 1L; 3L; 4L; 4L |])
            let t = Seg2Cam.fromSpl 2L 2L spl
            Expect.equal t.Probabilities.shape [| 1L; 2L; 2L; 2L |] "t.Probabilities.shape"
            Expect.equal (floats t.Probabilities) [| 0.5f; 0.5f; 0.5f; 0.5f; 0.3f; 0.3f; 0.3f; 0.3f |] "floats t.Probabilities"

        testCase "Seg2CAM from the ground truth is one-hot and leaves ignored pixels out" <| fun () ->
            use scope = torch.NewDisposeScope()
            let masks = torch.tensor ([| 0L; 1L; 2L; 255L |], [| 1L; 2L; 2L |])
            let t = Seg2Cam.fromGroundTruth 2L 2L 2L masks
            Expect.equal (floats t.Probabilities) [| 0.0f; 1.0f; 0.0f; 0.0f; 0.0f; 0.0f; 1.0f; 0.0f |] "floats t.Probabilities"
            Expect.equal (floats t.Valid.Value) [| 1.0f; 1.0f; 1.0f; 0.0f |] "floats t.Valid.Value"
            // the ignored pixel's CAM value does not change the loss
            let cams v = torch.tensor ([| -1.0f; 2.0f; 0.5f; v; 0.0f; -3.0f; 4.0f; v |], [| 1L; 2L; 2L; 2L |])
            let a = (Seg2Cam.loss (cams 0.0f) t).ToSingle()
            let b = (Seg2Cam.loss (cams 9.0f) t).ToSingle()
            Expect.equal b a "b"

        testCase "CAM2Seg with uniform RAW weights is the plain cross entropy and reliable pixels weigh more" <| fun () ->
            use scope = torch.NewDisposeScope()
            torch.manual_seed 3L |> ignore
            let logits = torch.randn ([| 2L; 3L; 4L; 4L |])
            let cpl = torch.randint (0L, 3L, [| 2L; 4L; 4L |])
            let plain = (Cam2Seg.loss AllPixels logits cpl None).ToSingle()
            let ones = (Cam2Seg.loss AllPixels logits cpl (Some(torch.ones ([| 2L; 4L; 4L |])))).ToSingle()
            equalRounded 5 ones plain "ones"
            // a confidence at the threshold (high perplexity) gets a small weight, one at the end a large one
            let nu = torch.tensor ([| 0.5; 1.0 |], [| 2L |])
            let w = doubles (Reliability.rawWeights Perplexity.cosa 0.5 nu)
            Expect.isTrue (w.[0] < 0.05 && w.[1] > 1.9) "w.[0] < 0.05 && w.[1] > 1.9"
            equalRounded 9 (Array.sum w) 2.0 "Array.sum w"

        property "CAM2Seg's halves (public code) equal a host loop: 0.5 mean over background + 0.5 over foreground, 255 ignored" <| fun (seed: int) (weighted: bool) ->
            use scope = torch.NewDisposeScope()
            torch.manual_seed (int64 seed) |> ignore
            let logits = torch.randn ([| 2L; 3L; 3L; 3L |], dtype = torch.float64) // (B, C, H, W)
            let target = torch.randint (0L, 4L, [| 2L; 3L; 3L |])                  // 3 stands for 255
            let target = target.masked_fill(target.eq(3.0), 255.0)
            let w = torch.rand ([| 2L; 3L; 3L |], dtype = torch.float64) + 0.5
            let got = (Cam2Seg.loss BackgroundForegroundHalves logits target (if weighted then Some w else None)).ToDouble()
            // the reference: per-pixel -log softmax on the host, two means
            let l = doubles logits
            let t = Host.values<int64> target
            let wv = doubles w
            let ce b y x =
                let v c = l.[((b * 3 + c) * 3 + y) * 3 + x]
                let m = Seq.max [ v 0; v 1; v 2 ]
                let lse = m + log (Seq.sum [ for c in 0 .. 2 -> exp (v c - m) ])
                lse - v (int t.[(b * 3 + y) * 3 + x])
            let pixels = [ for b in 0 .. 1 do for y in 0 .. 2 do for x in 0 .. 2 -> b, y, x ]
            let mean (keep: int64 -> bool) =
                let xs = [ for b, y, x in pixels do
                             let label = t.[(b * 3 + y) * 3 + x]
                             if label <> 255L && keep label then
                                 yield ce b y x * (if weighted then wv.[(b * 3 + y) * 3 + x] else 1.0) ]
                if xs.IsEmpty then 0.0 else List.sum xs / float xs.Length
            let expected = 0.5 * mean (fun c -> c = 0L) + 0.5 * mean (fun c -> c > 0L)
            abs (got - expected) < 1e-9

        testCase "Eq. 10 matches an independent loop implementation (PyTorch reference)" <| fun () ->
            use scope = torch.NewDisposeScope()
            let e = torch.tensor ([| 1.0; 0.2; -0.3; 0.8; 0.1; 0.0; -0.5; 1.0; 0.2; 0.0; 0.9; 0.4; 0.3; -0.2; 1.0 |], [| 5L; 3L |])
            let labels = torch.tensor ([| 0L; 0L; 1L; 1L; 2L |], [| 5L |])
            // Debian python3-torch 1.13, float64: for every anchor with a positive, the mean over its
            // positives p of -log(exp(s_ip) / (exp(s_ip) + sum_neg exp(s_in))), s = cos / 0.5, averaged
            // over those anchors (explicit Python loops) = 0.38267888969232255
            let got = (Separation.positivePairs 0.5 e labels).ToDouble()
            equalRounded 10 got 0.38267888969232255 "got"

        testCase "contrastive loss is lower when same-class embeddings coincide than when classes are swapped" <| fun () ->
            use scope = torch.NewDisposeScope()
            let coincide = clustered (fun i -> i / 6)
            // half of every class sits on the next class's vector
            let swapped = clustered (fun i -> if i % 6 < 3 then i / 6 else (i / 6 + 1) % 3)
            for form in [ PositivePairs; SupervisedInfoNce ] do
                let lossOf (e, l) = (Separation.lossOf form 0.1 e l).ToSingle()
                let good, bad = lossOf coincide, lossOf swapped
                Expect.isTrue (good < bad) (sprintf "%A: coinciding %g, swapped %g" form good bad)
            // Eq. 10 with coinciding clusters and orthogonal classes: log(1 + 12 exp(-10)) per pair
            let eq10 = Separation.positivePairs 0.1 (fst coincide) (snd coincide)
            equalRounded 5 (float (eq10.ToSingle())) (log (1.0 + 12.0 * exp -10.0)) "float (eq10.ToSingle())"

        propertyN 100 "anchor sampling is bounded, without repeats and spread over the classes" (
            let gen = gen {
                let! budget = Gen.choose (2, 64)
                let! n = Gen.choose (0, 300)
                let! classes = Gen.choose (1, 5)
                let! labels = Gen.arrayOfLength n (Gen.choose (0, classes - 1) |> Gen.map int64)
                return budget, labels
            }
            Prop.forAll (Arb.fromGen gen) (fun (budget, labels) ->
                let picked = Separation.sample budget labels
                let distinct = picked |> Array.distinct
                let present = labels |> Array.distinct
                let quota = max 1 (budget / max 1 present.Length)
                picked.Length <= max budget labels.Length
                && (labels.Length > budget || picked.Length = labels.Length)
                && distinct.Length = picked.Length
                && picked |> Array.forall (fun i -> i >= 0L && i < int64 labels.Length)
                // every class keeps min(its count, quota) anchors
                && (labels.Length <= budget
                    || present |> Array.forall (fun c ->
                        let have = picked |> Array.filter (fun i -> labels.[int i] = c) |> Array.length
                        let count = labels |> Array.filter ((=) c) |> Array.length
                        have = min count quota))))

        testCase "CSC on maps uses only the region and is zero with one class" <| fun () ->
            use scope = torch.NewDisposeScope()
            torch.manual_seed 5L |> ignore
            let cams = torch.randn ([| 1L; 2L; 3L; 3L |], requires_grad = true)
            let cpl = torch.tensor ([| 0L; 0L; 1L; 1L; 2L; 2L; 0L; 1L; 2L |], [| 1L; 3L; 3L |])
            let all = torch.ones ([| 1L; 3L; 3L |], ScalarType.Bool)
            let lossAll = Separation.loss PositivePairs 0.1 1024 cams cpl all
            Expect.isTrue (lossAll.ToSingle() > 0.0f) "lossAll.ToSingle() > 0.0f"
            // only background pixels in the region: no negative, loss 0 with a graph
            let bgOnly = cpl.eq(0.0)
            let zero = Separation.loss PositivePairs 0.1 1024 cams cpl bgOnly
            Expect.equal (zero.ToSingle()) 0.0f "zero.ToSingle()"
            zero.backward ()
            // pixels outside the region get no gradient
            let region = torch.tensor ([| true; true; true; true; false; false; false; false; false |], [| 1L; 3L; 3L |])
            cams.grad <- null
            let partial = Separation.loss PositivePairs 0.1 1024 cams cpl region
            partial.backward ()
            let g = floats (cams.grad.abs().sum(1L))            // (1, 3, 3) flattened
            Expect.isTrue (g.[0 .. 3] |> Array.exists (fun v -> v > 0.0f)) "g.[0 .. 3] |> Array.exists (fun v -> v > 0.0f)"
            Expect.isTrue (g.[4 ..] |> Array.forall (fun v -> v = 0.0f)) "g.[4 ..] |> Array.forall (fun v -> v = 0.0f)"
    ]
