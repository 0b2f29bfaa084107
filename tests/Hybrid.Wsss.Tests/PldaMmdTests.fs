module Hybrid.Wsss.Tests.PldaMmdTests

open Xunit
open Hybrid.Torch
open Hybrid.Wsss.Methods.Plda

let private floats (t: Tensor) = t.to_type(ScalarType.Float64).data<float> ()

/// x (4, 3) = sin(0.37 i), y (5, 3) = cos(0.23 i) + 0.5, in float64.
let private sample () =
    let x = torch.tensor (Array.init 12 (fun i -> sin (0.37 * float i)), [| 4L; 3L |], requires_grad = true)
    let y = torch.tensor (Array.init 15 (fun i -> cos (0.23 * float i) + 0.5), [| 5L; 3L |])
    x, y

[<Fact>]
let ``MMD value and gradient match PyTorch`` () =
    use scope = torch.NewDisposeScope()
    let x, y = sample ()
    let m = PixelMmd.between 5 2.0 x y
    // Reference: Debian python3-torch 1.13, float64, an independent pairwise formula
    //   z = cat(x, y); d2 = ((z[:, None] - z[None]) ** 2).sum(-1); base = d2.sum() / (n^2 - n) (detached)
    //   k = sum_{i=0..4} exp(-d2 / (base * 2 ** (i - 2)))
    //   mmd = k[:4, :4].mean() + k[4:, 4:].mean() - 2 k[:4, 4:].mean(); mmd.backward()
    Assert.Equal(0.43327946438528553, m.item<float> (), 10)
    m.backward ()
    let expected =
        [| 0.05172844126122991; 0.12902257897477953; 0.14754350825291934; -0.46363712933581835
           -0.2786521413627928; -0.16498251273461467; -0.1755931776434551; 0.032969546352455456
           0.16545170047826538; 0.05772584906836002; -0.04809317392177348; -0.15589194709275783 |]
    Array.iter2 (fun (e: float) (a: float) -> Assert.Equal(e, a, 9)) expected (floats x.grad)

[<Fact>]
let ``MMD is zero for identical samples, positive and growing with a shift`` () =
    use scope = torch.NewDisposeScope()
    torch.manual_seed 7L
    let a = torch.randn ([| 40L; 6L |])
    Assert.Equal(0.0, (PixelMmd.between 5 2.0 a (a.clone ())).item<float> (), 6)
    let b = torch.randn ([| 40L; 6L |])
    let near = (PixelMmd.between 5 2.0 a b).item<float> ()
    let far = (PixelMmd.between 5 2.0 a (b + 2.0)).item<float> ()
    Assert.True(near >= 0.0)
    Assert.True(far > near, sprintf "shifted %g should exceed unshifted %g" far near)

[<Fact>]
let ``pixel features are gathered under the mask and subsampled`` () =
    use scope = torch.NewDisposeScope()
    // features (1, 2, 2, 2): channel 0 = 0..3, channel 1 = 10..13
    let f = torch.tensor ([| 0.0f; 1.0f; 2.0f; 3.0f; 10.0f; 11.0f; 12.0f; 13.0f |], [| 1L; 2L; 2L; 2L |])
    let mask = torch.tensor([| 0uy; 1uy; 1uy; 0uy |], [| 1L; 2L; 2L |]).to_type ScalarType.Bool
    let g = PixelMmd.gather f mask
    Assert.Equal<int64[]>([| 2L; 2L |], g.shape)
    Assert.Equal<float32[]>([| 1.0f; 11.0f; 2.0f; 12.0f |], g.data<float32> ())
    let many = torch.randn ([| 50L; 3L |])
    Assert.Equal<int64[]>([| 8L; 3L |], (PixelMmd.subsample 8 many).shape)
    Assert.Equal<int64[]>([| 50L; 3L |], (PixelMmd.subsample 80 many).shape)

[<Fact>]
let ``MMD loss is zero with an empty domain and keeps the graph`` () =
    use scope = torch.NewDisposeScope()
    let f = torch.randn ([| 1L; 4L; 3L; 3L |], requires_grad = true)
    let src = torch.ones([| 1L; 3L; 3L |]).to_type ScalarType.Bool
    let empty = torch.zeros([| 1L; 3L; 3L |]).to_type ScalarType.Bool
    let l = PixelMmd.loss 5 2.0 64 f src empty
    Assert.Equal(0.0, l.item<float> ())
    l.backward ()
    Assert.NotNull(f.grad)
