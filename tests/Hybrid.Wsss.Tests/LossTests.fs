/// The shared tensor losses: hand-computed values (each says how) and properties.
module Hybrid.Wsss.Tests.LossTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations

let private t (data: float32[]) (shape: int64[]) = torch.tensor(data, shape)

let private close (expected: float) (actual: Tensor) = equalRounded 5 (actual.ToDouble()) expected "actual.ToDouble()"

/// A random balanced-CE problem: logits (B, C, 1, N) and labels in 0..C-1 or 255.
type BalancedProblem = { B: int; C: int; N: int; Logits: float32[]; Labels: int64[] }

let private balancedProblems =
    gen {
        let! b = Gen.choose (1, 3)
        let! c = Gen.choose (2, 4)
        let! n = Gen.choose (1, 8)
        let! logits = Gen.arrayOfLength (b * c * n) (Gen.choose (-300, 300) |> Gen.map (fun v -> float32 v / 100.0f))
        let! labels = Gen.arrayOfLength (b * n) (Gen.frequency [ 1, Gen.constant 255L; 3, Gen.choose (0, c - 1) |> Gen.map int64 ])
        return { B = b; C = c; N = n; Logits = logits; Labels = labels }
    }
    |> Arb.fromGen

[<Tests>]
let tests =
    testList "Loss" [
        testCase "KL of two known distributions" <| fun () ->
            // KL([.5, .5] || [.25, .75]) = .5 ln(.5/.25) + .5 ln(.5/.75) = 0.143841 (by hand, natural log)
            use p = t [| 0.5f; 0.5f |] [| 1L; 2L; 1L; 1L |]
            use q = t [| 0.25f; 0.75f |] [| 1L; 2L; 1L; 1L |]
            use logQ = q.log ()
            use mask = torch.ones([| 1L; 1L; 1L |], ScalarType.Bool)
            close 0.143841 (Losses.klDivergence p logQ mask)

        testCase "KL counts only masked pixels and is 0 without any" <| fun () ->
            use p = t [| 0.5f; 0.9f; 0.5f; 0.1f |] [| 1L; 2L; 1L; 2L |]       // pixel 0: [.5,.5], pixel 1: [.9,.1]
            use q = t [| 0.5f; 0.1f; 0.5f; 0.9f |] [| 1L; 2L; 1L; 2L |]
            use logQ = q.log ()
            use onlyFirst = torch.tensor([| true; false |], [| 1L; 1L; 2L |])
            close 0.0 (Losses.klDivergence p logQ onlyFirst)                  // equal distributions there
            use none = torch.zeros([| 1L; 1L; 2L |], ScalarType.Bool)
            close 0.0 (Losses.klDivergence p logQ none)

        property "KL is non-negative and zero only for equal inputs" (
            let gen =
                gen {
                    let! c = Gen.choose (2, 5)
                    let! a = Gen.arrayOfLength c (Gen.choose (1, 100))
                    let! b = Gen.arrayOfLength c (Gen.choose (1, 100))
                    return a, b
                }
            Prop.forAll (Arb.fromGen gen) (fun (a, b) ->
                use _s = torch.NewDisposeScope()
                let norm (x: int[]) = let s = float32 (Array.sum x) in x |> Array.map (fun v -> float32 v / s)
                let pa, pb = norm a, norm b
                let c = int64 a.Length
                let p = t pa [| 1L; c; 1L; 1L |]
                let q = t pb [| 1L; c; 1L; 1L |]
                let mask = torch.ones([| 1L; 1L; 1L |], ScalarType.Bool)
                let kl = (Losses.klDivergence p (q.log ()) mask).ToDouble()
                let self = (Losses.klDivergence p (p.log ()) mask).ToDouble()
                let differ = Array.exists2 (fun (x: float32) y -> abs (x - y) > 1e-3f) pa pb
                kl >= -1e-6 && abs self < 1e-6 && (not differ || kl > 1e-7)))

        testCase "cross entropy ignores 255 and matches the hand value" <| fun () ->
            // logits over 2 classes at 2 pixels: [2, 0] (target 0) and [0, 0] (ignored):
            // CE = -log(e^2 / (e^2 + 1)) = log(1 + e^-2) = 0.126928
            use logits = t [| 2.0f; 0.0f; 0.0f; 0.0f |] [| 1L; 2L; 1L; 2L |]
            use target = torch.tensor([| 0L; 255L |], [| 1L; 1L; 2L |])
            close 0.126928 (Losses.crossEntropy logits target)
            use allIgnored = torch.tensor([| 255L; 255L |], [| 1L; 1L; 2L |])
            close 0.0 (Losses.crossEntropy logits allIgnored)

        testCase "class-balanced cross entropy matches 1-stage-wseg's weights by hand" <| fun () ->
            // 4 pixels: two of class 0 with logits [2,0] (loss log(1+e^-2) = 0.126928 each), one of
            // class 1 with logits [0,0] (ln 2 = 0.693147), one ignored. N = 3 labelled pixels; weights
            // (3 - 2) / 4 = 0.25 for class 0 and (3 - 1) / 4 = 0.5 for class 1; mean over all 4 pixels:
            // (0.25 * 2 * 0.126928 + 0.5 * 0.693147) / 4 = 0.102509.
            use logits = t [| 2.0f; 2.0f; 0.0f; 5.0f; 0.0f; 0.0f; 0.0f; 1.0f |] [| 1L; 2L; 1L; 4L |]
            use target = torch.tensor([| 0L; 0L; 1L; 255L |], [| 1L; 1L; 4L |])
            close 0.102509 (Losses.classBalancedCrossEntropy logits target)
            // a single labelled class weighs (N - N) / (1 + N) = 0
            use single = torch.tensor([| 0L; 0L; 255L; 255L |], [| 1L; 1L; 4L |])
            close 0.0 (Losses.classBalancedCrossEntropy logits single)

        propertyN 100 "class-balanced cross entropy equals the per-image weighted reference" (
            Prop.forAll balancedProblems (fun q ->
                use scope = torch.NewDisposeScope()
                let logits = torch.tensor (q.Logits, [| int64 q.B; int64 q.C; 1L; int64 q.N |])
                let target = torch.tensor (q.Labels, [| int64 q.B; 1L; int64 q.N |])
                let got = (Losses.classBalancedCrossEntropy logits target).ToSingle() |> float
                // reference: per image, weight (N_b - N_bc) / (1 + N_b) on each labelled pixel's CE
                let mutable sum = 0.0
                for bi in 0 .. q.B - 1 do
                    let labels = Array.init q.N (fun i -> q.Labels[bi * q.N + i])
                    let labelled = labels |> Array.filter (fun l -> l <> 255L)
                    let nb = float labelled.Length
                    for i in 0 .. q.N - 1 do
                        let l = labels[i]
                        if l <> 255L then
                            let z = Array.init q.C (fun c -> float q.Logits[(bi * q.C + c) * q.N + i])
                            let m = Array.max z
                            let ce = m + log (z |> Array.sumBy (fun v -> exp (v - m))) - z[int l]
                            let nc = labelled |> Array.filter ((=) l) |> Array.length |> float
                            sum <- sum + ce * (nb - nc) / (1.0 + nb)
                let expected = sum / float (q.B * q.N)
                abs (got - expected) < 1e-5))

        testCase "weighted cross entropy with unit weights is cross entropy" <| fun () ->
            torch.manual_seed 3L |> ignore
            use logits = torch.randn([| 2L; 4L; 3L; 3L |])
            use target = torch.randint(0L, 4L, [| 2L; 3L; 3L |])
            use w = torch.ones([| 2L; 3L; 3L |])
            equalRounded 5 ((Losses.weightedCrossEntropy logits target w).ToDouble()) ((Losses.crossEntropy logits target).ToDouble()) "(Losses.weightedCrossEntropy logits target w).ToDouble()"

        testCase "multilabel soft margin matches the hand value" <| fun () ->
            // scores [0, 2], labels [1, 0]: mean(log(1+e^0), log(1+e^2)) = (0.693147 + 2.126928) / 2 = 1.410038
            use s = t [| 0.0f; 2.0f |] [| 1L; 2L |]
            use y = t [| 1.0f; 0.0f |] [| 1L; 2L |]
            close 1.410038 (Losses.multilabelSoftMargin s y)

        testCase "InfoNCE is lower when same-class embeddings coincide than when classes are swapped" <| fun () ->
            // two classes, two samples each; "together": same-class samples equal; "swapped": each sample
            // equals a sample of the other class.
            use emb = t [| 1.0f; 0.0f; 1.0f; 0.0f; 0.0f; 1.0f; 0.0f; 1.0f |] [| 4L; 2L |]
            use together = torch.tensor([| 0L; 0L; 1L; 1L |])
            use swapped = torch.tensor([| 0L; 1L; 1L; 0L |])
            let a = (Losses.infoNce 0.1 emb together).ToDouble()
            let b = (Losses.infoNce 0.1 emb swapped).ToDouble()
            Expect.isTrue (a < b) ($"together {a} should be below swapped {b}")
    ]
