module Hybrid.Wsss.Tests.PairedStatsTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Hybrid.Wsss.Eval
open Hybrid.Wsss.Tests.Generators
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations

[<Tests>]
let tests =
    testList "PairedStats" [
        // Differences [0.02; 0.02; 0.03; 0.01; 0.01]: mean 0.018, sd sqrt(2.8e-4 / 4) = 0.0083666,
        // t = 0.018 / (0.0083666 / sqrt 5) = 4.810702354423639 (by hand), df 4. Two-sided p from
        // mpmath 1.3.0 by integrating the t(4) density: 2 * mp.quad(pdf, [t, inf]) = 0.0085809187219247803.
        testCase "paired t-test matches a reference computation" <| fun () ->
            let r = PairedStats.pairedTTest [| 0.50; 0.52; 0.55; 0.53; 0.51 |] [| 0.48; 0.50; 0.52; 0.52; 0.50 |]
            Expect.equal r.DegreesOfFreedom 4 "r.DegreesOfFreedom"
            equalRounded 12 r.MeanDifference 0.018 "r.MeanDifference"
            equalRounded 9 r.T 4.810702354423639 "r.T"
            equalRounded 9 r.PValue 0.0085809187219247803 "r.PValue"

        // [1; 2; 3; 4]: mean 2.5, sample variance (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3.
        testCase "summary gives mean and sample standard deviation" <| fun () ->
            let s = PairedStats.summarise [| 1.0; 2.0; 3.0; 4.0 |]
            Expect.equal s.Mean 2.5 "s.Mean"
            equalRounded 15 s.Std (sqrt (5.0 / 3.0)) "s.Std"
            Expect.equal (PairedStats.format 2 s) "2.50 +- 1.29" "PairedStats.format 2 s"
            Expect.isTrue (Double.IsNaN (PairedStats.summarise [| 1.0 |]).Std) "Double.IsNaN (PairedStats.summarise [| 1.0 |]).Std"

        property "paired test is antisymmetric, shift invariant and has p in [0, 1]" (
            let gen = gen {
                let! n = Gen.choose (2, 10)
                let! a = Gen.arrayOfLength n (floatIn 0.0 1.0)
                let! b = Gen.arrayOfLength n (floatIn 0.0 1.0)
                let! shift = floatIn -1.0 1.0
                return a, b, shift
            }
            Prop.forAll (Arb.fromGen gen) (fun (a, b, shift) ->
                let r = PairedStats.pairedTTest a b
                let swapped = PairedStats.pairedTTest b a
                let shifted = PairedStats.pairedTTest (a |> Array.map ((+) shift)) (b |> Array.map ((+) shift))
                r.PValue >= 0.0
                && r.PValue <= 1.0
                && abs (r.T + swapped.T) < 1e-9 * (1.0 + abs r.T)
                && abs (r.PValue - swapped.PValue) < 1e-12
                && abs (r.T - shifted.T) < 1e-6 * (1.0 + abs r.T)))

        testCase "identical differences give an exact verdict" <| fun () ->
            let same = PairedStats.pairedTTest [| 1.0; 2.0; 3.0 |] [| 1.0; 2.0; 3.0 |]
            Expect.equal same.PValue 1.0 "same.PValue"
            let shifted = PairedStats.pairedTTest [| 2.0; 3.0; 4.0 |] [| 1.0; 2.0; 3.0 |]
            Expect.equal shifted.PValue 0.0 "shifted.PValue"
            throws<ArgumentException> (fun () -> PairedStats.pairedTTest [| 1.0 |] [| 2.0 |] |> ignore) |> ignore
    ]
