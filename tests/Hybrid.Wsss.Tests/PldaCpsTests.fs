module Hybrid.Wsss.Tests.PldaCpsTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Methods.Plda
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations
open Hybrid.Wsss.Tests.TensorValues

module Cps = ConfidentPseudoSupervision

/// A random CPS problem: probabilities (B, C, h, w) (softmax of random logits), a domain
/// mask and a head per pixel.
type CpsProblem = { B: int; C: int; H: int; W: int; Logits: float32[]; Domain: bool[]; Head: int64[]; Cutoffs: CpsCutoffs }

let private problems =
    gen {
        let! b = Gen.choose (1, 3)
        let! c = Gen.choose (2, 5)
        let! h = Gen.choose (1, 6)
        let! w = Gen.choose (1, 6)
        let! seed = Gen.choose (0, Int32.MaxValue)
        let! ratio = Gen.elements [ 0.0; 0.3; 0.6; 0.9; 1.0 ]
        let! bgRatio = Gen.elements [ 0.0; 0.5; 0.7; 1.0 ]
        let! floor = Gen.elements [ 0.0; 0.2; 0.5 ]
        let rng = Random seed
        let n = b * h * w
        return
            { B = b; C = c; H = h; W = w
              Logits = Array.init (b * c * h * w) (fun _ -> float32 (rng.NextDouble() * 6.0 - 3.0))
              Domain = Array.init n (fun _ -> rng.NextDouble() < 0.5)
              Head = Array.init n (fun _ -> int64 (rng.Next(-1, c - 1)))
              Cutoffs = { Foreground = ratio; Background = bgRatio; Floor = floor } }
    }
    |> Arb.fromGen

