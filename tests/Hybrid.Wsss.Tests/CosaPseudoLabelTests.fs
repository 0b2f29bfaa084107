/// CoSA's pseudo labels: CPL (Eq. 3), SPL (Eq. 7), the tensor perplexity / RAW weights
/// (Eq. 4-5) against the array reference, and the threshold tracker (Eq. 6).
module Hybrid.Wsss.Tests.CosaPseudoLabelTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Thresholds
open Hybrid.Wsss.Methods.Cosa
open Hybrid.Wsss.Tests.Generators
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations
open Hybrid.Wsss.Tests.TensorValues

/// Random CAMs (B, K, H, W) in [0, 1] and multi-hot labels (B, K), as flat arrays.
type CamCase =
    { B: int; K: int; H: int; W: int; Cams: float32[]; Labels: float32[] }

let private camCase: Gen<CamCase> = gen {
    let! b = Gen.choose (1, 3)
    let! k = Gen.choose (1, 4)
    let! h = Gen.choose (1, 5)
    let! w = Gen.choose (1, 5)
    let! cams = Gen.arrayOfLength (b * k * h * w) (confidence |> Gen.map float32)
    let! labels = Gen.arrayOfLength (b * k) (Gen.elements [ 0.0f; 1.0f ])
    return { B = b; K = k; H = h; W = w; Cams = cams; Labels = labels }

}

let private tensors (c: CamCase) =
    torch.tensor (c.Cams, [| int64 c.B; int64 c.K; int64 c.H; int64 c.W |]),
    torch.tensor (c.Labels, [| int64 c.B; int64 c.K |])

let private present (c: CamCase) (b: int) (k: int) = c.Labels.[b * c.K + k] = 1.0f

