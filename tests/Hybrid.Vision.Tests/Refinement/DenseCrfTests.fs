/// The dense CRF (Kraehenbuehl and Koltun 2011) on the permutohedral lattice: against the exact
/// O(N^2) model, the monotone free energy, denoising, distributions, determinism, refusals.
module Hybrid.Vision.Tests.DenseCrfTests

open System
open Expecto
open Expecto.Logging
open Expecto.Logging.Message
open Hybrid.Vision
open Hybrid.Vision.Tests.TestKit
open Hybrid.Vision.Tests.CrfScenes

let private log = Log.create "Vision.DenseCrf"
let private note (text: string) = log.debug (eventX text)

/// Kernel widths that fit a 12x12 image, so both kernels matter.
let private tiny = crf 5 3.0 2.0 5.0 6.0 20.0

let private zeroPairwiseWeight (iterations: int) =
    let rgb, probs = threeRegions 10 14 4 1
    probs[7] <- 0.0f                                                          // clipped to 1e-5 before the log
    let p = crf iterations 0.0 3.0 0.0 80.0 13.0
    let q = DenseCrf.Infer(rgb, 10, 14, probs, 4, p)
    let n = 140
    for i in 0 .. n - 1 do
        let sum = Seq.sum [ for c in 0 .. 3 -> max (float probs[c * n + i]) 1e-5 ]
        for c in 0 .. 3 do within 1e-6 (max (float probs[c * n + i]) 1e-5 / sum) (float q[c * n + i]) $"Q[{c}, {i}]"
    Expect.equal (DenseCrf.Argmax(q, 4)) (DenseCrf.Argmax(probs, 4)) "same argmax"

/// The lattice CRF against the exact O(N^2) one on 12x12 images, 3 classes, seeds 1-3.
/// One pairwise message (sum_k w_k W_k Q_0) differs from the exact one by a relative L2 error
/// of 0.074-0.080 (measured); the tolerance is 0.11. That tolerance is tight enough to catch a
/// 1.5x error in either weight, or a missing kernel: the exact messages of such mutants differ
/// from the true ones by at least 0.18 (asserted below). The marginals agree to a mean
/// absolute difference of 0.006-0.008 after one step (tolerance 0.012) and to 0.01 at most
/// after five (tolerance 0.02).
let private latticeAgreesWithBruteForce (seed: int) =
    let h, w, classes = 12, 12, 3
    let rgb, probs = threeRegions h w classes seed
    let unary = CrfUnary.FromProbabilities probs
    let lattice = DenseCrfModel(rgb, h, w, tiny)
    let exact = DenseCrfBruteForce(rgb, h, w, tiny)

    let q0 = exact.Iterates(unary, classes)[0]
    let exactMsg = exact.PairwiseMessages(q0, classes)
    let msgErr = relL2 (lattice.PairwiseMessages(q0, classes)) exactMsg

    let ql = lattice.Iterates(unary, classes)
    let qe = exact.Iterates(unary, classes)
    let _, step1Mean = absDiff ql[1] qe[1]
    let step5Max, _ = absDiff ql[ql.Count - 1] qe[qe.Count - 1]
    let agree = Array.zip (DenseCrf.Argmax(ql[ql.Count - 1], classes)) (DenseCrf.Argmax(qe[qe.Count - 1], classes)) |> Array.filter (fun (a, b) -> a = b) |> Array.length
    note $"seed {seed}: message relL2 {msgErr:F4}; Q1 mean |d| {step1Mean:F4}; Q5 max |d| {step5Max:F4}; argmax agreement {agree}/{h * w}"

    let msgTol = 0.11
    Expect.isTrue (msgErr < msgTol) $"message error {msgErr}"
    Expect.isTrue (step1Mean < 0.012) $"Q1 mean difference {step1Mean}"
    Expect.isTrue (step5Max < 0.02) $"Q5 max difference {step5Max}"

    // The tolerance would catch these bugs.
    let mutants =
        [ crf tiny.Iterations (tiny.PosW * 1.5) tiny.PosXyStd tiny.BiW tiny.BiXyStd tiny.BiRgbStd
          crf tiny.Iterations tiny.PosW tiny.PosXyStd (tiny.BiW * 1.5) tiny.BiXyStd tiny.BiRgbStd
          crf tiny.Iterations 0.0 tiny.PosXyStd tiny.BiW tiny.BiXyStd tiny.BiRgbStd
          crf tiny.Iterations tiny.PosW tiny.PosXyStd 0.0 tiny.BiXyStd tiny.BiRgbStd ]
    for m in mutants do
        let err = relL2 (DenseCrfBruteForce(rgb, h, w, m).PairwiseMessages(q0, classes)) exactMsg
        Expect.isTrue (err > msgTol) $"mutant {m} differs by only {err}"

