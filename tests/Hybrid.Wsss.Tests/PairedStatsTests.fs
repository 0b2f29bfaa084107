module Hybrid.Wsss.Tests.PairedStatsTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open Hybrid.Wsss.Eval
open Hybrid.Wsss.Tests.Generators

// Differences [0.02; 0.02; 0.03; 0.01; 0.01]: mean 0.018, sd sqrt(2.8e-4 / 4) = 0.0083666,
// t = 0.018 / (0.0083666 / sqrt 5) = 4.810702354423639 (by hand), df 4. Two-sided p from
// mpmath 1.3.0 by integrating the t(4) density: 2 * mp.quad(pdf, [t, inf]) = 0.0085809187219247803.
[<Fact>]
let ``paired t-test matches a reference computation`` () =
    let r = PairedStats.pairedTTest [| 0.50; 0.52; 0.55; 0.53; 0.51 |] [| 0.48; 0.50; 0.52; 0.52; 0.50 |]
    Assert.Equal(4, r.DegreesOfFreedom)
    Assert.Equal(0.018, r.MeanDifference, 12)
    Assert.Equal(4.810702354423639, r.T, 9)
    Assert.Equal(0.0085809187219247803, r.PValue, 9)

// [1; 2; 3; 4]: mean 2.5, sample variance (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3.
[<Fact>]
let ``summary gives mean and sample standard deviation`` () =
    let s = PairedStats.summarise [| 1.0; 2.0; 3.0; 4.0 |]
    Assert.Equal(2.5, s.Mean)
    Assert.Equal(sqrt (5.0 / 3.0), s.Std, 15)
    Assert.Equal("2.50 +- 1.29", PairedStats.format 2 s)
    Assert.True(Double.IsNaN (PairedStats.summarise [| 1.0 |]).Std)

[<Fact>]
let ``paired test is antisymmetric, shift invariant and has p in [0, 1]`` () =
    let gen = gen {
        let! n = Gen.choose (2, 10)
        let! a = Gen.arrayOfLength n (floatIn 0.0 1.0)
        let! b = Gen.arrayOfLength n (floatIn 0.0 1.0)
        let! shift = floatIn -1.0 1.0
        return a, b, shift
    }
    Prop.check (
        Prop.forAll (Arb.fromGen gen) (fun (a, b, shift) ->
            let r = PairedStats.pairedTTest a b
            let swapped = PairedStats.pairedTTest b a
            let shifted = PairedStats.pairedTTest (a |> Array.map ((+) shift)) (b |> Array.map ((+) shift))
            r.PValue >= 0.0
            && r.PValue <= 1.0
            && abs (r.T + swapped.T) < 1e-9 * (1.0 + abs r.T)
            && abs (r.PValue - swapped.PValue) < 1e-12
            && abs (r.T - shifted.T) < 1e-6 * (1.0 + abs r.T))
    )

[<Fact>]
let ``identical differences give an exact verdict`` () =
    let same = PairedStats.pairedTTest [| 1.0; 2.0; 3.0 |] [| 1.0; 2.0; 3.0 |]
    Assert.Equal(1.0, same.PValue)
    let shifted = PairedStats.pairedTTest [| 2.0; 3.0; 4.0 |] [| 1.0; 2.0; 3.0 |]
    Assert.Equal(0.0, shifted.PValue)
    Assert.Throws<ArgumentException>(fun () -> PairedStats.pairedTTest [| 1.0 |] [| 2.0 |] |> ignore) |> ignore
