/// PSA's random walk: row-stochastic transitions, propagation, feature affinities.
module Hybrid.Vision.Tests.AffinityRandomWalkTests

open System
open Expecto
open TorchSharp
open Hybrid.Vision
open Hybrid.Vision.Tests.TestKit

/// The diagonal of a square matrix, picked with a boolean identity mask.
let private diagOf (m: Tensor) : Tensor =
    let n = m.size 0
    use eye = torch.eye(n).to_type(ScalarType.Bool)
    m.masked_select eye

[<Tests>]
let tests =
    testList "Modules.AffinityRandomWalk" [
        testCase "Transition rows sum to one and are non-negative" (fun () ->
            use _scope = torch.NewDisposeScope()
            let aff = rand 11L [| 2L; 12L; 12L |]                               // (2, 12, 12)
            for beta in [ 1.0; 4.0; 8.0 ] do
                let t = AffinityRandomWalk.Transition(aff, beta)
                Expect.isTrue (isTrue (t.ge(sFloat 0.0).all ())) $"non-negative (beta {beta})"
                close (torch.ones [| 2L; 12L |]) (t.sum(-1L)) 1e-5 $"rows (beta {beta})"
            // beta sharpens: T[i, j] proportional to W[i, j]^beta.
            let t2 = AffinityRandomWalk.Transition(aff, 2.0)
            let manual = aff.square() / aff.square().sum(-1L, keepdim = true)
            close manual t2 1e-6 "beta = 2")

        testCase "Propagation keeps constants and power equals repeated steps" (fun () ->
            use _scope = torch.NewDisposeScope()
            let feat = randn 12L [| 1L; 4L; 3L; 4L |]                           // (1, 4, 3, 4)
            let aff = AffinityRandomWalk.FeatureAffinity(feat, radius = 2.0)    // (1, 12, 12)
            let t = AffinityRandomWalk.Transition(aff, 8.0)
            close (torch.ones [| 1L; 12L |]) (t.sum(-1L)) 1e-5 "rows"

            let constant = torch.full([| 1L; 2L; 3L; 4L |], sFloat 0.25)
            close constant (AffinityRandomWalk.Propagate(constant, t, 5)) 1e-6 "constant map"

            let cam = rand 13L [| 1L; 2L; 3L; 4L |]
            let stepwise = AffinityRandomWalk.Propagate(cam, t, 5)
            let viaPower = AffinityRandomWalk.Propagate(cam, AffinityRandomWalk.Power(t, 5), 1)
            close stepwise viaPower 1e-5 "T^5"
            // one step is v_i = sum_j T[i, j] v_j
            let one = AffinityRandomWalk.Propagate(cam, t, 1).reshape(1L, 2L, 12L)
            let manual = t[0L].matmul(cam.reshape(2L, 12L).t()).t()             // (2, 12)
            close (manual.unsqueeze 0L) one 1e-6 "one step")

        testCase "Feature affinity is symmetric, local and one on the diagonal" (fun () ->
            use _scope = torch.NewDisposeScope()
            let feat = randn 14L [| 2L; 3L; 4L; 5L |]
            let aff = AffinityRandomWalk.FeatureAffinity(feat, radius = 1.5)    // (2, 20, 20)
            Expect.equal aff.shape [| 2L; 20L; 20L |] "shape"
            close (aff.transpose(1L, 2L)) aff 1e-6 "symmetry"
            close (torch.ones [| 2L; 20L |]) (torch.stack([| diagOf aff[0L]; diagOf aff[1L] |])) 1e-6 "diagonal"
            // positions (0,0) and (2,0) are 2 apart > 1.5: zero; (0,0) and (1,1) are sqrt 2 apart: positive.
            Expect.equal (aff[0L, 0L, 10L].item<float32> ()) 0.0f "two rows apart"
            Expect.isTrue (aff[0L, 0L, 6L].item<float32> () > 0.0f) "diagonal neighbour"
            raises<ArgumentException> "a non-square affinity" (fun () -> AffinityRandomWalk.Transition(torch.zeros [| 3L; 4L |]) |> ignore) |> ignore)
    ]
