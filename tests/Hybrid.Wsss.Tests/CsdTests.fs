module Hybrid.Wsss.Tests.CsdTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Hybrid.Wsss.Numerics
open Hybrid.Wsss.Methods.Csd
open Hybrid.Wsss.Tests.Generators
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations

[<Tests>]
let tests =
    testList "Csd" [
        property "the domain split puts every image in exactly one domain" (
            Prop.forAll (Arb.fromGen labelSets) (fun (_, sets) ->
                let split = DomainSplit.split sets
                let all = Array.append split.Source split.Target |> Array.sort
                all = [| 0 .. sets.Length - 1 |]
                && split.Source |> Array.forall (fun i -> (Array.distinct sets.[i]).Length = 1)
                && split.Target |> Array.forall (fun i -> (Array.distinct sets.[i]).Length >= 2)))

        testCase "an image without labels is rejected" <| fun () ->
            let e = throws<ArgumentException> (fun () -> DomainSplit.split [| [| 1 |]; [||] |] |> ignore)
            Expect.stringContains e.Message "Image 1" "'Image 1'"

        property "co-occurrence rows sum to 1 and counts are symmetric" (
            let gen = Gen.map2 (fun d o -> d, o) (Gen.elements [ ImagesWithClass; SingleLabelImages; ZeroDiagonal ]) (Gen.elements [ Normalised; SmoothedSoftmax 0.1 ])
            Prop.forAll (Arb.fromGen (Gen.zip labelSets gen)) (fun ((c, sets), (diagonal, estimate)) ->
                let n = Cooccurrence.counts diagonal c sets
                let p = Cooccurrence.probabilities { Diagonal = diagonal; Estimate = estimate } c sets
                let symmetric = Seq.forall (fun (i, j) -> n.[i].[j] = n.[j].[i]) (seq { for i in 0 .. c - 1 do for j in 0 .. c - 1 -> i, j })
                // rows without any count (Normalised only) are all zero by definition
                let rowsOk =
                    Array.forall2
                        (fun (row: float[]) (counts: int64[]) ->
                            if estimate = Normalised && Array.sum counts = 0L then Array.forall ((=) 0.0) row
                            else abs (Array.sum row - 1.0) < 1e-12)
                        p
                        n
                symmetric && rowsOk))

        // Hand-computed. C = 3, images {0}, {0,1}, {1,2}, {0,1}, {2}; diagonal = images with the class.
        // N = [[3,2,0],[2,3,1],[0,1,2]] -> P rows [0.6,0.4,0], [1/3,1/2,1/6], [0,1/3,2/3].
        // Single-label images: class 0 -> image 0, class 2 -> image 4, class 1 -> none.
        // Target {0,1}: row0 + row1 = [14/15, 9/10, 1/6], class 1 unavailable -> [14/15, 0, 1/6] / (33/30)
        // = [28/33, 0, 5/33]. Target {0}: [0.6, 0, 0] -> [1, 0, 0]: class 2 never co-occurs with 0.
        // Smoothed: row 0 counts + 1 = [4,3,1], softmax(0.1 x) = [0.37797814098160176,
        // 0.3420087651598244, 0.28001309385857376] (python3 math.exp).
        testCase "co-occurrence and sampling distribution match a hand-computed example" <| fun () ->
            let sets = [| [| 0 |]; [| 0; 1 |]; [| 1; 2 |]; [| 0; 1 |]; [| 2 |] |]
            let p = Cooccurrence.probabilities Cooccurrence.paper 3 sets
            let expectRow (expected: float[]) (actual: float[]) = Array.iter2 (fun (e: float) a -> equalRounded 14 a e "a") expected actual
            expectRow [| 0.6; 0.4; 0.0 |] p.[0]
            expectRow [| 1.0 / 3.0; 0.5; 1.0 / 6.0 |] p.[1]
            expectRow [| 0.0; 1.0 / 3.0; 2.0 / 3.0 |] p.[2]
            let r = Resampler.create Cooccurrence.paper 3 sets
            Expect.equal (Resampler.available r) [| true; false; true |] "Resampler.available r"
            expectRow [| 28.0 / 33.0; 0.0; 5.0 / 33.0 |] (Resampler.distribution r [| 0; 1 |]).Value
            expectRow [| 1.0; 0.0; 0.0 |] (Resampler.distribution r [| 0 |]).Value
            let s = Cooccurrence.probabilities Cooccurrence.smoothed 3 sets
            expectRow [| 0.37797814098160176; 0.3420087651598244; 0.28001309385857376 |] s.[0]

        property "never co-occurring classes and classes without single-label images are never sampled" (
            let gen = gen {
                let! c, sets = labelSets
                let! target = Gen.elements (List.ofArray sets)
                let! seed = Gen.choose (0, 1_000_000)
                return c, sets, target, int64 seed
            }
            Prop.forAll (Arb.fromGen gen) (fun (c, sets, target, seed) ->
                let r = Resampler.create Cooccurrence.paper c sets
                let n = Cooccurrence.counts ImagesWithClass c sets
                let allowed j = (Resampler.available r).[j] && target |> Array.exists (fun k -> n.[k].[j] > 0L)
                let mutable rng = Rng.create seed
                Seq.init 300 id
                |> Seq.forall (fun _ ->
                    let draw, next = Resampler.sample CooccurrenceResampling r target rng
                    rng <- next
                    match draw with
                    | None -> Seq.forall (fun j -> not (allowed j)) (seq { 0 .. c - 1 })
                    | Some d -> allowed d.Class && sets.[d.Image] |> Array.distinct = [| d.Class |])))

        propertyN 25 "sampling frequencies converge to the sampling distribution" (
            // 20000 draws with a fixed generator seed; each class frequency must lie within 5 standard
            // errors sqrt(p (1 - p) / 20000) of its probability (a false alarm has probability < 1e-6
            // per class)
            let draws = 20000
            let gen = gen {
                let! c, sets = labelSets
                let! target = Gen.elements (List.ofArray sets)
                let! smoothed = Gen.elements [ false; true ]
                return c, sets, target, smoothed
            }
            Prop.forAll (Arb.fromGen gen) (fun (c, sets, target, smoothed) ->
                let options = if smoothed then Cooccurrence.smoothed else Cooccurrence.paper
                let r = Resampler.create options c sets
                match Resampler.distribution r target with
                | None -> true
                | Some p ->
                    let counts = Array.zeroCreate c
                    let mutable rng = Rng.create 20240601L
                    for _ in 1..draws do
                        let d, next = Resampler.sample CooccurrenceResampling r target rng
                        rng <- next
                        counts.[d.Value.Class] <- counts.[d.Value.Class] + 1
                    Seq.forall
                        (fun j ->
                            let f = float counts.[j] / float draws
                            abs (f - p.[j]) <= 5.0 * sqrt (p.[j] * (1.0 - p.[j]) / float draws) + 1e-12)
                        (seq { 0 .. c - 1 })))

        property "uniform pairing draws any single-label image" (
            Prop.forAll (Arb.fromGen labelSets) (fun (c, sets) ->
                let r = Resampler.create Cooccurrence.paper c sets
                let d, _ = Resampler.sample UniformSource r [| 0 |] (Rng.create 7L)
                match d with
                | None -> r.SourceImages.Length = 0
                | Some d -> Array.contains d.Image r.SourceImages && Array.distinct sets.[d.Image] = [| d.Class |]))
    ]
