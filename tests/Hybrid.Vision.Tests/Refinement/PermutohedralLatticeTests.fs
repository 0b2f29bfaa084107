/// The permutohedral lattice filter: Gaussian moments of its impulse response, symmetry and
/// positive semidefiniteness, diagonal scaling, refusals.
module Hybrid.Vision.Tests.PermutohedralLatticeTests

open System
open Expecto
open Expecto.Logging
open Expecto.Logging.Message
open Hybrid.Vision
open Hybrid.Vision.Tests.TestKit
open Hybrid.Vision.Tests.CrfScenes

let private log = Log.create "Vision.PermutohedralLattice"

/// Radical-inverse (Halton) coordinate of index i in base b: low-discrepancy points make the
/// moment integrals below accurate without many samples.
let private halton (i: int) (b: int) =
    let mutable f = 1.0
    let mutable r = 0.0
    let mutable i = i
    while i > 0 do
        f <- f / float b
        r <- r + f * float (i % b)
        i <- i / b
    r

let private dot (a: float32[]) (b: float32[]) =
    let mutable s = 0.0
    for i in 0 .. a.Length - 1 do s <- s + float a[i] * float b[i]
    s

/// The lattice's impulse response, integrated over a dense quasi-uniform cloud, must have the
/// mass of GaussianScale * (2 pi)^(d/2) and unit variance along every feature axis, i.e. it must
/// act as GaussianScale * exp(-|x|^2 / 2). Measured (64 impulse positions for d = 2, 6 for
/// d = 5): mass ratio 1.000 and 1.003, per-axis variances 0.993-1.005 and 0.984-1.004. A wrong
/// feature scale (e.g. (d+1) instead of (d+1) sqrt(2/3)) moves the variance by 50%, a wrong
/// elevation makes it anisotropic, a bad barycentric or blur step breaks the mass.
let private impulseResponseMoments (d: int) (n: int) (half: float) (trials: int) =
    let primes = [| 2; 3; 5; 7; 11 |]
    let rng = Random 11
    let vol = Math.Pow(2.0 * half, float d) / float (n - 1)
    let mutable mass = 0.0
    let second = Array.zeroCreate<float> d
    let mutable gaussianScale = 0.0
    for t in 0 .. trials - 1 do
        let f = Array.zeroCreate<float32> (n * d)
        for k in 0 .. d - 1 do f[k] <- float32 (2.0 * rng.NextDouble() - 1.0)  // impulse near the centre, anywhere in its simplex
        for i in 1 .. n - 1 do
            for k in 0 .. d - 1 do
                f[i * d + k] <- float32 ((2.0 * halton (i + 1000 * t) primes[k] - 1.0) * half)
        let lattice = PermutohedralLattice.Build(f, n, d)
        gaussianScale <- lattice.GaussianScale
        let struct (a, b) = lattice.CreateBuffers 1
        let impulse = Array.zeroCreate<float32> n
        impulse[0] <- 1.0f
        let response = Array.zeroCreate<float32> n
        lattice.Filter(impulse, response, 1, a, b)
        for i in 1 .. n - 1 do
            mass <- mass + float response[i] * vol / float trials
            for k in 0 .. d - 1 do
                let dx = float f[i * d + k] - float f[k]
                second[k] <- second[k] + float response[i] * dx * dx * vol / float trials
    let massRatio = mass / (gaussianScale * Math.Pow(2.0 * Math.PI, float d / 2.0))
    let variances = second |> Array.map (fun s -> s / mass)
    log.debug (eventX $"""d={d}: mass ratio {massRatio:F4}, per-axis variance {String.Join(" ", variances |> Array.map (fun v -> v.ToString "F4"))}""")
    inRange 0.97 1.03 massRatio "mass ratio"
    for v in variances do inRange 0.94 1.06 v "per-axis variance"

/// Filter = S^T G^T G S is symmetric (u.Kv = v.Ku) and positive semidefinite by construction;
/// the monotone mean-field energy relies on both.
let private symmetricAndPositiveSemidefinite (d: int) (seed: int) =
    let rng = Random seed
    let n = 600
    let f = Array.init (n * d) (fun _ -> float32 (rng.NextDouble() * 6.0))
    let lattice = PermutohedralLattice.Build(f, n, d)
    let struct (a, b) = lattice.CreateBuffers 1
    for _ in 1 .. 5 do
        let u = Array.init n (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))
        let v = Array.init n (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))
        let ku = Array.zeroCreate<float32> n
        let kv = Array.zeroCreate<float32> n
        lattice.Filter(u, ku, 1, a, b)
        lattice.Filter(v, kv, 1, a, b)
        let uKv, vKu, uKu = dot u kv, dot v ku, dot u ku
        let scale = sqrt (dot u u * dot v v) * lattice.GaussianScale
        Expect.isTrue (abs (uKv - vKu) <= 1e-5 * scale) $"u.Kv = {uKv}, v.Ku = {vKu}"
        Expect.isTrue (uKu >= -1e-6 * dot u u * lattice.GaussianScale) $"u.Ku = {uKu} < 0"

[<Tests>]
let tests =
    testList "Refinement.PermutohedralLattice" [
        for d, n, half, trials in [ 2, 20000, 5.0, 64; 5, 50000, 4.0, 6 ] do
            testCase $"Impulse response has unit Gaussian moments (d = {d})" (fun () -> impulseResponseMoments d n half trials)

        for d, seed in [ 2, 1; 5, 2; 3, 3 ] do
            testCase $"Filter is symmetric and positive semidefinite (d = {d}, seed {seed})" (fun () -> symmetricAndPositiveSemidefinite d seed)

        testCase "ScalePoints gives diagonal congruence" (fun () ->
            let rng = Random 4
            let n, d = 300, 3
            let f = Array.init (n * d) (fun _ -> float32 (rng.NextDouble() * 4.0))
            let s = Array.init n (fun _ -> float32 (0.5 + rng.NextDouble()))
            let v = Array.init n (fun _ -> float32 (rng.NextDouble()))
            let plain = PermutohedralLattice.Build(f, n, d)
            let scaled = PermutohedralLattice.Build(f, n, d)
            scaled.ScalePoints s
            let struct (a, b) = plain.CreateBuffers 1
            let sv = Array.mapi (fun i x -> x * s[i]) v
            let k = Array.zeroCreate<float32> n
            plain.Filter(sv, k, 1, a, b)
            let expected = Array.mapi (fun i x -> x * s[i]) k                    // diag(s) K diag(s) v
            let got = Array.zeroCreate<float32> n
            scaled.Filter(v, got, 1, a, b)
            Expect.isTrue (relL2 got expected < 1e-6) "diag(s) K diag(s)")

        testCase "Feature count mismatch is reported" (fun () ->
            let ex = raises<ArgumentException> "10 values for 4 x 3" (fun () -> PermutohedralLattice.Build(Array.zeroCreate<float32> 10, 4, 3) |> ignore)
            Expect.stringContains ex.Message "N*d" "names the expected size")
    ]
