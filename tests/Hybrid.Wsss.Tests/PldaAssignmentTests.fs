module Hybrid.Wsss.Tests.PldaAssignmentTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid.Vision
open Hybrid.Wsss
open Hybrid.Wsss.Methods.Plda
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations
open Hybrid.Wsss.Tests.TensorValues

/// A random assignment problem: B images, K classes, an (h, w) CAM grid; raw scores, the
/// scores of the erased image and multi-hot labels with at least one class per image.
type Problem =
    { B: int; K: int; H: int; W: int; Scores: float32[]; Masked: float32[]; Labels: float32[] }

let private problems =
    gen {
        let! b = Gen.choose (1, 3)
        let! k = Gen.choose (1, 4)
        let! h = Gen.choose (1, 6)
        let! w = Gen.choose (1, 6)
        let! seed = Gen.choose (0, Int32.MaxValue)
        let rng = Random seed
        let n = b * k * h * w
        let scores = Array.init n (fun _ -> float32 (rng.NextDouble() * 4.0 - 1.0))
        let masked = Array.init n (fun _ -> float32 (rng.NextDouble() * 4.0 - 1.5))
        let labels =
            Array.init b (fun _ ->
                let l = Array.init k (fun _ -> if rng.NextDouble() < 0.5 then 1.0f else 0.0f)
                if Array.forall ((=) 0.0f) l then l[rng.Next k] <- 1.0f
                l)
            |> Array.concat
        return { B = b; K = k; H = h; W = w; Scores = scores; Masked = masked; Labels = labels }
    }
    |> Arb.fromGen

let private maps (p: Problem) (data: float32[]) = torch.tensor (data, [| int64 p.B; int64 p.K; int64 p.H; int64 p.W |])

let private labelsOf (p: Problem) = torch.tensor (p.Labels, [| int64 p.B; int64 p.K |])

/// Checks the invariants of one domain record against the normalised CAMs it came from.
let private invariants (p: Problem) (delta: float) (ncam: float32[]) (tcam: float32[]) (d: Domains) =
    let src, tgt, dom, head = bools d.Source, bools d.Target, longs d.Domain, longs d.Head
    let hw = p.H * p.W
    let at (cam: float32[]) bi c i = cam[(bi * p.K + c) * hw + i]
    let present bi c = p.Labels[bi * p.K + c] > 0.5f
    let mutable ok = true
    let fail msg = ok <- false; printfn "%s" msg
    for bi in 0 .. p.B - 1 do
        for i in 0 .. hw - 1 do
            let j = bi * hw + i
            if src[j] && tgt[j] then fail (sprintf "pixel %d is both source and target" j)
            // domain labels mirror the masks; head is -1 exactly where unassigned
            let expected = if src[j] then DomainAdversarialLoss.Source elif tgt[j] then DomainAdversarialLoss.Target else DomainAdversarialLoss.Ignore
            if dom[j] <> expected then fail (sprintf "domain label %d at %d, masks say %d" dom[j] j expected)
            if (head[j] = -1L) <> (not src[j] && not tgt[j]) then fail (sprintf "head %d at %d disagrees with the masks" head[j] j)
            // an assigned pixel lies in the support of a present class of its CAM, above delta, and its head is that class
            let check (cam: float32[]) name =
                let c = int head[j]
                if c < 0 || not (present bi c) then fail (sprintf "%s pixel %d assigned to absent class %d" name j c)
                elif not (float (at cam bi c i) > delta) then fail (sprintf "%s pixel %d: class %d CAM %g <= delta %g" name j c (at cam bi c i) delta)
                for c' in 0 .. p.K - 1 do
                    if at cam bi c' i > at cam bi c i then fail (sprintf "%s pixel %d: head %d is not the argmax" name j c)
            if src[j] then check ncam "source"
            if tgt[j] then check tcam "target"
    ok

