/// The gradient reversal layer: identity forward, exactly -lambda times the upstream gradient
/// backward (also checked against finite differences in float64), DANN's schedule, and the
/// domain classifier's reversal.
module Hybrid.Vision.Tests.GradientReversalTests

open System
open Expecto
open TorchSharp
open Hybrid.Vision
open Hybrid.Vision.Tests.TestKit

let private identityForwardExactBackward (lambda: float) =
    use _scope = torch.NewDisposeScope()
    let x = (randn 111L [| 2L; 3L; 4L; 5L |] * 10.0).requires_grad_()
    let y = GradientReversal.Apply(x, lambda)
    Expect.isTrue (same (y.detach()) (x.detach())) "forward must be the identity, bit for bit"
    let upstream = randn 112L [| 2L; 3L; 4L; 5L |]
    y.backward([| upstream |])
    use g = x.grad
    Expect.isTrue (same g (upstream * (-lambda))) $"gradient is not exactly -{lambda} x upstream (max diff {maxAbsDiff g (upstream * (-lambda)):G3})"

[<Tests>]
let tests =
    testList "Modules.GradientReversal" [
        for lambda in [ 1.0; 0.37; 0.0; 2.5 ] do
            testCase $"Forward is identity and gradient is exactly minus lambda times upstream (lambda {lambda})" (fun () -> identityForwardExactBackward lambda)

        for lambda in [ 1.0; 0.37; 2.5 ] do
            testCase $"Float64 finite differences: the gradient through the layer is -lambda times the forward's (lambda {lambda})" (fun () ->
                use _scope = torch.NewDisposeScope()
                use layer = new GradientReversalLayer(lambda)
                let x = (randn 115L [| 2L; 3L; 2L; 2L |]).to_type(ScalarType.Float64)
                // Nonlinear maps before and after the layer: autograd's gradient of
                // g(GRL(k(x))) must be -lambda times the finite differences of g(k(x)).
                let k (v: Tensor) = v.sin() * 1.5 + v * v
                let g (v: Tensor) = v.tanh() * v
                GradCheck.compare "g(GRL(k(x)))" (fun v -> g (layer.forward (k v))) (fun v -> g (k v)) (-lambda) x 1e-6 1e-7 1e-5
                // The layer alone.
                GradCheck.compare "GRL(x)" layer.forward id (-lambda) x 1e-6 1e-7 1e-5)

        testCase "Dann schedule goes from zero towards one" (fun () ->
            equalDigits 12 0.0 (GradientReversal.DannCoefficient 0.0) "p = 0"
            equalDigits 12 (2.0 / (1.0 + exp -10.0) - 1.0) (GradientReversal.DannCoefficient 1.0) "p = 1: 0.999909..."
            Expect.isLessThan (GradientReversal.DannCoefficient 0.1) (GradientReversal.DannCoefficient 0.2) "increasing"
            raises<ArgumentOutOfRangeException> "p = 1.5" (fun () -> GradientReversal.DannCoefficient 1.5 |> ignore) |> ignore)

        testCase "Domain classifier reverses the feature gradient" (fun () ->
            use _scope = torch.NewDisposeScope()
            torch.manual_seed 113L |> ignore
            use d = DomainClassifier.MultiHead(6L, 3)
            d.eval ()                                                           // no dropout: both passes see the same net
            d.GrlLambda <- 0.5
            let labels = torch.randint(0L, 2L, [| 1L; 3L; 4L; 4L |])
            // drawn once: the seeded generator is process-wide, and a test running in parallel may
            // draw from it between a reseed and a second draw
            let features = randn 114L [| 1L; 6L; 4L; 4L |]
            let featureGrad (reverse: bool) =
                d.ReverseGradient <- reverse
                d.zero_grad ()
                let f = features.detach().requires_grad_()                      // a fresh leaf per pass
                DomainAdversarialLoss.MultiHead(d.forward f, labels).backward()
                f.grad
            let plain = featureGrad false
            let reversed = featureGrad true
            Expect.isTrue (scalar (plain.abs().sum()) > 0.0) "a gradient reaches the features"
            Expect.isTrue (same reversed (plain * (-0.5))) "reversed = -0.5 x plain")
    ]