[<Tests>]
let tests =
    testList "CosaPseudoLabel" [
        propertyN 150 "CPL values are 0 or a present class + 1" (
            let gen = Gen.map2 (fun c xi -> c, xi) camCase (floatIn 0.0 1.0)
            Prop.forAll (Arb.fromGen gen) (fun (c, xi) ->
                use scope = torch.NewDisposeScope()
                let cams, labels = tensors c
                let cpl = Cpl.labels xi cams labels
                let v = longs cpl
                cpl.dtype = ScalarType.Int64
                && cpl.shape = [| int64 c.B; int64 c.H; int64 c.W |]
                && v |> Array.mapi (fun i l -> i / (c.H * c.W), l)
                   |> Array.forall (fun (b, l) -> l = 0L || (l >= 1L && l <= int64 c.K && present c b (int l - 1)))))

        testCase "CPL picks the best present class where it reaches the threshold" <| fun () ->
            // image 0 has classes 1 and 3 (of 3); class 2 is absent and highest everywhere
            use scope = torch.NewDisposeScope()
            let cams =
                torch.tensor (
                    [| 0.9f; 0.2f; 0.4f; 0.0f      // class 1 at 4 pixels
                       1.0f; 1.0f; 1.0f; 1.0f      // class 2 (absent)
                       0.3f; 0.6f; 0.1f; 0.45f |], // class 3
                    [| 1L; 3L; 2L; 2L |])
            let labels = torch.tensor ([| 1.0f; 0.0f; 1.0f |], [| 1L; 3L |])
            Expect.equal (longs (Cpl.labels 0.5 cams labels)) [| 1L; 3L; 0L; 0L |] "longs (Cpl.labels 0.5 cams labels)"
            Expect.equal (longs (Cpl.labels 0.25 cams labels)) [| 1L; 3L; 1L; 3L |] "longs (Cpl.labels 0.25 cams labels)"
            // nu is the best present score, never the absent class's 1.0
            let nu = floats (Cpl.confidence cams labels)
            Expect.equal nu [| 0.9f; 0.6f; 0.4f; 0.45f |] "nu"

        propertyN 150 "raising the threshold never adds foreground" (
            let gen = gen {
                let! c = camCase
                let! a = floatIn 0.0 1.0
                let! b = floatIn 0.0 1.0
                return c, min a b, max a b
            }
            Prop.forAll (Arb.fromGen gen) (fun (c, lo, hi) ->
                use scope = torch.NewDisposeScope()
                let cams, labels = tensors c
                let low = longs (Cpl.labels lo cams labels)
                let high = longs (Cpl.labels hi cams labels)
                // every foreground pixel at the higher threshold is foreground of the same class at the lower one
                Array.forall2 (fun l h -> h = 0L || h = l) low high
                && (Array.sumBy (fun v -> if v > 0L then 1 else 0) high) <= (Array.sumBy (fun v -> if v > 0L then 1 else 0) low)))

        propertyN 150 "SPL rows are distributions over the background and the present classes only" (
            let gen = gen {
                let! c = camCase
                let! logits = Gen.arrayOfLength (c.B * (c.K + 1) * c.H * c.W) (floatIn -8.0 8.0 |> Gen.map float32)
                let! tau = Gen.elements [ 0.01; 0.1; 1.0 ]
                return c, logits, tau
            }
            Prop.forAll (Arb.fromGen gen) (fun (c, logits, tau) ->
                use scope = torch.NewDisposeScope()
                let _, labels = tensors c
                let s = torch.tensor (logits, [| int64 c.B; int64 (c.K + 1); int64 c.H; int64 c.W |])
                let spl = Spl.probabilities tau s labels
                let p = floats spl
                let hw = c.H * c.W
                let at b ch i = p.[(b * (c.K + 1) + ch) * hw + i]
                seq {
                    for b in 0 .. c.B - 1 do
                        for i in 0 .. hw - 1 do
                            let row = [| for ch in 0 .. c.K -> at b ch i |]
                            yield abs (Array.sum row - 1.0f) < 1e-4f
                            yield row |> Array.forall (fun v -> v >= 0.0f && not (Single.IsNaN v))
                            for k in 0 .. c.K - 1 do
                                if not (present c b k) then yield row.[k + 1] = 0.0f
                }
                |> Seq.forall id))

        testCase "SPL sharpens towards the argmax as the temperature falls" <| fun () ->
            use scope = torch.NewDisposeScope()
            let s = torch.tensor ([| 0.1f; 0.3f; 0.2f |], [| 1L; 3L; 1L; 1L |])
            let labels = torch.tensor ([| 1.0f; 1.0f |], [| 1L; 2L |])
            let soft = floats (Spl.probabilities 1.0 s labels)
            let sharp = floats (Spl.probabilities 0.01 s labels)
            // softmax([0.1, 0.3, 0.2] / 0.01) = softmax([10, 30, 20]): 1 - e^-10 (e^-10 = 4.54e-5) on class 1
            Expect.isTrue (sharp.[1] > 0.9999f && sharp.[1] > soft.[1]) "sharp.[1] > 0.9999f && sharp.[1] > soft.[1]"
            equalRounded 5 (soft.[1]) (float32 (exp 0.3 / (exp 0.1 + exp 0.3 + exp 0.2))) "soft.[1]"

        propertyN 150 "tensor perplexity and RAW weights equal the array reference" (
            let gen = gen {
                let! xi = floatIn 0.05 0.95
                let! n = Gen.choose (1, 60)
                let! nu = Gen.arrayOfLength n confidence
                let! alpha = floatIn 0.1 0.95
                let! beta = floatIn 0.5 2.0
                return xi, nu, { Perplexity.cosa with Alpha = alpha; Beta = beta }
            }
            Prop.forAll (Arb.fromGen gen) (fun (xi, nu, p) ->
                use scope = torch.NewDisposeScope()
                let t = torch.tensor (nu, [| int64 nu.Length |])           // float64
                let got = doubles (Reliability.perplexity p xi t)
                let want = Perplexity.perplexities p xi nu
                let gotW = doubles (Reliability.rawWeights p xi t)
                let wantW = Perplexity.rawWeights p xi nu
                let low = bools (Reliability.lowPerplexity p xi 1.0 t)
                let wantLow = Perplexity.lowPerplexity 1.0 want
                Array.forall2 (fun a b -> abs (a - b) <= 1e-9 * max 1.0 (abs b)) got want
                && Array.forall2 (fun a b -> abs (a - b) <= 1e-9 * max 1.0 (abs b)) gotW wantW
                && low = wantLow))

        testCase "perplexity reference values at the ends and near the threshold" <| fun () ->
            use scope = torch.NewDisposeScope()
            let nu = torch.tensor ([| 1.0; 0.0; 0.75; 0.5 |], [| 4L |])
            let got = doubles (Reliability.perplexity Perplexity.cosa 0.5 nu)
            // d = 1, 1, 0.5, 1e-6 (the floor): P = -log(0.8 d) = 0.22314355, 0.22314355, 0.91629073, 14.03894
            let want = [| -log 0.8; -log 0.8; -log 0.4; -log 8e-7 |]
            Array.iter2 (fun (a: float) b -> equalRounded 6 a b "a") got want

        testCase "a fixed tracker ignores the data and a dynamic one moves to the GMM split" <| fun () ->
            use scope = torch.NewDisposeScope()
            let fixedT = ThresholdTracker.create false 0.5 100 0.05
            let dynamicT = ThresholdTracker.create true 0.5 100 0.05
            // two clusters around 0.2 and 0.9 (the first weighted 3:1), plus exact zeros that the floor drops
            let values =
                [| for i in 0 .. 299 -> 0.15 + 0.1 * float (i % 10) / 9.0
                   for i in 0 .. 99 -> 0.85 + 0.1 * float (i % 10) / 9.0
                   for _ in 0 .. 999 -> 0.0 |]
            let nu = torch.tensor (values, [| int64 values.Length |])
            Expect.equal (fixedT.Observe nu) 0.5 "fixedT.Observe nu"
            let xi = dynamicT.Observe nu
            let kept = values |> Array.filter (fun v -> v > 0.05)
            let m = GaussianMixture.fitWeighted GaussianMixture.defaults (Array.init 1000 (ConfidenceQueue.binCentre 1000)) (ConfidenceQueue.histogram 1000 kept |> Array.map float)
            equalRounded 9 xi (GaussianMixture.split m) "xi"
            inRange xi 0.26 0.84 "xi"
            Expect.equal (dynamicT.History.Count + fixedT.History.Count) 2 "dynamicT.History.Count + fixedT.History.Count"
    ]
