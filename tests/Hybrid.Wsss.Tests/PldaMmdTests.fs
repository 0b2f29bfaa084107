module Hybrid.Wsss.Tests.PldaMmdTests

open Expecto
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Methods.Plda
open Hybrid.TestSupport.Expectations
open Hybrid.Wsss.Tests.TensorValues

/// x (4, 3) = sin(0.37 i), y (5, 3) = cos(0.23 i) + 0.5, in float64.
let private sample () =
    let x = torch.tensor(Array.init 12 (fun i -> sin (0.37 * float i)), [| 4L; 3L |]).requires_grad_(true)
    let y = torch.tensor (Array.init 15 (fun i -> cos (0.23 * float i) + 0.5), [| 5L; 3L |])
    x, y

[<Tests>]
let tests =
    testList "PldaMmd" [
        testCase "MMD value and gradient match PyTorch" <| fun () ->
            use scope = torch.NewDisposeScope()
            let x, y = sample ()
            let m = PixelMmd.between 5 2.0 x y
            // Reference: Debian python3-torch 1.13, float64, an independent pairwise formula
            //   z = cat(x, y); d2 = ((z[:, None] - z[None]) ** 2).sum(-1); base = d2.sum() / (n^2 - n) (detached)
            //   k = sum_{i=0..4} exp(-d2 / (base * 2 ** (i - 2)))
            //   mmd = k[:4, :4].mean() + k[4:, 4:].mean() - 2 k[:4, 4:].mean(); mmd.backward()
            equalRounded 10 (m.ToDouble()) 0.43327946438528553 "m.ToDouble()"
            m.backward ()
            let expected =
                [| 0.05172844126122991; 0.12902257897477953; 0.14754350825291934; -0.46363712933581835
                   -0.2786521413627928; -0.16498251273461467; -0.1755931776434551; 0.032969546352455456
                   0.16545170047826538; 0.05772584906836002; -0.04809317392177348; -0.15589194709275783 |]
            Array.iter2 (fun (e: float) (a: float) -> equalRounded 9 a e "d MMD / dx") expected (doubles x.grad)

        testCase "MMD is zero for identical samples, positive and growing with a shift" <| fun () ->
            use scope = torch.NewDisposeScope()
            torch.manual_seed 7L |> ignore
            let a = torch.randn ([| 40L; 6L |])
            equalRounded 6 ((PixelMmd.between 5 2.0 a (a.clone ())).ToDouble()) 0.0 "(PixelMmd.between 5 2.0 a (a.clone ())).ToDouble()"
            let b = torch.randn ([| 40L; 6L |])
            let near = (PixelMmd.between 5 2.0 a b).ToDouble()
            let far = (PixelMmd.between 5 2.0 a (b + 2.0)).ToDouble()
            Expect.isTrue (near >= 0.0) "near >= 0.0"
            Expect.isTrue (far > near) (sprintf "shifted %g should exceed unshifted %g" far near)

        testCase "pixel features are gathered under the mask and subsampled" <| fun () ->
            use scope = torch.NewDisposeScope()
            // features (1, 2, 2, 2): channel 0 = 0..3, channel 1 = 10..13
            let f = torch.tensor ([| 0.0f; 1.0f; 2.0f; 3.0f; 10.0f; 11.0f; 12.0f; 13.0f |], [| 1L; 2L; 2L; 2L |])
            let mask = torch.tensor([| 0uy; 1uy; 1uy; 0uy |], [| 1L; 2L; 2L |]).to_type ScalarType.Bool
            let g = PixelMmd.gather f mask
            Expect.equal g.shape [| 2L; 2L |] "g.shape"
            Expect.equal (floats g) [| 1.0f; 11.0f; 2.0f; 12.0f |] "floats g"
            let many = torch.randn ([| 50L; 3L |])
            Expect.equal ((PixelMmd.subsample 8 many).shape) [| 8L; 3L |] "(PixelMmd.subsample 8 many).shape"
            Expect.equal ((PixelMmd.subsample 80 many).shape) [| 50L; 3L |] "(PixelMmd.subsample 80 many).shape"

        testCase "MMD loss is zero with an empty domain and keeps the graph" <| fun () ->
            use scope = torch.NewDisposeScope()
            let f = torch.randn ([| 1L; 4L; 3L; 3L |], requires_grad = true)
            let src = torch.ones([| 1L; 3L; 3L |]).to_type ScalarType.Bool
            let empty = torch.zeros([| 1L; 3L; 3L |]).to_type ScalarType.Bool
            let l = PixelMmd.loss 5 2.0 64 f src empty
            Expect.equal (l.ToDouble()) 0.0 "l.ToDouble()"
            l.backward ()
            Expect.isNotNull f.grad "the features get a (zero) gradient"
    ]