/// Two flat regions with colour noise and a unary that is wrong on 30% of the pixels: the CRF
/// must repair most of them and leave far fewer label changes between neighbours.
let private noisyTwoRegionImageIsCleaned (preset: CrfPreset) =
    let h, w = 32, 32
    let n = h * w
    let rng = Random 3
    let rgb = Array.zeroCreate<byte> (n * 3)
    let truth = Array.zeroCreate<int> n
    let probs = Array.zeroCreate<float32> (2 * n)
    for i in 0 .. n - 1 do
        truth[i] <- if i % w < w / 2 then 0 else 1
        let colour = if truth[i] = 0 then [| 150; 40; 30 |] else [| 60; 120; 200 |]
        for c in 0 .. 2 do rgb[3 * i + c] <- byte (Math.Clamp(colour[c] + rng.Next(-20, 21), 0, 255))
        let believed = if rng.NextDouble() < 0.3 then 1 - truth[i] else truth[i]
        let conf = 0.55f + 0.15f * float32 (rng.NextDouble())
        probs[believed * n + i] <- conf
        probs[(1 - believed) * n + i] <- 1.0f - conf
    let before = DenseCrf.Argmax(probs, 2)
    let after = DenseCrf.Argmax(DenseCrf.Infer(rgb, h, w, probs, 2, preset), 2)
    let wrong (labels: int[]) = Array.zip labels truth |> Array.filter (fun (a, b) -> a <> b) |> Array.length
    let errBefore, errAfter = wrong before, wrong after
    let flipsBefore, flipsAfter = labelChanges before h w, labelChanges after h w
    note $"{preset}: wrong pixels {errBefore} -> {errAfter}, neighbour label changes {flipsBefore} -> {flipsAfter}"
    Expect.isTrue (errAfter * 10 < errBefore) $"wrong pixels {errBefore} -> {errAfter}"
    Expect.isTrue (flipsAfter * 5 < flipsBefore) $"label changes {flipsBefore} -> {flipsAfter}"

let private outputColumnsAreDistributions (preset: CrfPreset) =
    let h, w, classes = 20, 28, 5
    let n = h * w
    let rgb, probs = threeRegions h w classes 2
    let q = DenseCrf.Infer(rgb, h, w, probs, classes, preset)
    Expect.equal q.Length (classes * n) "length"
    for i in 0 .. n - 1 do
        let mutable sum = 0.0
        for c in 0 .. classes - 1 do
            let v = q[c * n + i]
            Expect.isTrue (v >= 0.0f && v <= 1.0f) $"Q[{c}, {i}] = {v}"
            sum <- sum + float v
        within 1e-5 1.0 sum $"column {i} sums to 1"

