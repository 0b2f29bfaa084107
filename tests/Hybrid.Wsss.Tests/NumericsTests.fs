module Hybrid.Wsss.Tests.NumericsTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Hybrid.Wsss.Numerics
open Hybrid.Wsss.Tests.Generators
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations

let private close (tol: float) (expected: float) (actual: float) =
    Expect.isTrue (abs (expected - actual) <= tol * max 1.0 (abs expected)) (sprintf "expected %.17g, got %.17g" expected actual)

[<Tests>]
let tests =
    testList "Numerics" [
        // Reference values computed with mpmath 1.3.0 (30 digits):
        //   python3 -c "import mpmath as mp; mp.mp.dps=30; print(mp.loggamma(0.1))"  etc.
        testCase "logGamma matches mpmath reference values" <| fun () ->
            let cases =
                [ 0.5, 0.57236494292470008707 // = ln(sqrt(pi))
                  1.0, 0.0
                  10.0, 12.801827480081469611 // = ln(9!)
                  0.1, 2.252712651734205902
                  100.5, 361.43554046777762156
                  3.7, 1.4280723266653881292
                  1e-5, 11.512919692895825626 ]
            for x, expected in cases do
                close 1e-13 expected (SpecialFunctions.logGamma x)

        // mpmath.betainc(a, b, 0, x, regularized=True), mpmath 1.3.0. The first is also hand-checked:
        // I_0.4(2, 3) = sum_{j=2..4} C(4,j) 0.4^j 0.6^(4-j) = 0.3456 + 0.1536 + 0.0256 = 0.5248.
        testCase "regularized incomplete beta matches mpmath reference values" <| fun () ->
            let cases =
                [ (2.0, 3.0, 0.4), 0.5248
                  (0.5, 0.5, 0.3), 0.36901011956554537504
                  (5.0, 0.5, 0.9), 0.3166429150200123125
                  (10.0, 20.0, 0.35), 0.59238666366390500246
                  (0.1, 7.0, 0.01), 0.79612377179875966257
                  (50.0, 60.0, 0.5), 0.83090729390166941434 ]
            for (a, b, x), expected in cases do
                close 1e-12 expected (SpecialFunctions.regularizedIncompleteBeta a b x)

        property "incomplete beta obeys its symmetry and the closed form at a = 1" (
            let gen = Gen.map3 (fun a b x -> a, b, x) (floatIn 0.05 30.0) (floatIn 0.05 30.0) (floatIn 0.0 1.0)
            Prop.forAll (Arb.fromGen gen) (fun (a, b, x) ->
                let i = SpecialFunctions.regularizedIncompleteBeta
                let symmetric = abs (i a b x - (1.0 - i b a (1.0 - x))) < 1e-12
                // I_x(1, b) = 1 - (1 - x)^b
                let closedForm = abs (i 1.0 b x - (1.0 - Math.Pow(1.0 - x, b))) < 1e-12
                symmetric && closedForm))

        property "Student t CDF matches the closed forms for df 1 and 2" (
            // df = 1 (Cauchy): 1/2 + atan(t)/pi; df = 2: 1/2 + t / (2 sqrt(t^2 + 2))
            Prop.forAll (Arb.fromGen (floatIn -50.0 50.0)) (fun t ->
                let cauchy = 0.5 + atan t / Math.PI
                let df2 = 0.5 + t / (2.0 * sqrt (t * t + 2.0))
                abs (SpecialFunctions.studentTCdf 1.0 t - cauchy) < 1e-13
                && abs (SpecialFunctions.studentTCdf 2.0 t - df2) < 1e-13))

        // mpmath 1.3.0, integrating the t density numerically (independent of the incomplete beta):
        //   pdf(u) = gamma((df+1)/2) / (sqrt(df pi) gamma(df/2)) (1 + u^2/df)^(-(df+1)/2)
        //   mp.quad(pdf, [-inf, 0, t])
        // 2.228138851986 is the tabulated two-sided 5% critical value for df = 10 (CDF 0.975).
        testCase "Student t CDF matches numerically integrated densities" <| fun () ->
            let cases =
                [ (5.0, 2.015), 0.94999691383659683231
                  (10.0, 2.228138851986), 0.97499999999998835158
                  (30.0, -1.5), 0.072032964564323000651
                  (4.0, 4.810702354423639), 0.9957095406390376103
                  (3.0, 0.2), 0.57286483537686052736 ]
            for (df, t), expected in cases do
                close 1e-12 expected (SpecialFunctions.studentTCdf df t)

        // Rosetta Code's SplitMix64 sequence from 1234567 (Hybrid.Data.Tests.RngTests pins the
        // C# SplitMix64 to it too): the F# generator draws from that one SplitMix64.
        testCase "the generator draws the SplitMix64 reference sequence, as Hybrid.Data.SplitMix64 does" <| fun () ->
            let mutable rng = Rng.create 1234567L
            let draws =
                Array.init 5 (fun _ ->
                    let bits, next = Rng.nextUInt64 rng
                    rng <- next
                    bits)
            Expect.equal draws [| 6457827717110365317UL; 3203168211198807973UL; 9817491932198370423UL; 4593380528125082431UL; 16408922859458223821UL |] "Rng from 1234567"
            for seed in [ 0L; 42L; -7L; Int64.MaxValue ] do
                let mutable state = uint64 seed
                let mutable r = Rng.create seed
                for i in 0 .. 9 do
                    let bits, next = Rng.nextUInt64 r
                    r <- next
                    Expect.equal bits (Hybrid.Data.SplitMix64.Next(&state)) (sprintf "seed %d, draw %d" seed i)

        testCase "the generator replays from a seed and draws floats in the unit interval" <| fun () ->
            let draw seed =
                let mutable rng = Rng.create seed
                Array.init 1000 (fun _ ->
                    let u, next = Rng.nextFloat rng
                    rng <- next
                    u)
            let a = draw 42L
            Expect.equal (draw 42L) a "draw 42L"
            Expect.notEqual (draw 43L) a "draw 43L"
            Expect.isTrue (a |> Array.forall (fun u -> u >= 0.0 && u < 1.0)) "a |> Array.forall (fun u -> u >= 0.0 && u < 1.0)"
            // a uniform sample of 1000 has mean 0.5 +- 0.0091 (1 sd); allow 4 sd
            inRange (Array.average a) (0.5 - 0.037) (0.5 + 0.037) "Array.average a"

        property "categorical sampling never draws a zero weight" (
            let gen = gen {
                let! n = Gen.choose (1, 10)
                let! ws = Gen.arrayOfLength n (Gen.frequency [ 1, Gen.constant 0.0; 2, floatIn 0.0 5.0 ])
                let! i = Gen.choose (0, n - 1)
                ws.[i] <- ws.[i] + 0.5 // at least one positive weight
                let! seed = Gen.choose (0, 100000)
                return ws, int64 seed
            }
            Prop.forAll (Arb.fromGen gen) (fun (ws, seed) ->
                let mutable rng = Rng.create seed
                Seq.init 200 id
                |> Seq.forall (fun _ ->
                    let i, next = Rng.categorical ws rng
                    rng <- next
                    ws.[i] > 0.0)))
    ]
