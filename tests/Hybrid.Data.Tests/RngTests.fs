/// The data generators' random numbers: SplitMix64 and the xoshiro256** generator it seeds,
/// against reference values of independent implementations.
module Hybrid.Data.Tests.RngTests

open Expecto
open Hybrid.Data

/// n outputs of SplitMix64 from a state.
let private splitMix (state: uint64) (n: int) =
    let mutable s = state
    Array.init n (fun _ -> SplitMix64.Next(&s))

[<Tests>]
let tests =
    testList "Rng" [
        // The SplitMix64 sequence from the state 1234567 as Rosetta Code's task
        // "Pseudo-random numbers/Splitmix64" lists it (a plain Python implementation gives the
        // same), and the first output from the state 0.
        testCase "SplitMix64 draws the reference sequence" <| fun () ->
            Expect.equal
                (splitMix 1234567UL 5)
                [| 6457827717110365317UL; 3203168211198807973UL; 9817491932198370423UL; 4593380528125082431UL; 16408922859458223821UL |]
                "SplitMix64 from 1234567"
            Expect.equal (splitMix 0UL 1) [| 0xE220A8397B1DCDAFUL |] "SplitMix64 from 0"

        testCase "SplitMix64.Next advances the state by the golden-ratio increment and mixes it" <| fun () ->
            let mutable s = 99UL
            let bits = SplitMix64.Next(&s)
            Expect.equal s (99UL + SplitMix64.Gamma) "the state after one draw"
            Expect.equal bits (SplitMix64.Mix s) "the draw is the mixed new state"

        // xoshiro256** seeded with four SplitMix64 outputs of 42, its first three outputs as a
        // plain Python implementation of both algorithms computes them.
        testCase "Rng draws the reference xoshiro256** sequence" <| fun () ->
            let rng = Rng(42UL)
            Expect.equal
                (Array.init 3 (fun _ -> rng.NextUInt64()))
                [| 1546998764402558742UL; 6990951692964543102UL; 12544586762248559009UL |]
                "xoshiro256** seeded from 42"
    ]
