/// PLDA's multi-head domain classifier and its losses (PLDA Eq. 2 and 5, DANN, MADA).
module Hybrid.Vision.Tests.DomainClassifierTests

open System
open Expecto
open TorchSharp
open Hybrid.Vision
open Hybrid.Vision.Tests.TestKit

type private F = torch.nn.functional

let private hasParameter (m: torch.nn.Module) (name: string) (shape: int64[]) =
    m.named_parameters () |> Seq.exists (fun struct (n, p) -> n = name && p.shape = shape)

[<Tests>]
let tests =
    testList "Modules.DomainClassifier" [
        testCase "Heads produce two logits per pixel" (fun () ->
            use _scope = torch.NewDisposeScope()
            torch.manual_seed 121L |> ignore
            use multi = DomainClassifier.MultiHead(8L, 4)
            use single = DomainClassifier.SingleHead 8L
            let f = randn 122L [| 2L; 8L; 3L; 5L |]
            Expect.equal (multi.forward f).shape [| 2L; 4L; 2L; 3L; 5L |] "multi-head logits"
            Expect.equal (single.forward f).shape [| 2L; 1L; 2L; 3L; 5L |] "single-head logits"
            Expect.equal multi.HeadCount 4 "head count"
            Expect.isTrue (hasParameter multi "trunk.0.weight" [| 1024L; 8L; 1L; 1L |]) "trunk.0.weight"
            Expect.isTrue (hasParameter multi "trunk.3.weight" [| 512L; 1024L; 1L; 1L |]) "trunk.3.weight"
            Expect.isTrue (hasParameter multi "heads.3.weight" [| 2L; 512L; 1L; 1L |]) "heads.3.weight")

        testCase "Class c pixels train only head c" (fun () ->
            use _scope = torch.NewDisposeScope()
            torch.manual_seed 131L |> ignore
            use d = DomainClassifier.MultiHead(6L, 3)
            let f = (randn 132L [| 2L; 6L; 4L; 4L |]).requires_grad_()
            // Pixels of class 1 only (the rest unassigned), half source, half target.
            let headOf = torch.full([| 2L; 4L; 4L |], sLong -1L, ScalarType.Int64)
            headOf.slice(1L, 0L, 2L, 1L).fill_(sLong 1L) |> ignore
            let domain = torch.zeros([| 2L; 4L; 4L |], ScalarType.Int64)
            domain.slice(2L, 2L, 4L, 1L).fill_(sLong DomainAdversarialLoss.Target) |> ignore
            let labels = DomainAdversarialLoss.AssignHeads(domain, headOf, 3)  // (2, 3, 4, 4)
            Expect.equal (scalarLong (labels.select(1L, 0L).eq(sLong DomainAdversarialLoss.Ignore).sum())) 32L "head 0 ignores every pixel"
            Expect.equal (scalarLong (labels.select(1L, 1L).ne(sLong DomainAdversarialLoss.Ignore).sum())) 16L "head 1 owns 16 pixels"

            let logits = d.forward f                                            // (2, 3, 2, 4, 4)
            let loss = DomainAdversarialLoss.MultiHead(logits, labels)
            // Value: head 1's cross entropy summed over its 16 labelled pixels, over all 32 pixels.
            let expected = F.cross_entropy(logits.select(1L, 1L), labels.select(1L, 1L), ignore_index = DomainAdversarialLoss.Ignore, reduction = torch.nn.Reduction.Sum) / 32.0
            close expected loss 1e-6 "loss value"
            loss.backward ()
            for c in 0 .. 2 do
                for struct (name, p) in d.heads[c].named_parameters () do
                    use g = p.grad
                    let total = scalar (g.abs().sum())
                    if c = 1 then Expect.isTrue (total > 0.0) $"head 1 {name} got no gradient"
                    else Expect.isTrue (total = 0.0) $"head {c} {name} got gradient {total} from class-1 pixels"
            use trunkGrad = (Seq.head (d.trunk.parameters ())).grad
            Expect.isTrue (scalar (trunkGrad.abs().sum()) > 0.0) "the trunk learns"
            use fg = f.grad
            Expect.isTrue (scalar (fg.abs().sum()) > 0.0) "the feature extractor gets the (reversed) gradient")

        testCase "Multi-head loss is one mean over pixels, each judged by its class head" (fun () ->
            // PLDA Eq. 5 (and its public code's reduction): Eq. 2's mean over the B h w pixels,
            // each labelled pixel's domain judged by the head of its class, unlabelled pixels 0.
            // Heads 0 and 2 own 8 and 4 of the 16 pixels, 4 are unassigned: the reference gathers
            // every pixel's logits from its own head, takes the cross entropy per pixel and
            // divides the sum by 16.
            use _scope = torch.NewDisposeScope()
            torch.manual_seed 151L |> ignore
            use d = DomainClassifier.MultiHead(6L, 3)
            let f = randn 152L [| 1L; 6L; 4L; 4L |]
            let headOf = torch.full([| 1L; 4L; 4L |], sLong 0L, ScalarType.Int64)
            headOf.slice(1L, 2L, 3L, 1L).fill_(sLong -1L) |> ignore                   // third row: unassigned
            headOf.slice(1L, 3L, 4L, 1L).fill_(sLong 2L) |> ignore                    // last row: head 2
            let domain = torch.zeros([| 1L; 4L; 4L |], ScalarType.Int64)
            domain.slice(2L, 0L, 2L, 1L).fill_(sLong DomainAdversarialLoss.Target) |> ignore
            let labels = DomainAdversarialLoss.AssignHeads(domain, headOf, 3)
            let logits = d.forward f                                            // (1, 3, 2, 4, 4)
            let loss = DomainAdversarialLoss.MultiHead(logits, labels)
            let idx = headOf.clamp_min(sLong 0L).to_type(ScalarType.Int64).view(1L, 1L, 1L, 4L, 4L).expand(1L, 1L, 2L, 4L, 4L)
            let own = logits.gather(1L, idx).squeeze(1L)                        // (1, 2, 4, 4): each pixel's head
            let target = domain.masked_fill(headOf.eq(sLong -1L), sLong 255L)
            let perPixel = F.cross_entropy(own, target, ignore_index = 255L, reduction = torch.nn.Reduction.None) // (1, 4, 4)
            close (perPixel.sum() / 16.0) loss 1e-6 "sum over the labelled pixels / all 16 pixels"
            // not the per-head means over their own pixels, summed over heads
            let perHeadSum =
                F.cross_entropy(logits.select(1L, 0L).slice(2L, 0L, 2L, 1L), domain.slice(1L, 0L, 2L, 1L))
                + F.cross_entropy(logits.select(1L, 2L).slice(2L, 3L, 4L, 1L), domain.slice(1L, 3L, 4L, 1L))
            Expect.isTrue (abs (scalar perHeadSum - scalar loss) > 0.1) "differs from the sum of per-head means")

        testCase "Heads from cam follow the argmax and MADA weights by probability" (fun () ->
            use _scope = torch.NewDisposeScope()
            let cam = floatTensor [| 0.9f; 0.1f; 0.2f; 0.8f |] [| 1L; 2L; 1L; 2L |] // (1, 2, 1, 2)
            let heads = DomainAdversarialLoss.HeadsFromCam(cam, boolTensor [| true; false |] [| 1L; 1L; 2L |])
            Expect.equal (longs heads) [| 0L; -1L |] "argmax, -1 where invalid"

            torch.manual_seed 141L |> ignore
            use d = DomainClassifier.MultiHead(5L, 3)
            let f = randn 142L [| 1L; 5L; 2L; 3L |]
            let domain = longTensor [| 0L; 0L; 1L; 1L; 0L; 255L |] [| 1L; 2L; 3L |]
            let probs = torch.zeros [| 1L; 3L; 2L; 3L |]
            probs.select(1L, 1L).fill_(sFloat 0.25) |> ignore
            probs.select(1L, 2L).fill_(sFloat 0.75) |> ignore                          // head 0 has probability 0 everywhere
            let loss = DomainAdversarialLoss.Mada(d.forward f, domain, probs)
            loss.backward ()
            use g0 = d.heads[0].weight.grad
            use g2 = d.heads[2].weight.grad
            Expect.equal (scalar (g0.abs().sum())) 0.0 "head 0 learns nothing"
            Expect.isTrue (scalar (g2.abs().sum()) > 0.0) "head 2 learns"
            // Per-class masks: source wins where both are set; unmarked pixels are ignored.
            let srcM = boolTensor [| true; false; false; true |] [| 1L; 2L; 1L; 2L |]
            let tgtM = boolTensor [| true; true; false; false |] [| 1L; 2L; 1L; 2L |]
            Expect.equal (longs (DomainAdversarialLoss.LabelsFromMasks(srcM, tgtM))) [| 0L; 1L; 255L; 0L |] "labels from masks"
            // DANN: the single head's cross entropy over the labelled pixels, over all 6 pixels.
            use s = DomainClassifier.SingleHead 5L
            let lg = s.forward f
            close (F.cross_entropy(lg.select(1L, 0L), domain, ignore_index = 255L, reduction = torch.nn.Reduction.Sum) / 6.0) (DomainAdversarialLoss.SingleHead(lg, domain)) 1e-6 "DANN")
    ]
