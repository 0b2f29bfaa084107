module Hybrid.Wsss.Tests.ThresholdTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Hybrid.Wsss.Numerics
open Hybrid.Wsss.Thresholds
open Hybrid.Wsss.Tests.Generators
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations

let private fitSplit (xs: float[]) =
    let m = GaussianMixture.fit GaussianMixture.defaults xs
    m, GaussianMixture.split m

/// Normal samples by Box-Muller from the project's generator (deterministic).
let private normals (seed: int64) (n: int) (mu: float) (sigma: float) =
    let mutable rng = Rng.create seed
    Array.init n (fun _ ->
        let u1, r1 = Rng.nextFloat rng
        let u2, r2 = Rng.nextFloat r1
        rng <- r2
        mu + sigma * sqrt (-2.0 * log (1.0 - u1)) * cos (2.0 * Math.PI * u2))

[<Tests>]
let tests =
    testList "Threshold" [
        property "bounded queue keeps the newest items in order and evicts the oldest" (
            let gen = Gen.map2 (fun cap xs -> cap, xs) (Gen.choose (1, 8)) (Gen.listOf (Gen.choose (0, 99)))
            Prop.forAll (Arb.fromGen gen) (fun (cap, xs) ->
                let q = BoundedQueue.ofList cap xs
                // reference model: the last `cap` items of the list
                let model = xs |> List.skip (max 0 (xs.Length - cap))
                let evicted = snd (BoundedQueue.enqueue -1 q)
                BoundedQueue.toList q = model
                && BoundedQueue.count q = model.Length
                && evicted = (if model.Length = cap then List.tryHead model else None)))

        property "GMM split lies between the two fitted means" (
            Prop.forAll (Arb.fromGen confidences) (fun xs ->
                let m, xi = fitSplit xs
                m.Background.Mean <= xi && xi <= m.Foreground.Mean && not (Double.IsNaN xi)))

        propertyN 100 "GMM fit ignores the order of the data" (
            let gen = gen {
                let! xs = confidences
                let! ys = permutationOf xs
                return xs, ys
            }
            Prop.forAll (Arb.fromGen gen) (fun (xs, ys) ->
                // summation order differs, so compare to a tolerance
                let m1, s1 = fitSplit xs
                let m2, s2 = fitSplit ys
                abs (s1 - s2) < 1e-6 && abs (m1.Foreground.Mean - m2.Foreground.Mean) < 1e-6))

        property "GMM split maximises the Eq. 6 split likelihood between the means" (
            Prop.forAll (Arb.fromGen confidences) (fun xs ->
                let m, xi = fitSplit xs
                let w = Array.create xs.Length 1.0
                let objective = GaussianMixture.splitLogLikelihood m xs w
                let best = objective xi
                let lo, hi = m.Background.Mean, m.Foreground.Mean
                // candidates: a grid over the interval and every data value inside it
                let candidates =
                    Array.append (Array.init 41 (fun i -> lo + (hi - lo) * float i / 40.0)) (xs |> Array.filter (fun x -> x >= lo && x <= hi))
                candidates |> Array.forall (fun c -> objective c <= best + 1e-9 * (1.0 + abs best))))

        // Hand-derived: with equal variances s^2 the weighted densities cross where
        // log(pi_fg/pi_bg) - ((x - mu_fg)^2 - (x - mu_bg)^2) / (2 s^2) = 0, i.e.
        // x = (mu_bg + mu_fg)/2 + s^2 ln(pi_bg/pi_fg) / (mu_fg - mu_bg).
        testCase "split of equal-variance components is the closed-form crossing" <| fun () ->
            let mixture wb mb wf mf v =
                { Background = { Weight = wb; Mean = mb; Variance = v }
                  Foreground = { Weight = wf; Mean = mf; Variance = v }
                  LogLikelihood = 0.0
                  Iterations = 0
                  Converged = true }
            let check wb mb wf mf v =
                let expected = 0.5 * (mb + mf) + v * log (wb / wf) / (mf - mb)
                equalRounded 12 (GaussianMixture.split (mixture wb mb wf mf v)) expected "GaussianMixture.split (mixture wb mb wf mf v)"
            check 0.5 0.2 0.5 0.8 0.01 // midpoint 0.5
            check 0.7 0.1 0.3 0.7 0.02 // 0.4 + 0.02 ln(7/3) / 0.6 = 0.42824...
            check 0.2 0.3 0.8 0.6 0.005
            // the foreground component dominating everywhere between the means: split at mu_bg
            Expect.equal (GaussianMixture.split (mixture 1e-9 0.45 1.0 0.55 1.0)) 0.45 "GaussianMixture.split (mixture 1e-9 0.45 1.0 0.55 1.0)"

        testCase "EM recovers two well-separated clusters" <| fun () ->
            // 6000 draws of N(0.15, 0.05^2) and 4000 of N(0.75, 0.1^2)
            let xs = Array.append (normals 1L 6000 0.15 0.05) (normals 2L 4000 0.75 0.1)
            let m, xi = fitSplit xs
            Expect.isTrue m.Converged "m.Converged"
            inRange m.Background.Mean 0.14 0.16 "m.Background.Mean"
            inRange m.Foreground.Mean 0.74 0.76 "m.Foreground.Mean"
            inRange m.Background.Weight 0.58 0.62 "m.Background.Weight"
            inRange (sqrt m.Background.Variance) 0.045 0.055 "sqrt m.Background.Variance"
            inRange (sqrt m.Foreground.Variance) 0.09 0.11 "sqrt m.Foreground.Variance"
            // the true components' weighted densities cross at 0.35905 (bisection on the true
            // parameters' log-ratio in python3); the fitted split must be close
            inRange xi 0.34 0.38 "xi"

        testCase "degenerate data gives finite fits" <| fun () ->
            let constant = Array.create 10 0.3
            let m, xi = fitSplit constant
            Expect.equal xi 0.3 "xi"
            Expect.isTrue (m.Background.Variance >= GaussianMixture.defaults.MinVariance) "m.Background.Variance >= GaussianMixture.defaults.MinVariance"
            let _, xi2 = fitSplit [| 0.0; 0.0; 0.0; 1.0 |]
            inRange xi2 0.0 1.0 "xi2"
            throws<ArgumentException> (fun () -> fitSplit [||] |> ignore) |> ignore
            throws<ArgumentException> (fun () -> fitSplit [| 0.1; nan |] |> ignore) |> ignore

        testCase "a fixed threshold ignores observations" <| fun () ->
            let t = Threshold.constant 0.45 |> Threshold.observe [| 0.1; 0.9 |]
            Expect.equal (Threshold.value t) 0.45 "Threshold.value t"
            Expect.isTrue ((Threshold.mixture t).IsNone) "(Threshold.mixture t).IsNone"

        testCase "a dynamic threshold starts at its initial value and moves between the fitted means" <| fun () ->
            let t0 = Threshold.dynamic 0.5
            Expect.equal (Threshold.value t0) 0.5 "Threshold.value t0"
            let xs = Array.append (normals 3L 500 0.1 0.05) (normals 4L 300 0.8 0.05)
            let t1 = Threshold.observe xs t0
            let m = (Threshold.mixture t1).Value
            let xi = Threshold.value t1
            Expect.isTrue (m.Background.Mean < xi && xi < m.Foreground.Mean) "m.Background.Mean < xi && xi < m.Foreground.Mean"
            inRange xi 0.3 0.6 "xi"

        propertyN 40 "the dynamic threshold ignores the order of the batches in its queue" (
            let gen = gen {
                let! k = Gen.choose (1, 4)
                let! batches = Gen.arrayOfLength k confidences
                let! shuffled = permutationOf batches
                return batches, shuffled
            }
            // every batch refits the mixture, so fewer cases keep this quick
            Prop.forAll (Arb.fromGen gen) (fun (batches, shuffled) ->
                let feed bs = Array.fold (fun t b -> Threshold.observe b t) (Threshold.dynamicWith 10 1000 GaussianMixture.defaults 0.5) bs
                // histograms summed as integers: exactly equal, not just close
                Threshold.value (feed batches) = Threshold.value (feed shuffled)))

        property "the confidence queue forgets batches older than its capacity" (
            let gen = gen {
                let! cap = Gen.choose (1, 4)
                let! extra = Gen.choose (1, 4)
                let! batches = Gen.arrayOfLength (cap + extra) confidences
                return cap, batches
            }
            Prop.forAll (Arb.fromGen gen) (fun (cap, batches) ->
                let feed bs = Array.fold (fun q b -> ConfidenceQueue.enqueue b q) (ConfidenceQueue.create cap 100) bs
                let all = feed batches
                let recent = feed (batches |> Array.skip (batches.Length - cap))
                all.Totals = recent.Totals && ConfidenceQueue.batches all = cap))

        propertyN 40 "a dynamic threshold refilled with its queue's histograms is the threshold that observed them" (
            // what a checkpoint restores: the queue's batches as histograms, nothing else
            let gen = gen {
                let! cap = Gen.choose (1, 4)
                let! n = Gen.choose (1, 6)
                let! batches = Gen.arrayOfLength n confidences
                return cap, batches
            }
            Prop.forAll (Arb.fromGen gen) (fun (cap, batches) ->
                let fresh () = Threshold.dynamicWith cap 1000 GaussianMixture.defaults 0.5
                let observed = Array.fold (fun t b -> Threshold.observe b t) (fresh ()) batches
                let histograms =
                    match observed with
                    | Dynamic d -> d.Queue.Batches.Items
                    | Fixed _ -> failwith "dynamic expected"
                let restored = Threshold.refill histograms (fresh ())
                // then both observe one more batch alike
                let next = batches.[0]
                restored = observed
                && Threshold.observe next restored = Threshold.observe next observed))

        testCase "refilling a queue with more batches than it holds, or other bins, is an error that says so" <| fun () ->
            let q = ConfidenceQueue.create 2 10
            let h = Array.create 10 1L
            let e = throws<ArgumentException> (fun () -> ConfidenceQueue.refill [ h; h; h ] q |> ignore)
            Expect.stringContains e.Message "queue length" "'queue length'"
            let e2 = throws<ArgumentException> (fun () -> ConfidenceQueue.refill [ Array.create 9 1L ] q |> ignore)
            Expect.stringContains e2.Message "9 bins" "'9 bins'"
            // a fixed threshold has nothing to refill
            Expect.equal (Threshold.refill [ h ] (Threshold.constant 0.3)) (Threshold.constant 0.3) "Threshold.refill [ h ] (Threshold.constant 0.3)"
    ]