[<Tests>]
let tests =
    testList "Refinement.DenseCrf" [
        for iterations in [ 0; 5 ] do
            testCase $"Zero pairwise weight returns the normalised unary ({iterations} iterations)" (fun () -> zeroPairwiseWeight iterations)

        for seed in [ 1; 2; 3 ] do
            testCase $"Lattice agrees with brute-force mean field (seed {seed})" (fun () -> latticeAgreesWithBruteForce seed)

        // The monotone quantity is the mean-field free energy with the kernel diagonal kept,
        // F(Q) = sum Q (U + ln Q) + 1/2 sum_k w_k sum_ij W_k,ij (1 - Q_i . Q_j) (MeanFieldCrf):
        // each parallel update is a concave-convex step on it, so F(Q_t+1) <= F(Q_t) up to float
        // rounding, for the lattice and the exact model alike.
        testCase "Free energy does not rise over iterations" (fun () ->
            let rgb, probs = threeRegions 24 24 4 5
            let unary = CrfUnary.FromProbabilities probs
            let models : (string * MeanFieldCrf * int * float32[]) list =
                [ "lattice, PSA preset", DenseCrfModel(rgb, 24, 24, withIterations 12 CrfParams.Psa), 4, unary
                  "lattice, CoSA weights, 12 its", DenseCrfModel(rgb, 24, 24, withIterations 12 CrfParams.Cosa), 4, unary
                  "exact, tiny kernels", DenseCrfBruteForce(rgb, 24, 24, withIterations 12 tiny), 4, unary ]
            for name, model, classes, u in models do
                let f = model.Iterates(u, classes) |> Seq.map (fun q -> model.FreeEnergy(u, q, classes)) |> Array.ofSeq
                note $"""{name}: {String.Join(" ", f |> Array.map (fun e -> e.ToString "F3"))}"""
                Expect.isTrue (f[1] < f[0] - 1.0) $"{name}: the first step should lower F clearly ({f[0]} -> {f[1]})"
                for t in 1 .. f.Length - 1 do
                    Expect.isTrue (f[t] <= f[t - 1] + 1e-5 * abs f[t - 1]) $"{name}: F rose at step {t}: {f[t - 1]} -> {f[t]}")

        // Mean-field stationary points minimise F: the free energy of the CRF output is lower
        // than that of the unary's own softmax and of a perturbed output.
        testCase "Output has lower free energy than perturbations" (fun () ->
            let rgb, probs = threeRegions 16 16 3 9
            let unary = CrfUnary.FromProbabilities probs
            let model = DenseCrfModel(rgb, 16, 16, withIterations 20 tiny)
            let q = model.Infer(unary, 3)
            let fq = model.FreeEnergy(unary, q, 3)
            let rng = Random 2
            for _ in 1 .. 5 do
                let r = Array.copy q
                let n = 256
                for i in 0 .. n - 1 do
                    let mutable s = 0.0
                    for c in 0 .. 2 do
                        r[c * n + i] <- r[c * n + i] + float32 (0.05 * rng.NextDouble())
                        s <- s + float r[c * n + i]
                    for c in 0 .. 2 do r[c * n + i] <- r[c * n + i] / float32 s
                Expect.isTrue (model.FreeEnergy(unary, r, 3) > fq) "a perturbation raises F")

        for preset in [ CrfPreset.Psa; CrfPreset.DeepLabLargeFov; CrfPreset.CsdSegmentation ] do
            testCase $"Noisy two-region image is cleaned ({preset})" (fun () -> noisyTwoRegionImageIsCleaned preset)

        for preset in Enum.GetValues<CrfPreset>() do
            testCase $"Output columns are distributions ({preset})" (fun () -> outputColumnsAreDistributions preset)

        // Parallel chunks write disjoint rows in a fixed order: two runs on an image big enough
        // to be split across threads give identical bits.
        testCase "Result is deterministic" (fun () ->
            let rgb, probs = threeRegions 160 150 21 4
            let a = DenseCrf.Infer(rgb, 160, 150, probs, 21, withIterations 3 CrfParams.Psa)
            let b = DenseCrf.Infer(rgb, 160, 150, probs, 21, withIterations 3 CrfParams.Psa)
            Expect.equal a b "identical bits")

        testCase "Forbidden labels stay at zero" (fun () ->
            let rgb, probs = threeRegions 12 12 3 6
            let unary = CrfUnary.FromProbabilities probs
            for i in 0 .. 143 do unary[2 * 144 + i] <- Single.PositiveInfinity    // class 2 absent
            let q = DenseCrf.InferUnary(rgb, 12, 12, unary, 3, tiny)
            for i in 0 .. 143 do Expect.equal q[2 * 144 + i] 0.0f $"pixel {i}")

        testCase "Bad inputs are reported with what to fix" (fun () ->
            let rgb, probs = threeRegions 8 8 3 1
            let psa = CrfParams.Psa
            let message what f = (raises<ArgumentException> what f).Message
            Expect.stringContains (message "short image" (fun () -> DenseCrf.Infer(ReadOnlySpan<byte>(rgb, 0, 10), 8, 8, probs, 3, psa) |> ignore)) "H*W*3" "image size"
            Expect.stringContains (message "wrong class count" (fun () -> DenseCrf.Infer(rgb, 8, 8, probs, 4, psa) |> ignore)) "C*H*W" "probability size"
            let negative = Array.copy probs
            negative[3] <- -0.1f
            Expect.stringContains (message "negative probability" (fun () -> DenseCrf.Infer(rgb, 8, 8, negative, 3, psa) |> ignore)) ">= 0" "non-negative"
            let nan = Array.copy probs
            nan[5] <- Single.NaN
            raises<ArgumentException> "NaN probability" (fun () -> DenseCrf.Infer(rgb, 8, 8, nan, 3, psa) |> ignore) |> ignore
            Expect.stringContains (message "negative BiW" (fun () -> DenseCrf.Infer(rgb, 8, 8, probs, 3, crf psa.Iterations psa.PosW psa.PosXyStd -1.0 psa.BiXyStd psa.BiRgbStd) |> ignore)) "BiW" "names BiW"
            Expect.stringContains (message "zero PosXyStd" (fun () -> DenseCrf.Infer(rgb, 8, 8, probs, 3, crf psa.Iterations psa.PosW 0.0 psa.BiW psa.BiXyStd psa.BiRgbStd) |> ignore)) "PosXyStd" "names PosXyStd"
            Expect.stringContains (message "negative iterations" (fun () -> DenseCrf.Infer(rgb, 8, 8, probs, 3, withIterations -1 psa) |> ignore)) "Iterations" "names Iterations"
            let allForbidden = Array.zeroCreate<float32> (3 * 64)
            for c in 0 .. 2 do allForbidden[c * 64 + 9] <- Single.PositiveInfinity
            Expect.stringContains (message "a pixel with no label" (fun () -> DenseCrf.InferUnary(rgb, 8, 8, allForbidden, 3, psa) |> ignore)) "row 1, column 1" "names the pixel"
            Expect.stringContains (message "too big for brute force" (fun () -> DenseCrfBruteForce(Array.zeroCreate<byte> (49 * 49 * 3), 49, 49, psa) |> ignore)) "DenseCrfModel" "points to the lattice model")
    ]
