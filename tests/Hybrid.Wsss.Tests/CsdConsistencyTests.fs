/// CSD's consistency terms (Eq. 3, Eq. 5): zero when teacher and student agree, reference
/// values, masks respected, gradient to the student only.
module Hybrid.Wsss.Tests.CsdConsistencyTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Methods.Csd
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations
open Hybrid.Wsss.Tests.TensorValues

let private value (t: Tensor) = t.ToSingle() |> float

let private allCases =
    [ for r in [ SumOverCells; MeanOverPixels ] do
        yield "fg", r, (fun (ca: float) t s m -> Consistency.foreground r ca t s m)
        for bs in [ DummyClass; SaliencySum ] do
            yield $"bg {bs}", r, (fun ca t s m -> Consistency.background r ca bs 0.5 t s m) ]

[<Tests>]
let tests =
    testList "CsdConsistency" [
        propertyN 40 "L_fg and L_bg are 0 when teacher and student agree" (
            let gen = gen {
                let! b = Gen.choose (1, 3)
                let! k = Gen.choose (1, 5)
                let! h = Gen.choose (1, 6)
                let! w = Gen.choose (1, 6)
                let! seed = Gen.choose (0, 10000)
                let! scale = Gen.elements [ 0.1; 1.0; 30.0 ]
                return b, k, h, w, seed, scale }
            Prop.forAll (Arb.fromGen gen) (fun (b, k, h, w, seed, scale) ->
                use _scope = torch.NewDisposeScope()
                torch.manual_seed (int64 seed) |> ignore
                let maps = torch.randn ([| int64 b; int64 k; int64 h; int64 w |]) * scale
                let mask = (torch.rand [| int64 b; int64 h; int64 w |]).gt(0.3)
                allCases |> List.forall (fun (_, _, loss) -> abs (value (loss 4.0 maps (maps.clone ()) mask)) < 1e-5)))

        testCase "the terms are positive where the distributions differ and ignore pixels outside the mask" <| fun () ->
            use _scope = torch.NewDisposeScope()
            torch.manual_seed 3L |> ignore
            let teacher = torch.randn ([| 2L; 4L; 5L; 5L |])
            let mask = (torch.rand [| 2L; 5L; 5L |]).gt(0.5)
            // the student differs from the teacher only outside the mask
            let outside = mask.logical_not().unsqueeze(1L).to_type(ScalarType.Float32)
            let studentOutside = teacher + torch.randn ([| 2L; 4L; 5L; 5L |]) * outside * 3.0
            let studentEverywhere = teacher + torch.randn ([| 2L; 4L; 5L; 5L |]) * 3.0
            for name, _, loss in allCases do
                Expect.isTrue (abs (value (loss 1.0 teacher studentOutside mask)) < 1e-5) ($"{name}: changes outside the mask must not count")
                Expect.isTrue (value (loss 1.0 teacher studentEverywhere mask) > 1e-3) ($"{name}: differing distributions must cost")
                let empty = torch.zeros ([| 2L; 5L; 5L |], ScalarType.Bool)
                Expect.equal (value (loss 1.0 teacher studentEverywhere empty)) 0.0 "value (loss 1.0 teacher studentEverywhere empty)"

        // Reference values computed with Debian python3-torch 1.13 (float64):
        //   t = (torch.arange(12.)/4).reshape(1,3,2,2); s = torch.cos(torch.arange(12.)).reshape(1,3,2,2)
        //   m = [[[True,False],[True,True]]]; kl(a,b) = (a.softmax(1)*(a.log_softmax(1)-b.log_softmax(1))).sum(1)
        //   mean = (kl*m).sum()/m.sum(); sum over cells with cellArea 2 = (kl*m).sum()/2
        //   dummy class: kl(cat([t, 0.5]), cat([s, 0.5])); saliency: kl(cat([t.sum(1), 0.5]), cat([s.sum(1), 0.5]))
        testCase "reference values from PyTorch" <| fun () ->
            use _scope = torch.NewDisposeScope()
            let t = (torch.tensor ([| for i in 0 .. 11 -> float32 i / 4.0f |], [| 1L; 3L; 2L; 2L |]))
            let s = (torch.tensor ([| for i in 0 .. 11 -> float32 (cos (float i)) |], [| 1L; 3L; 2L; 2L |]))
            let m = torch.tensor ([| true; false; true; true |], [| 1L; 2L; 2L |])
            let check (expected: float) (t: Tensor) = equalRounded 5 (value t) expected "value t"
            check 0.6353728086765045 (Consistency.foreground MeanOverPixels 2.0 t s m)
            check 0.9530592130147567 (Consistency.foreground SumOverCells 2.0 t s m)
            check 0.7111171321852648 (Consistency.background MeanOverPixels 2.0 DummyClass 0.5 t s m)
            check 1.0666756982778973 (Consistency.background SumOverCells 2.0 DummyClass 0.5 t s m)
            check 0.8982496458812997 (Consistency.background MeanOverPixels 2.0 SaliencySum 0.5 t s m)
            check 1.3473744688219496 (Consistency.background SumOverCells 2.0 SaliencySum 0.5 t s m)

        testCase "the gradient reaches the student only, and matches finite differences" <| fun () ->
            use _scope = torch.NewDisposeScope()
            torch.manual_seed 5L |> ignore
            let teacher = (torch.randn ([| 1L; 3L; 3L; 3L |], dtype = ScalarType.Float64)).requires_grad_(true)
            let student = (torch.randn ([| 1L; 3L; 3L; 3L |], dtype = ScalarType.Float64)).requires_grad_(true)
            let mask = (torch.rand [| 1L; 3L; 3L |]).gt(0.2)
            let loss () = Consistency.background SumOverCells 3.0 DummyClass 0.2 teacher student mask
            (loss ()).backward ()
            Expect.isTrue (isNull teacher.grad || teacher.grad.abs().sum().ToDouble() = 0.0) "the teacher gets no gradient"
            let g = doubles student.grad
            let eps = 1e-6
            for i in [ 0; 4; 13; 26 ] do
                let at delta =
                    use _ng = torch.no_grad ()
                    let flat = student.view(-1L)
                    let old = (doubles flat).[i]
                    flat.select(0L, int64 i).fill_((old + delta).ToScalar()) |> ignore
                    let v = (loss ()).ToDouble()
                    flat.select(0L, int64 i).fill_(old.ToScalar()) |> ignore
                    v
                let numeric = (at eps - at -eps) / (2.0 * eps)
                equalRounded 6 (g[i]) numeric "g[i]"

        testCase "mismatched shapes are rejected with the shapes named" <| fun () ->
            use _scope = torch.NewDisposeScope()
            let e = throws<ArgumentException> (fun () -> Consistency.foreground MeanOverPixels 1.0 (torch.zeros ([| 1L; 2L; 3L; 3L |])) (torch.zeros ([| 1L; 2L; 4L; 4L |])) (torch.zeros ([| 1L; 3L; 3L |], ScalarType.Bool)) |> ignore)
            Expect.stringContains e.Message "(1, 2, 3, 3)" "'(1, 2, 3, 3)'"
    ]
