/// CSD's consistency terms (Eq. 3, Eq. 5): zero when teacher and student agree, reference
/// values, masks respected, gradient to the student only.
module Hybrid.Wsss.Tests.CsdConsistencyTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open Hybrid.Torch
open Hybrid.Wsss.Methods.Csd

let private value (t: Tensor) = t.item<float32> () |> float

let private allCases =
    [ for r in [ SumOverCells; MeanOverPixels ] do
        yield "fg", r, (fun (ca: float) t s m -> Consistency.foreground r ca t s m)
        for bs in [ DummyClass; SaliencySum ] do
            yield $"bg {bs}", r, (fun ca t s m -> Consistency.background r ca bs 0.5 t s m) ]

[<Fact>]
let ``L_fg and L_bg are 0 when teacher and student agree`` () =
    let gen = gen {
        let! b = Gen.choose (1, 3)
        let! k = Gen.choose (1, 5)
        let! h = Gen.choose (1, 6)
        let! w = Gen.choose (1, 6)
        let! seed = Gen.choose (0, 10000)
        let! scale = Gen.elements [ 0.1; 1.0; 30.0 ]
        return b, k, h, w, seed, scale }
    Prop.checkN 40 (Prop.forAll (Arb.fromGen gen) (fun (b, k, h, w, seed, scale) ->
        use _scope = torch.NewDisposeScope()
        torch.manual_seed (int64 seed)
        let maps = torch.randn ([| int64 b; int64 k; int64 h; int64 w |]) * scale
        let mask = (torch.rand [| int64 b; int64 h; int64 w |]).gt(0.3)
        allCases |> List.forall (fun (_, _, loss) -> abs (value (loss 4.0 maps (maps.clone ()) mask)) < 1e-5)))

[<Fact>]
let ``the terms are positive where the distributions differ and ignore pixels outside the mask`` () =
    use _scope = torch.NewDisposeScope()
    torch.manual_seed 3L
    let teacher = torch.randn ([| 2L; 4L; 5L; 5L |])
    let mask = (torch.rand [| 2L; 5L; 5L |]).gt(0.5)
    // the student differs from the teacher only outside the mask
    let outside = mask.logical_not().unsqueeze(1L).to_type(ScalarType.Float32)
    let studentOutside = teacher + torch.randn ([| 2L; 4L; 5L; 5L |]) * outside * 3.0
    let studentEverywhere = teacher + torch.randn ([| 2L; 4L; 5L; 5L |]) * 3.0
    for name, _, loss in allCases do
        Assert.True(abs (value (loss 1.0 teacher studentOutside mask)) < 1e-5, $"{name}: changes outside the mask must not count")
        Assert.True(value (loss 1.0 teacher studentEverywhere mask) > 1e-3, $"{name}: differing distributions must cost")
        let empty = torch.zeros ([| 2L; 5L; 5L |], ScalarType.Bool)
        Assert.Equal(0.0, value (loss 1.0 teacher studentEverywhere empty))

/// Reference values computed with Debian python3-torch 1.13 (float64):
///   t = (torch.arange(12.)/4).reshape(1,3,2,2); s = torch.cos(torch.arange(12.)).reshape(1,3,2,2)
///   m = [[[True,False],[True,True]]]; kl(a,b) = (a.softmax(1)*(a.log_softmax(1)-b.log_softmax(1))).sum(1)
///   mean = (kl*m).sum()/m.sum(); sum over cells with cellArea 2 = (kl*m).sum()/2
///   dummy class: kl(cat([t, 0.5]), cat([s, 0.5])); saliency: kl(cat([t.sum(1), 0.5]), cat([s.sum(1), 0.5]))
[<Fact>]
let ``reference values from PyTorch`` () =
    use _scope = torch.NewDisposeScope()
    let t = (torch.tensor ([| for i in 0 .. 11 -> float32 i / 4.0f |], [| 1L; 3L; 2L; 2L |]))
    let s = (torch.tensor ([| for i in 0 .. 11 -> float32 (cos (float i)) |], [| 1L; 3L; 2L; 2L |]))
    let m = torch.tensor ([| true; false; true; true |], [| 1L; 2L; 2L |])
    let check (expected: float) (t: Tensor) = Assert.Equal(expected, value t, 5)
    check 0.6353728086765045 (Consistency.foreground MeanOverPixels 2.0 t s m)
    check 0.9530592130147567 (Consistency.foreground SumOverCells 2.0 t s m)
    check 0.7111171321852648 (Consistency.background MeanOverPixels 2.0 DummyClass 0.5 t s m)
    check 1.0666756982778973 (Consistency.background SumOverCells 2.0 DummyClass 0.5 t s m)
    check 0.8982496458812997 (Consistency.background MeanOverPixels 2.0 SaliencySum 0.5 t s m)
    check 1.3473744688219496 (Consistency.background SumOverCells 2.0 SaliencySum 0.5 t s m)

[<Fact>]
let ``the gradient reaches the student only, and matches finite differences`` () =
    use _scope = torch.NewDisposeScope()
    torch.manual_seed 5L
    let teacher = (torch.randn ([| 1L; 3L; 3L; 3L |], dtype = ScalarType.Float64)).requires_grad_(true)
    let student = (torch.randn ([| 1L; 3L; 3L; 3L |], dtype = ScalarType.Float64)).requires_grad_(true)
    let mask = (torch.rand [| 1L; 3L; 3L |]).gt(0.2)
    let loss () = Consistency.background SumOverCells 3.0 DummyClass 0.2 teacher student mask
    (loss ()).backward ()
    Assert.True(isNull teacher.grad || teacher.grad.abs().sum().item<float> () = 0.0, "the teacher gets no gradient")
    let g = student.grad.data<float> ()
    let eps = 1e-6
    for i in [ 0; 4; 13; 26 ] do
        let at delta =
            use _ng = torch.no_grad ()
            let flat = student.view(-1L)
            let old = (flat.data<float> ()).[i]
            flat.select(0L, int64 i).fill_(old + delta) |> ignore
            let v = (loss ()).item<float> ()
            flat.select(0L, int64 i).fill_(old) |> ignore
            v
        let numeric = (at eps - at -eps) / (2.0 * eps)
        Assert.Equal(numeric, g[i], 6)

[<Fact>]
let ``mismatched shapes are rejected with the shapes named`` () =
    use _scope = torch.NewDisposeScope()
    let e = Assert.Throws<ArgumentException>(fun () -> Consistency.foreground MeanOverPixels 1.0 (torch.zeros ([| 1L; 2L; 3L; 3L |])) (torch.zeros ([| 1L; 2L; 4L; 4L |])) (torch.zeros ([| 1L; 3L; 3L |], ScalarType.Bool)) |> ignore)
    Assert.Contains("(1, 2, 3, 3)", e.Message)
