/// AuxSegNet+'s cross-task dual-affinity module: shapes, the fused affinity against a direct
/// full-matrix computation, chunking (values and gradients), the pairwise variant, the
/// segmentation-only source.
module Hybrid.Vision.Tests.CrossTaskDualAffinityTests

open System
open Expecto
open TorchSharp
open Hybrid.Torch.Serialization
open Hybrid.Vision
open Hybrid.Vision.Tests.TestKit

type private F = torch.nn.functional

let private B, C, H, W = 2L, 6L, 5L, 6L
let private N = H * W

let private make (o: DualAffinityOptions) (seed: int64) =
    torch.manual_seed seed |> ignore
    new CrossTaskDualAffinity(o)

let private copyOf (from: CrossTaskDualAffinity) (o: DualAffinityOptions) =
    let m = new CrossTaskDualAffinity(o)
    StateDicts.Load(m, from.state_dict (), false) |> ignore
    m

let private chunkedEqualsUnchunked (chunk: int64) =
    use _scope = torch.NewDisposeScope()
    let whole = DualAffinityOptions(C)
    use a = make whole 41L
    use b = copyOf a (DualAffinityOptions(C, ChunkRows = Nullable chunk))
    let sal, seg = randn 42L [| B; C; H; W |], randn 43L [| B; C; H; W |]
    let pred = randn 44L [| B; 3L; H; W |]

    let loss (m: CrossTaskDualAffinity) =
        let o = m.forward(sal, seg)
        let struct (rs, rl) = o.RefinePredictions(pred, pred.narrow(1L, 0L, 1L))
        o.SaliencyFeatures.square().sum() + o.SegmentationFeatures.square().sum() + rs.square().sum() + rl.square().sum(), o
    let la, oa = loss a
    let lb, ob = loss b
    close oa.SaliencyFeatures ob.SaliencyFeatures 1e-5 "saliency features"
    close oa.SegmentationFeatures ob.SegmentationFeatures 1e-5 "segmentation features"
    close (oa.Affinity.Dense()) (ob.Affinity.Dense()) 1e-6 "affinity"
    close (oa.Affinity.Refine pred) (ob.Affinity.Refine pred) 1e-5 "refined"
    (use _g = torch.no_grad ()
     close (oa.Affinity.RefineCam pred) (ob.Affinity.RefineCam pred) 1e-5 "no-grad CAM refinement")
    la.backward ()
    lb.backward ()
    let gb = b.named_parameters () |> Seq.map (fun struct (n, p) -> n, p) |> Map.ofSeq
    for struct (name, p) in a.named_parameters () do
        use ga = p.grad
        use g2 = gb[name].grad
        Expect.isNotNull ga $"no gradient reached {name}"
        Expect.isTrue (scalar (ga.abs().sum()) > 0.0) $"no gradient reached {name}"
        close ga g2 (1e-3 * max 1.0 (scalar (ga.abs().max()))) $"grad {name}"

