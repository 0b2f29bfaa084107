/// CoSA's warm-up before guidance: a step count (the paper's 2k) or a fraction of the run.
module Hybrid.Wsss.Tests.CosaWarmupTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Hybrid.Wsss.Methods.Cosa
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations

[<Tests>]
let tests =
    testList "CosaWarmup" [
        property "a fraction of the run starts guidance inside the run, monotone in the fraction" (
            let gen = Gen.zip (Gen.choose (1, 100000)) (Gen.zip (Gen.choose (0, 999)) (Gen.choose (0, 999)))
            Prop.forAll (Arb.fromGen gen) (fun (total, (a, b)) ->
                let fa, fb = float (min a b) / 1000.0, float (max a b) / 1000.0
                let sa, sb = Warmup.steps total (WarmupFraction fa), Warmup.steps total (WarmupFraction fb)
                0 <= sa && sa <= sb && sb <= total && abs (float sb - fb * float total) <= 0.5))

        property "a step count does not depend on the run's length" (
            fun (n: NonNegativeInt) (total: PositiveInt) -> Warmup.steps total.Get (WarmupSteps n.Get) = n.Get)

        testCase "--set warmup reads steps or a fraction, and says what it expects" <| fun () ->
            Expect.equal (Warmup.parse "2000") (Ok(WarmupSteps 2000)) "Warmup.parse '2000'"
            Expect.equal (Warmup.parse "0.25") (Ok(WarmupFraction 0.25)) "Warmup.parse '0.25'"
            Expect.equal CosaConfig.defaults.Warmup (WarmupFraction 0.1) "CosaConfig.defaults.Warmup"
            Expect.stringContains ((throws<ArgumentException> (fun () -> CosaConfig.set "warmup" "soon" CosaConfig.defaults |> ignore)).Message) "fraction" "'fraction'"
            throws<ArgumentException> (fun () -> CosaConfig.validate { CosaConfig.defaults with Warmup = WarmupFraction 1.5 } |> ignore) |> ignore
            throws<ArgumentException> (fun () -> CosaConfig.validate { CosaConfig.defaults with Warmup = WarmupSteps -1 } |> ignore) |> ignore
    ]