[<Tests>]
let tests =
    testList "PldaCps" [
        propertyN 100 "CPS supervises only unambiguous confident pixels of the pixel's own class inside its domain" (
            Prop.forAll problems (fun q ->
                use scope = torch.NewDisposeScope()
                let p = torch.tensor(q.Logits, [| int64 q.B; int64 q.C; int64 q.H; int64 q.W |]).softmax 1L
                let domain = torch.tensor(q.Domain |> Array.map (fun v -> if v then 1uy else 0uy), [| int64 q.B; int64 q.H; int64 q.W |]).to_type ScalarType.Bool
                let head = torch.tensor (q.Head, [| int64 q.B; int64 q.H; int64 q.W |])
                let confident = longs (Cps.confidentLabels q.Cutoffs p)
                let supervised = longs (Cps.targets q.Cutoffs p domain head)
                let pv = floats p
                let hw = q.H * q.W
                // reference cut-off (1-stage-wseg): tau_bc = max(floor, ratio_c * max_i p_bci), ratio_0 the background's
                let tau bi c =
                    let ratio = if c = 0 then q.Cutoffs.Background else q.Cutoffs.Foreground
                    max q.Cutoffs.Floor (ratio * float (Array.init hw (fun i -> pv[(bi * q.C + c) * hw + i]) |> Array.max))
                let mutable ok = true
                for bi in 0 .. q.B - 1 do
                    for i in 0 .. hw - 1 do
                        let j = bi * hw + i
                        let probs = Array.init q.C (fun c -> pv[(bi * q.C + c) * hw + i])
                        let above = [ for c in 0 .. q.C - 1 do if float probs[c] > tau bi c then c ]
                        // confident labels: the one class above its cut-off; none or several -> ignored
                        let expected = match above with [ c ] -> int64 c | _ -> 255L
                        if confident[j] <> expected then ok <- false
                        // supervised: only inside the domain, confident, and the pixel's own foreground class
                        let l = supervised[j]
                        if l <> 255L then
                            if not q.Domain[j] then ok <- false
                            if l <> expected then ok <- false
                            if l <> q.Head[j] + 1L then ok <- false
                            if l = 0L then ok <- false
                        elif q.Domain[j] && expected <> 255L && expected > 0L && expected = q.Head[j] + 1L then ok <- false
                ok))

        testCase "the pseudo-label distribution fixes the background logit at 1 and excludes absent classes" <| fun () ->
            use scope = torch.NewDisposeScope()
            // B = 1, K = 2 (class 1 absent), h = 1, w = 2
            let scores = torch.tensor ([| 1.0f; 3.0f;   5.0f; 5.0f |], [| 1L; 2L; 1L; 2L |])
            let labels = torch.tensor ([| 1.0f; 0.0f |], [| 1L; 2L |])
            let logits = floats (Cps.withFixedBackground scores labels)
            Expect.equal logits [| 1.0f; 1.0f; 1.0f; 3.0f; -1e9f; -1e9f |] "logits"
            let p = floats (Cps.distribution (fun _ m -> m.alias ()) (torch.zeros ([| 1L; 3L; 8L; 16L |])) scores labels)
            // softmax([1, 1]) = (0.5, 0.5); softmax([1, 3]) = (1 / (1 + e^2), e^2 / (1 + e^2))
            let e2 = exp 2.0
            equalRounded 6 (float p[0]) 0.5 "float p[0]"
            equalRounded 6 (float p[1]) (1.0 / (1.0 + e2)) "float p[1]"
            equalRounded 6 (float p[2]) 0.5 "float p[2]"
            equalRounded 6 (float p[3]) (e2 / (1.0 + e2)) "float p[3]"
            Expect.equal (p[4]) 0.0f "p[4]"
            Expect.equal (p[5]) 0.0f "p[5]"

        testCase "the distribution goes through the refinement" <| fun () ->
            use scope = torch.NewDisposeScope()
            let scores = torch.randn ([| 2L; 3L; 4L; 4L |])
            let labels = torch.ones ([| 2L; 3L |])
            let images = torch.randn ([| 2L; 3L; 32L; 32L |])
            let mutable seen = None
            let refine (img: Tensor) (m: Tensor) =
                seen <- Some(img.shape, m.shape)
                m.flip 3L
            let p = Cps.distribution refine images scores labels
            Expect.equal seen (Some([| 2L; 3L; 32L; 32L |], [| 2L; 4L; 4L; 4L |])) "seen"
            let unrefined = Cps.distribution (fun _ m -> m.alias ()) images scores labels
            Expect.isTrue (p.allclose (unrefined.flip 3L)) "p.allclose (unrefined.flip 3L)"
            Expect.isFalse p.requires_grad "p.requires_grad"

        testCase "CPS loss is zero without supervised pixels or with one class, positive with two" <| fun () ->
            use scope = torch.NewDisposeScope()
            let logits = torch.randn ([| 2L; 3L; 4L; 4L |], requires_grad = true)
            let none = torch.full ([| 2L; 4L; 4L |], 255.0, dtype = ScalarType.Int64)
            Expect.equal ((Cps.loss logits none).ToDouble()) 0.0 "(Cps.loss logits none).ToDouble()"
            // one supervised class per image: 1-stage-wseg's weights (N - N_c) / (1 + N) are all 0
            let oneClass = torch.tensor (Array.init 32 (fun i -> if i = 6 || i = 7 then 2L elif i = 20 then 1L else 255L), [| 2L; 4L; 4L |])
            Expect.equal ((Cps.loss logits oneClass).ToDouble()) 0.0 "(Cps.loss logits oneClass).ToDouble()"
            // pixels (0, 1, 2) class 2 and (0, 0, 0) class 1 in image 0
            let twoClasses = torch.tensor (Array.init 32 (fun i -> if i = 1 * 4 + 2 then 2L elif i = 0 then 1L else 255L), [| 2L; 4L; 4L |])
            let l = Cps.loss logits twoClasses
            Expect.isTrue (l.ToDouble() > 0.0) "l.ToDouble() > 0.0"
            l.backward ()
            let g = floats logits.grad
            // only the two supervised pixels receive gradient
            g |> Array.iteri (fun i v ->
                let b, r = i / 48, i % 48
                let y, x = (r % 16) / 4, r % 4
                if not (b = 0 && ((y = 1 && x = 2) || (y = 0 && x = 0))) then Expect.equal v 0.0f "v")
    ]
