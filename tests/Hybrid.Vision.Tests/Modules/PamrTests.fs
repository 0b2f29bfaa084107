/// PAMR (Araslanov and Roth 2020): convex local affinities, a brute-force per-pixel reference,
/// gradients to the mask only, clear refusals.
module Hybrid.Vision.Tests.PamrTests

open System
open Expecto
open TorchSharp
open Hybrid.Vision
open Hybrid.Vision.Tests.TestKit

let private bruteForceReference () =
    use _scope = torch.NewDisposeScope()
    let dil = [| 1; 2 |]
    let iters, K, C, H, W = 2, 3, 2, 5, 6
    let image = rand 5L [| 1L; int64 K; int64 H; int64 W |]
    let mask = rand 6L [| 1L; int64 C; int64 H; int64 W |]
    let got = floats (Pamr(iters, dil).Refine(image, mask))

    let I = doubles image
    let mutable M = doubles mask
    let img k y x = I[(k * H + Math.Clamp(y, 0, H - 1)) * W + Math.Clamp(x, 0, W - 1)]
    let offsets = [| for d in dil do for dy in [ -1; 0; 1 ] do for dx in [ -1; 0; 1 ] -> dy * d, dx * d |] // 9|D| window samples
    let neighbours = offsets |> Array.filter (fun o -> o <> (0, 0))                                     // 8|D|
    let alpha = Array2D.init H W (fun y x ->
        let kappa = Array.zeroCreate<float> neighbours.Length
        for k in 0 .. K - 1 do
            let samples = offsets |> Array.map (fun (oy, ox) -> img k (y + oy) (x + ox))
            let mean = Array.average samples
            let std = sqrt ((samples |> Array.sumBy (fun v -> (v - mean) * (v - mean))) / float (samples.Length - 1)) // unbiased
            for j in 0 .. neighbours.Length - 1 do
                let ny, nx = neighbours[j]
                kappa[j] <- kappa[j] + -abs (img k y x - img k (y + ny) (x + nx)) / (0.1 * std + 1e-8) / float K
        let mx = Array.max kappa
        let e = kappa |> Array.map (fun v -> exp (v - mx))
        let s = Array.sum e
        e |> Array.map (fun v -> v / s))
    for _ in 1 .. iters do
        let next = Array.zeroCreate<float> M.Length
        for c in 0 .. C - 1 do
            for y in 0 .. H - 1 do
                for x in 0 .. W - 1 do
                    let mutable s = 0.0
                    for j in 0 .. neighbours.Length - 1 do
                        let ny, nx = neighbours[j]
                        let yy, xx = Math.Clamp(y + ny, 0, H - 1), Math.Clamp(x + nx, 0, W - 1)
                        s <- s + alpha[y, x][j] * M[(c * H + yy) * W + xx]
                    next[(c * H + y) * W + x] <- s
        M <- next
    for i in 0 .. M.Length - 1 do
        Expect.isTrue (abs (M[i] - float got[i]) < 1e-5) $"element {i}: reference {M[i]} vs PAMR {got[i]}"

[<Tests>]
let tests =
    testList "Modules.Pamr" [
        testCase "Constant mask stays constant" (fun () ->
            use _scope = torch.NewDisposeScope()
            let image = rand 1L [| 1L; 3L; 9L; 11L |]                          // (1, 3, 9, 11)
            let mask = torch.cat([| torch.full([| 1L; 1L; 9L; 11L |], sFloat 0.3); torch.full([| 1L; 1L; 9L; 11L |], sFloat 0.7) |], 1L) // (1, 2, 9, 11)
            let refined = Pamr().Refine(image, mask)
            close mask refined 1e-5 "constant mask")                           // float32 rounding of 10 weighted sums

        testCase "Affinities are convex weights and outputs convex combinations" (fun () ->
            use _scope = torch.NewDisposeScope()
            let pamr = Pamr(iterations = 3, dilations = [| 1; 2; 4 |])
            let image = rand 2L [| 2L; 3L; 10L; 8L |]                          // (2, 3, 10, 8)
            let alpha = pamr.Affinity image                                     // (2, 1, 24, 10, 8)
            Expect.equal alpha.shape [| 2L; 1L; 24L; 10L; 8L |] "affinity shape"
            Expect.isTrue (isTrue (alpha.ge(sFloat 0.0).all ())) "non-negative"
            close (torch.ones [| 2L; 1L; 10L; 8L |]) (alpha.sum(2L)) 1e-5 "affinity rows"

            // A probability map stays one: non-negative and summing to 1 over classes.
            let logits = randn 3L [| 2L; 4L; 10L; 8L |]
            let probs = logits.softmax(1L)                                      // (2, 4, 10, 8)
            let refined = pamr.Refine(image, probs)
            Expect.isTrue (isTrue (refined.ge(sFloat 0.0).all ())) "non-negative"
            close (torch.ones [| 2L; 10L; 8L |]) (refined.sum(1L)) 1e-5 "class sums"

            // Every output lies within the range of the input values (of its own image and channel).
            let m = randn 4L [| 2L; 1L; 10L; 8L |]
            let r = pamr.Refine(image, m)
            for b in 0L .. 1L do
                let lo, hi = scalar (m[b].min()), scalar (m[b].max())
                Expect.isTrue (scalar (r[b].min()) >= lo - 1e-6 && scalar (r[b].max()) <= hi + 1e-6) $"image {b}: within the input's range")

        testCase "Matches a brute force per-pixel reference" (fun () -> bruteForceReference ())

        testCase "Gradients reach the mask but not the image" (fun () ->
            use _scope = torch.NewDisposeScope()
            let image = (rand 7L [| 1L; 3L; 8L; 8L |]).requires_grad_()
            let mask = (rand 8L [| 1L; 2L; 8L; 8L |]).requires_grad_()
            let refined = Pamr(iterations = 2, dilations = [| 1; 2 |]).Refine(image, mask)
            refined.square().sum().backward()
            Expect.isNull image.grad "no gradient to the image"
            use g = mask.grad
            Expect.isNotNull g "a gradient to the mask"
            Expect.isTrue (scalar (g.abs().sum()) > 0.0) "a non-zero gradient to the mask")

        testCase "Float64 gradient check of the refinement in the mask" (fun () ->
            use _scope = torch.NewDisposeScope()
            let pamr = Pamr(iterations = 2, dilations = [| 1; 2 |])
            let image = (rand 11L [| 1L; 3L; 5L; 6L |]).to_type(ScalarType.Float64)
            let mask = (rand 12L [| 1L; 2L; 5L; 6L |]).to_type(ScalarType.Float64)
            GradCheck.check "PAMR in the mask" (fun m -> pamr.Refine(image, m)) mask 1e-6 1e-7 1e-5)

        testCase "Rejects mismatched sizes and bad options clearly" (fun () ->
            use _scope = torch.NewDisposeScope()
            let ex = raises<ArgumentException> "sizes differ" (fun () -> Pamr().Refine(torch.zeros [| 1L; 3L; 8L; 8L |], torch.zeros [| 1L; 2L; 4L; 4L |]) |> ignore)
            Expect.stringContains ex.Message "spatial size" "says what differs"
            raises<ArgumentException> "dilation 0" (fun () -> Pamr(dilations = [| 0 |]) |> ignore) |> ignore
            // RefineAtMaskSize resizes the image instead.
            let r = Pamr(iterations = 1).RefineAtMaskSize(rand 9L [| 1L; 3L; 16L; 16L |], rand 10L [| 1L; 2L; 4L; 4L |])
            Expect.equal r.shape [| 1L; 2L; 4L; 4L |] "mask size")
    ]