[<Tests>]
let tests =
    testList "PldaAssignment" [
        propertyN 100 "MaskAssign: source and target are disjoint, within present classes' CAM support above delta" (
            Prop.forAll problems (fun p ->
                use scope = torch.NewDisposeScope()
                let labels = labelsOf p
                let ncam = DomainAssignment.normalise (maps p p.Scores) labels
                let tcam = DomainAssignment.normalise (maps p p.Masked) labels
                let d = DomainAssignment.maskAssign 0.6 ncam tcam
                // every pixel above delta in the CAM is source (source wins ties)
                let best = floats (ncam.amax ([| 1L |]))
                let srcOk = Array.forall2 (fun (v: float32) s -> (float v > 0.6) = s) best (bools d.Source)
                srcOk && invariants p 0.6 (floats ncam) (floats tcam) d))

        propertyN 100 "SimpleAssign: disjoint, target in (low, delta] of the same CAM" (
            Prop.forAll problems (fun p ->
                use scope = torch.NewDisposeScope()
                let labels = labelsOf p
                let ncam = DomainAssignment.normalise (maps p p.Scores) labels
                let d = DomainAssignment.simpleAssign 0.6 0.3 ncam
                let best = floats (ncam.amax ([| 1L |]))
                let tgtOk = Array.forall2 (fun (v: float32) t -> (float v > 0.3 && float v <= 0.6) = t) best (bools d.Target)
                tgtOk && invariants p 0.3 (floats ncam) (floats ncam) d))

        propertyN 50 "target is empty when delta is 1" (
            Prop.forAll problems (fun p ->
                use scope = torch.NewDisposeScope()
                let labels = labelsOf p
                let ncam = DomainAssignment.normalise (maps p p.Scores) labels
                let tcam = DomainAssignment.normalise (maps p p.Masked) labels
                let d = DomainAssignment.maskAssign 1.0 ncam tcam
                not (d.Target.any().ToBoolean()) && not (d.Source.any().ToBoolean())))

        testCase "normalised CAM: present classes peak at 1, absent classes are 0" <| fun () ->
            use scope = torch.NewDisposeScope()
            let scores = torch.tensor ([| 2.0f; -1.0f; 4.0f; 0.0f;   3.0f; 3.0f; 1.0f; 0.0f |], [| 1L; 2L; 2L; 2L |])
            let labels = torch.tensor ([| 1.0f; 0.0f |], [| 1L; 2L |])
            let n = DomainAssignment.normalise scores labels
            Expect.equal (floats n) [| 0.5f; 0.0f; 1.0f; 0.0f; 0.0f; 0.0f; 0.0f; 0.0f |] "floats n"

        testCase "erasing zeroes exactly the source mask, upsampled by nearest neighbour" <| fun () ->
            use scope = torch.NewDisposeScope()
            torch.manual_seed 3L |> ignore
            let images = torch.rand ([| 2L; 3L; 32L; 24L |]) + 0.1                // (B, 3, H, W), no exact zeros
            let source = torch.rand([| 2L; 4L; 3L |]).gt 0.5                      // (B, h, w), stride 8
            let erased = DomainAssignment.erase images source                     // (B, 3, H, W)
            let zero = bools (erased.eq 0.0)
            let img = floats images
            let out = floats erased
            let src = bools source
            for b in 0 .. 1 do
                for c in 0 .. 2 do
                    for y in 0 .. 31 do
                        for x in 0 .. 23 do
                            let i = ((b * 3 + c) * 32 + y) * 24 + x
                            let inSource = src[(b * 4 + y / 8) * 3 + x / 8]
                            Expect.equal (zero[i]) inSource "zero[i]"
                            if not inSource then Expect.equal (out[i]) (img[i]) "out[i]"
            // the erased region seen at the CAM's resolution is the source mask itself
            let erasedCells = erased.eq(0.0).to_type(ScalarType.Float32).amin ([| 1L |], keepdim = true) // (B, 1, H, W)
            let pooled = torch.nn.functional.avg_pool2d (erasedCells, 8L)          // (B, 1, h, w)
            Expect.equal (bools (pooled.squeeze(1L).eq 1.0)) src "bools (pooled.squeeze(1L).eq 1.0)"

        // The domain labels and heads are DomainAdversarialLoss's (one definition): a hand-made
        // SimpleAssign gives the loss's labels, and AssignHeads turns them into per-head labels.
        testCase "the domain map and heads are the domain loss's labels" <| fun () ->
            use scope = torch.NewDisposeScope()
            // one image, two classes, four pixels; best classes 1, 0, 0, 0 at 0.8, 0.5, 0.1, 0.9
            let ncam = torch.tensor ([| 0.1f; 0.5f; 0.0f; 0.9f;   0.8f; 0.3f; 0.1f; 0.2f |], [| 1L; 2L; 1L; 4L |])
            let d = DomainAssignment.simpleAssign 0.6 0.2 ncam
            let sl, tl, il = DomainAdversarialLoss.Source, DomainAdversarialLoss.Target, DomainAdversarialLoss.Ignore
            Expect.equal (sl, tl, il) (0L, 1L, 255L) "0 source, 1 target, 255 neither"
            Expect.equal (longs d.Domain) [| sl; tl; il; sl |] "source above 0.6, target in (0.2, 0.6], else ignored"
            Expect.equal (longs d.Head) [| 1L; 0L; -1L; 0L |] "the argmax class, -1 unassigned"
            Expect.equal (longs (DomainAdversarialLoss.HeadsFromCam(ncam, d.Source.logical_or d.Target))) (longs d.Head) "the loss's heads"
            let perHead = DomainAdversarialLoss.AssignHeads(d.Domain, d.Head, 2) // (1, 2, 1, 4)
            Expect.equal (longs perHead) [| il; tl; il; sl;   sl; il; il; il |] "head k labels its own pixels only"

        testCase "class activation distribution sums to one where a class is active" <| fun () ->
            use scope = torch.NewDisposeScope()
            let ncam = torch.tensor ([| 0.2f; 0.0f;   0.6f; 0.0f |], [| 1L; 2L; 1L; 2L |])
            let d = floats (DomainAssignment.distribution ncam)
            equalRounded 5 (d[0]) 0.25f "d[0]"
            equalRounded 5 (d[2]) 0.75f "d[2]"
            Expect.equal (d[1]) 0.0f "d[1]"
            Expect.equal (d[3]) 0.0f "d[3]"

        testCase "shape errors name what is expected" <| fun () ->
            use scope = torch.NewDisposeScope()
            let ex = throws<ArgumentException> (fun () -> DomainAssignment.normalise (torch.zeros ([| 2L; 3L |])) (torch.zeros ([| 2L; 3L |])) |> ignore)
            Expect.stringContains ex.Message "(B, K, h, w)" "'(B, K, h, w)'"
            let ex = throws<ArgumentException> (fun () -> DomainAssignment.erase (torch.zeros ([| 1L; 3L; 8L; 8L |])) (torch.zeros ([| 1L; 1L; 1L; 1L |])) |> ignore)
            Expect.stringContains ex.Message "(B, h, w)" "'(B, h, w)'"
    ]
