module Hybrid.Wsss.Tests.PerplexityTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Hybrid.Wsss.Thresholds
open Hybrid.Wsss.Tests.Generators
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations

let private p = Perplexity.cosa

/// A threshold in (0, 1) away from the ends.
let private threshold = floatIn 0.05 0.95

[<Tests>]
let tests =
    testList "Perplexity" [
        property "perplexity is at least its minimum (-log alpha)^beta and positive" (
            let gen = Gen.map3 (fun xi nu beta -> xi, nu, beta) threshold confidence (floatIn 0.2 3.0)
            Prop.forAll (Arb.fromGen gen) (fun (xi, nu, beta) ->
                let q = { p with Beta = beta }
                let v = Perplexity.perplexity q xi nu
                v > 0.0 && v >= Math.Pow(-log q.Alpha, beta) - 1e-12 && not (Double.IsInfinity v)))

        property "perplexity is largest near the threshold" (
            // two confidences on the same side of xi: the closer one is at least as perplexing
            let gen = gen {
                let! xi = threshold
                let! above = Gen.elements [ true; false ]
                let! a = floatIn 0.0 1.0
                let! b = floatIn 0.0 1.0
                let near, far = min a b, max a b // fractions of the room on that side
                let place f = if above then xi + f * (1.0 - xi) else xi - f * xi
                return xi, place near, place far
            }
            Prop.forAll (Arb.fromGen gen) (fun (xi, near, far) ->
                Perplexity.perplexity p xi near >= Perplexity.perplexity p xi far))

        property "over a grid of confidences the perplexity peaks at the point nearest the threshold" (
            Prop.forAll (Arb.fromGen threshold) (fun xi ->
                let grid = Array.init 101 (fun i -> float i / 100.0)
                let ps = Perplexity.perplexities p xi grid
                let peak = Array.findIndex (fun v -> v = Array.max ps) ps
                let d = grid |> Array.map (Perplexity.normalisedDistance p.MinDistance xi)
                d.[peak] = Array.min d))

        property "reliability weights average 1 and fall as perplexity rises" (
            let gen = gen {
                let! n = Gen.choose (1, 100)
                return! Gen.arrayOfLength n (floatIn 0.2 15.0)
            }
            Prop.forAll (Arb.fromGen gen) (fun ps ->
                let w = Perplexity.reliabilityWeights ps
                let meanIsOne = abs (Array.average w - 1.0) < 1e-12
                let falling =
                    Seq.forall
                        (fun (i, j) -> not (ps.[i] < ps.[j]) || w.[i] > w.[j])
                        (seq {
                            for i in 0 .. ps.Length - 1 do
                                for j in 0 .. ps.Length - 1 -> i, j
                        })
                meanIsOne && falling))

        // Hand-computed from Eq. 4 with (lambda_alpha, lambda_beta) = (0.8, 1), xi = 0.5:
        //   nu = 0.75: d = 0.25/0.5 = 0.5, P = -ln(0.4) = 0.916290731874155
        //   nu = 0 or 1: d = 1, P = -ln(0.8) = 0.2231435513142097
        //   nu = 0.5: d floored to 1e-6, P = -ln(8e-7) = 14.038654109278484
        //   lambda_beta = 2, nu = 0.75: 0.916290731874155^2 = 0.8395887053...
        // (python3 -c "import math; print(-math.log(0.4), -math.log(0.8), -math.log(8e-7))")
        testCase "perplexity matches hand-computed values" <| fun () ->
            equalRounded 14 (Perplexity.perplexity p 0.5 0.75) 0.916290731874155 "Perplexity.perplexity p 0.5 0.75"
            equalRounded 14 (Perplexity.perplexity p 0.5 0.25) 0.916290731874155 "Perplexity.perplexity p 0.5 0.25"
            equalRounded 14 (Perplexity.perplexity p 0.5 0.0) 0.2231435513142097 "Perplexity.perplexity p 0.5 0.0"
            equalRounded 14 (Perplexity.perplexity p 0.5 1.0) 0.2231435513142097 "Perplexity.perplexity p 0.5 1.0"
            equalRounded 12 (Perplexity.perplexity p 0.5 0.5) 14.038654109278484 "Perplexity.perplexity p 0.5 0.5"
            equalRounded 14 (Perplexity.perplexity { p with Beta = 2.0 } 0.5 0.75) (0.916290731874155 ** 2.0) "Perplexity.perplexity { p with Beta = 2.0 } 0.5 0.75"
            // asymmetric normalisation: xi = 0.2, nu = 0.6 -> d = 0.4/0.8 = 0.5; nu = 0.1 -> d = 0.1/0.2 = 0.5
            equalRounded 14 (Perplexity.perplexity p 0.2 0.6) 0.916290731874155 "Perplexity.perplexity p 0.2 0.6"
            equalRounded 14 (Perplexity.perplexity p 0.2 0.1) 0.916290731874155 "Perplexity.perplexity p 0.2 0.1"

        // Perplexities [1, 2, 4]: reciprocals [1, 0.5, 0.25] sum to 1.75; times 3 / 1.75 gives
        // [12/7, 6/7, 3/7].
        testCase "reliability weights match hand-computed values" <| fun () ->
            let w = Perplexity.reliabilityWeights [| 1.0; 2.0; 4.0 |]
            equalRounded 14 (w.[0]) (12.0 / 7.0) "w.[0]"
            equalRounded 14 (w.[1]) (6.0 / 7.0) "w.[1]"
            equalRounded 14 (w.[2]) (3.0 / 7.0) "w.[2]"
            throws<ArgumentException> (fun () -> Perplexity.reliabilityWeights [| 1.0; 0.0 |] |> ignore) |> ignore
            throws<ArgumentException> (fun () -> Perplexity.perplexity p 1.0 0.5 |> ignore) |> ignore
    ]
