module Hybrid.Wsss.Tests.PldaGradientTests

open Expecto
open TorchSharp
open Hybrid.Wsss
open Hybrid.Vision
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Methods.Plda
open Hybrid.TestSupport.Expectations
open Hybrid.Wsss.Tests.TensorValues

let private norm (t: Tensor) = if isNull t then 0.0 else t.abs().sum().ToDouble()

/// Domains of a (1, 3, 3) grid where every assigned pixel belongs to class `c`: the top row
/// source, the middle row target, the bottom row unassigned.
let private domainsOfClass (k: int) (c: int) : Domains =
    let dom = torch.tensor ([| 0L; 0L; 0L; 1L; 1L; 1L; 255L; 255L; 255L |], [| 1L; 3L; 3L |])
    let head = torch.tensor ([| for i in 0 .. 8 -> if i < 6 then int64 c else -1L |], [| 1L; 3L; 3L |])
    let dist = torch.zeros ([| 1L; int64 k; 3L; 3L |])
    { Domain = dom
      Head = head
      Source = dom.eq 0.0
      Target = dom.eq 1.0
      Distribution = dist }

[<Tests>]
let tests =
    testList "PldaGradient" [
        testCase "multi-head loss on class-c pixels touches only head c's parameters" <| fun () ->
            use scope = torch.NewDisposeScope()
            torch.manual_seed 11L |> ignore
            let cfg = { PldaTinyNet.smallConfig with Discriminator = MultiHead }
            let disc = (DomainAlignment.create cfg 4L 3).Value
            let features = torch.randn ([| 1L; 4L; 3L; 3L |], requires_grad = true)
            for c in 0 .. 2 do
                disc.zero_grad ()
                let l = DomainAlignment.loss cfg (Some disc) 1.0 features (domainsOfClass 3 c)
                l.backward ()
                for h in 0 .. 2 do
                    let head = disc.heads[h]
                    let g = norm head.weight.grad + norm head.bias.grad
                    if h = c then Expect.isTrue (g > 0.0) (sprintf "head %d got no gradient from its own pixels" h)
                    else Expect.isTrue (g = 0.0) (sprintf "head %d got gradient %g from class-%d pixels" h g c)
                Expect.isTrue (disc.trunk.parameters () |> Seq.sumBy (fun p -> norm p.grad) > 0.0) "the shared trunk learns from every head"

        testCase "MADA weights every head by the class distribution, DANN has one head" <| fun () ->
            use scope = torch.NewDisposeScope()
            torch.manual_seed 12L |> ignore
            let features = torch.randn ([| 1L; 4L; 3L; 3L |], requires_grad = true)
            let d = domainsOfClass 3 1
            // class distribution: class 0 and 1 half each, class 2 never
            let dist = torch.cat ([| torch.full ([| 1L; 2L; 3L; 3L |], 0.5); torch.zeros ([| 1L; 1L; 3L; 3L |]) |], 1L)
            let cfg = { PldaTinyNet.smallConfig with Discriminator = Mada }
            let mada = (DomainAlignment.create cfg 4L 3).Value
            (DomainAlignment.loss cfg (Some mada) 1.0 features { d with Distribution = dist }).backward ()
            Expect.isTrue (norm mada.heads[0].weight.grad > 0.0) "norm mada.heads[0].weight.grad > 0.0"
            Expect.isTrue (norm mada.heads[1].weight.grad > 0.0) "norm mada.heads[1].weight.grad > 0.0"
            Expect.equal (norm mada.heads[2].weight.grad) 0.0 "norm mada.heads[2].weight.grad"
            let dann = (DomainAlignment.create { cfg with Discriminator = Dann } 4L 3).Value
            Expect.equal dann.HeadCount 1 "dann.HeadCount"
            Expect.isTrue (DomainAlignment.create { cfg with Discriminator = Mmd } 4L 3 |> Option.isNone) "DomainAlignment.create { cfg with Discriminator = Mmd } 4L 3 |> Option.isNone"

        testCase "GRL flips the discriminator gradient seen by the backbone and scales it by the coefficient" <| fun () ->
            use scope = torch.NewDisposeScope()
            torch.manual_seed 13L |> ignore
            let cfg = { PldaTinyNet.smallConfig with Discriminator = MultiHead }
            let backbone = torch.nn.Conv2d(3L, 4L, 3L, padding = 1L)
            let disc = (DomainAlignment.create cfg 4L 2).Value
            disc.eval () |> ignore                                              // no dropout: both passes see the same net
            let x = torch.randn ([| 1L; 3L; 3L; 3L |])
            let domains = domainsOfClass 2 1
            let grads (lambda: float) (reverse: bool) =
                backbone.zero_grad ()
                disc.zero_grad ()
                let f = backbone.forward x                                       // (1, 4, 3, 3)
                let l =
                    if reverse then DomainAlignment.loss cfg (Some disc) lambda f domains
                    else
                        disc.ReverseGradient <- false
                        let logits = disc.forward f
                        let labels = DomainAdversarialLoss.AssignHeads(domains.Domain, domains.Head, 2)
                        DomainAdversarialLoss.MultiHead(logits, labels)
                l.backward ()
                floats backbone.weight.grad, floats disc.heads[1].weight.grad
            let plainBackbone, plainDisc = grads 1.0 false
            let revBackbone, revDisc = grads 0.5 true
            Expect.isTrue (plainBackbone |> Array.exists (fun v -> abs v > 1e-6f)) "the plain loss must reach the backbone"
            // the backbone sees -lambda times the gradient, the discriminator the same gradient
            Array.iter2 (fun (p: float32) (r: float32) -> equalRounded 5 r (-0.5f * p) "r") plainBackbone revBackbone
            Array.iter2 (fun (p: float32) (r: float32) -> equalRounded 5 r p "r") plainDisc revDisc
            // the coefficient follows the DANN schedule: 0 at the start, -> 1 at the end
            equalRounded 12 (DomainAlignment.grlCoefficient cfg (Clock.at 0 100)) 0.0 "DomainAlignment.grlCoefficient cfg (Clock.at 0 100)"
            equalRounded 12 (DomainAlignment.grlCoefficient cfg (Clock.at 50 100)) (2.0 / (1.0 + exp -5.0) - 1.0) "DomainAlignment.grlCoefficient cfg (Clock.at 50 100)"
            let zeroBackbone, _ = grads 0.0 true
            Expect.isTrue (zeroBackbone |> Array.forall (fun v -> v = 0.0f)) "zeroBackbone |> Array.forall (fun v -> v = 0.0f)"

        testCase "CPS gradient reaches only the CAM classifier logits of supervised pixels" <| fun () ->
            use scope = torch.NewDisposeScope()
            torch.manual_seed 14L |> ignore
            let features = torch.randn ([| 1L; 4L; 2L; 2L |])
            let scores = torch.randn ([| 1L; 3L; 2L; 2L |], requires_grad = true)
            let logits = Plda.classifierLogits None features scores              // (1, 4, 2, 2)
            Expect.equal logits.shape [| 1L; 4L; 2L; 2L |] "logits.shape"
            Expect.isTrue (floats (logits.narrow (1L, 0L, 1L)) |> Array.forall ((=) 1.0f)) "the fixed background logit is 1"
            // two classes (a single one would weigh 0 in the class-balanced loss)
            let sup = torch.tensor ([| 255L; 2L; 1L; 255L |], [| 1L; 2L; 2L |])
            (ConfidentPseudoSupervision.loss logits sup).backward ()
            let g = floats scores.grad                                           // (1, 3, 2, 2)
            for c in 0 .. 2 do
                for i in [ 0; 3 ] do
                    Expect.equal (g[c * 4 + i]) 0.0f "g[c * 4 + i]"
            Expect.isTrue (g[1 * 4 + 1] < 0.0f) "the supervised class's score is pushed up (pixel 1, class 2)"
            Expect.isTrue (g[0 * 4 + 2] < 0.0f) "the supervised class's score is pushed up (pixel 2, class 1)"
    ]