[<Tests>]
let tests =
    testList "Modules.CrossTaskDualAffinity" [
        testCase "Shapes of features, affinity and refinements" (fun () ->
            use _scope = torch.NewDisposeScope()
            use m = make (DualAffinityOptions(C)) 21L
            let sal, seg = randn 22L [| B; C; H; W |], randn 23L [| B; C; H; W |]
            use o = m.forward(sal, seg)
            Expect.equal o.SaliencyFeatures.shape [| B; C; H; W |] "saliency features"
            Expect.equal o.SegmentationFeatures.shape [| B; C; H; W |] "segmentation features"
            Expect.equal (o.Affinity.Dense().shape) [| B; N; N |] "dense affinity"
            Expect.equal o.Affinity.Unary.shape [| B; N |] "unary affinity"
            let struct (rs, rl) = o.RefinePredictions(randn 24L [| B; 4L; H; W |], randn 25L [| B; 1L; H; W |])
            Expect.equal rs.shape [| B; 4L; H; W |] "refined segmentation"
            Expect.equal rl.shape [| B; 1L; H; W |] "refined saliency"
            Expect.equal (o.Affinity.RefineCam(rand 26L [| B; 3L; H; W |]).shape) [| B; 3L; H; W |] "refined CAM"
            raises<ArgumentException> "a map of another size" (fun () -> o.Affinity.Refine(torch.zeros [| B; 3L; H + 1L; W |]) |> ignore) |> ignore
            raises<ArgumentException> "features of two sizes" (fun () -> m.forward(sal, randn 27L [| B; C; H; W + 1L |]) |> ignore) |> ignore)

        testCase "Fused affinity matches a direct full matrix computation" (fun () ->
            use _scope = torch.NewDisposeScope()
            use m = make (DualAffinityOptions(C, ChunkRows = Nullable 7L)) 31L
            let sal, seg = randn 32L [| B; C; H; W |], randn 33L [| B; C; H; W |]
            use o = m.forward(sal, seg)

            let taskA (e: TaskAffinityEmbedding) (f: Tensor) =
                let q = e.query.forward(f).flatten(2L)                          // (B, C, N)
                let k = e.key.forward(f).flatten(2L)                            // (B, C, N)
                q.transpose(1L, 2L).bmm(k).softmax(2L)                          // (B, N, N)
            let aSal = taskA m.saliency sal
            let aSeg = taskA m.segmentation seg
            let fz = m.pairwise_fusion
            let hdn = F.conv2d(torch.stack([| aSal; aSeg |], 1L), fz.mix.weight, null, padding = [| 1L; 1L |]).relu() // (B, 2, N, N)
            let w = F.conv2d(hdn, fz.weigh.weight, fz.weigh.bias).softmax(1L)  // (B, 2, N, N)
            let expected = w.select(1L, 0L) * aSal + w.select(1L, 1L) * aSeg
            close expected (o.Affinity.Dense()) 1e-6 "fused A"

            // Features: F + A_t V_t + V_t U_t with the task's own maps.
            let v = m.segmentation.value.forward(seg).flatten(2L)               // (B, C, N)
            let u = m.segmentation.unary.forward(seg).flatten(1L).softmax(1L)   // (B, N)
            let feat = seg + (v.bmm(aSeg.transpose(1L, 2L)) + v.bmm(u.unsqueeze 2L)).view(B, C, H, W)
            close feat o.SegmentationFeatures 1e-5 "segmentation features")

        for chunk in [ 1L; 7L; 29L ] do
            testCase $"Chunked equals unchunked including gradients (chunk {chunk})" (fun () -> chunkedEqualsUnchunked chunk)

        testCase "Pairwise variant differs only in the unary path" (fun () ->
            use _scope = torch.NewDisposeScope()
            let dualOpt = DualAffinityOptions(C, AffinityVariant.Dual, ChunkRows = Nullable 8L)
            use dual = make dualOpt 51L
            let pairOpt = DualAffinityOptions(C, AffinityVariant.Pairwise, ChunkRows = Nullable 8L)
            use pair = new CrossTaskDualAffinity(pairOpt)
            let report = StateDicts.Load(pair, dual.state_dict (), false)
            // Exactly the unary parameters are left over.
            Expect.isEmpty report.Missing "missing"
            for k in report.Unexpected do Expect.stringContains k "unary" "only unary parameters are left over"
            Expect.equal report.Unexpected.Count 7 "2 tasks x unary (weight, bias) + unary fusion (mix.weight, weigh.weight, weigh.bias)"
            let sal, seg = randn 52L [| B; C; H; W |], randn 53L [| B; C; H; W |]
            use od = dual.forward(sal, seg)
            use op = pair.forward(sal, seg)
            Expect.isNull op.Affinity.Unary "no unary affinity"

            // Same pairwise affinity.
            close (od.Affinity.Dense()) (op.Affinity.Dense()) 1e-6 "pairwise A"
            // Feature difference = the unary context V_t U_t, one vector broadcast over positions.
            for name, e, f, fd, fp in [ "seg", dual.segmentation, seg, od.SegmentationFeatures, op.SegmentationFeatures
                                        "sal", dual.saliency, sal, od.SaliencyFeatures, op.SaliencyFeatures ] do
                let v = e.value.forward(f).flatten(2L)                          // (B, C, N)
                let u = e.unary.forward(f).flatten(1L).softmax(1L)              // (B, N)
                let g = v.bmm(u.unsqueeze 2L).view(B, C, 1L, 1L)                // (B, C, 1, 1)
                close (g.expand(B, C, H, W)) (fd - fp) 1e-5 $"{name} unary context"
            // Refinement: identical without the unary term; with it, + U-weighted mean of the map.
            let x = rand 54L [| B; 3L; H; W |]
            close (op.Affinity.Refine x) (od.Affinity.Refine(x, includeUnary = false)) 1e-6 "pairwise refinement"
            let ux = x.reshape(B, 3L, N).bmm(od.Affinity.Unary.unsqueeze 2L).view(B, 3L, 1L, 1L)
            close (ux.expand(B, 3L, H, W)) (od.Affinity.Refine x - op.Affinity.Refine x) 1e-6 "unary refinement")

        testCase "Segmentation only source leaves saliency alone and uses A_seg" (fun () ->
            use _scope = torch.NewDisposeScope()
            let o = DualAffinityOptions(C, Source = AffinitySource.SegmentationOnly, Constraints = AffinityConstraints.Segmentation, ChunkRows = Nullable 4L)
            use m = make o 61L
            Expect.isNull m.saliency "no saliency branch"
            Expect.isNull m.pairwise_fusion "no fusion"
            Expect.isFalse (m.named_parameters () |> Seq.exists (fun struct (n, _) -> n.StartsWith "saliency")) "no saliency parameters"
            let sal, seg = randn 62L [| B; C; H; W |], randn 63L [| B; C; H; W |]
            use r = m.forward(sal, seg)
            Expect.isTrue (same r.SaliencyFeatures sal) "saliency features pass through"
            let a = r.Affinity.Dense()
            close (torch.ones [| B; N |]) (a.sum(-1L)) 1e-5 "A_seg rows"         // a plain softmax: rows sum to 1
            let struct (_, refinedSal) = r.RefinePredictions(randn 64L [| B; 2L; H; W |], randn 65L [| B; 1L; H; W |])
            Expect.isNull refinedSal "\"with seg. constraint\" only")
    ]
