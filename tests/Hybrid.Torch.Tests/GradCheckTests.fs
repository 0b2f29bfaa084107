/// Autograd of the ops the WSSS methods differentiate through, through TorchSharp's API, against
/// float64 central differences (see GradCheck).
module Hybrid.Torch.Tests.GradCheckTests

open System
open Expecto
open TorchSharp
open Hybrid.Torch.Tests.Data
open Hybrid.Torch.Tests.OneThread

type private F = torch.nn.functional
type private Reduction = torch.nn.Reduction

let private l2 (a: int64) (b: int64) = [| a; b |]

[<Tests>]
let tests =
    testList "GradCheck" [
        torchTest "the checker accepts a true gradient and catches a wrong one" (fun () ->
            use x = normal [| 3L; 4L |] 1
            let good = GradCheck.run (fun t -> t[0] * t[0]) [| x |]
            Expect.isTrue good.Passed (string good)
            Expect.equal good.Checked 12L "every element checked"
            // x * x.detach() has autograd gradient x but true derivative 2x: the checker must object.
            let bad = GradCheck.run (fun t -> (use d = t[0].detach () in t[0] * d)) [| x |]
            Expect.isFalse bad.Passed "a wrong gradient fails"
            Expect.equal (Math.Round(bad.Numeric / bad.Analytic, 5)) 2.0 "the factor autograd missed"
            Expect.stringContains (string bad) "finite differences" "the report names both sides")

        torchTest "the checker rejects float32 inputs" (fun () ->
            use x = torch.ones ([| 2L |], dtype = torch.ScalarType.Float32)
            Expect.throwsT<ArgumentException> (fun () -> GradCheck.run (fun t -> t[0] * 2) [| x |] |> ignore) "float32")

        torchTest "conv2d with stride, dilation and groups" (fun () ->
            use x = normal [| 1L; 4L; 7L; 6L |] 2                                         // (B, Cin, H, W)
            use w = normalWith [| 4L; 2L; 3L; 3L |] 3 0.5 0.0                            // (Cout, Cin/groups, k, k)
            use b = normal [| 4L |] 4
            GradCheck.check "conv2d s2 d2 g2"
                (fun t -> F.conv2d (t[0], t[1], t[2], strides = l2 2L 2L, padding = l2 1L 1L, dilation = l2 2L 2L, groups = 2L)) [ x; w; b ]
            GradCheck.check "conv2d s(1,2) p(1,0) d(2,1)"
                (fun t -> F.conv2d (t[0], t[1], null, strides = l2 1L 2L, padding = l2 1L 0L, dilation = l2 2L 1L, groups = 2L)) [ x; w ])

        torchTest "conv_transpose2d" (fun () ->
            use x = normal [| 1L; 2L; 3L; 3L |] 5
            use w = normalWith [| 2L; 3L; 3L; 3L |] 6 0.5 0.0                            // (Cin, Cout, k, k)
            use b = normal [| 3L |] 7
            GradCheck.check "conv_transpose2d"
                (fun t -> F.conv_transpose2d (t[0], t[1], t[2], strides = l2 2L 2L, padding = l2 1L 1L, output_padding = l2 1L 1L)) [ x; w; b ])

        torchTest "batch_norm in training mode" (fun () ->
            use x = normalWith [| 4L; 3L; 2L; 3L |] 8 2.0 1.0                              // (B, C, H, W)
            use w = normal [| 3L |] 9
            use b = normal [| 3L |] 10
            GradCheck.check "batch_norm train"
                (fun t ->
                    use rm = torch.zeros ([| 3L |], dtype = torch.ScalarType.Float64)
                    use rv = torch.ones ([| 3L |], dtype = torch.ScalarType.Float64)
                    F.batch_norm (t[0], rm, rv, t[1], t[2], training = true)) [ x; w; b ])

        torchTest "layer_norm and group_norm" (fun () ->
            use x = normal [| 2L; 4L; 3L |] 11
            use w = normal [| 3L |] 12
            use b = normal [| 3L |] 13
            GradCheck.check "layer_norm" (fun t -> F.layer_norm (t[0], [| 3L |], t[1], t[2])) [ x; w; b ]
            use y = normal [| 2L; 4L; 2L; 2L |] 14
            use gw = normal [| 4L |] 15
            use gb = normal [| 4L |] 16
            GradCheck.check "group_norm" (fun t -> F.group_norm (t[0], 2L, t[1], t[2])) [ y; gw; gb ])

        torchTest "bilinear interpolate with and without align_corners" (fun () ->
            use x = normal [| 1L; 2L; 3L; 4L |] 17
            let bilinear = torch.InterpolationMode.Bilinear
            GradCheck.check "interpolate bilinear" (fun t -> F.interpolate (t[0], size = l2 5L 7L, mode = bilinear, align_corners = false)) [ x ]
            GradCheck.check "interpolate bilinear align_corners"
                (fun t -> F.interpolate (t[0], size = l2 5L 7L, mode = bilinear, align_corners = true)) [ x ]
            GradCheck.check "interpolate bilinear downsample" (fun t -> F.interpolate (t[0], size = l2 2L 3L, mode = bilinear, align_corners = false)) [ x ])

        torchTest "grid_sample with respect to input and grid" (fun () ->
            use x = normal [| 1L; 2L; 4L; 5L |] 18                                        // (B, C, H, W)
            use grid = uniform [| 1L; 3L; 3L; 2L |] 19 -1.1 1.1                           // (B, Ho, Wo, 2)
            GradCheck.check "grid_sample bilinear zeros" (fun t -> F.grid_sample (t[0], t[1], align_corners = false)) [ x; grid ]
            GradCheck.check "grid_sample bilinear border align_corners"
                (fun t -> F.grid_sample (t[0], t[1], torch.GridSampleMode.Bilinear, torch.GridSamplePaddingMode.Border, align_corners = true)) [ x; grid ])

        torchTest "softmax and log_softmax" (fun () ->
            use x = normalWith [| 2L; 4L; 3L |] 20 2.0 0.0
            GradCheck.check "softmax dim 1" (fun t -> F.softmax (t[0], 1L)) [ x ]
            GradCheck.check "log_softmax dim 1" (fun t -> F.log_softmax (t[0], 1L)) [ x ]
            GradCheck.check "log_softmax dim -1" (fun t -> F.log_softmax (t[0], -1L)) [ x ])

        torchTest "cross_entropy with ignore_index and class weights" (fun () ->
            use x = normal [| 3L; 4L; 2L; 2L |] 21                                        // (N, C, H, W) logits
            use target = longs [| 0L; 3L; 255L; 1L; 2L; 255L; 2L; 0L; 1L; 1L; 3L; 255L |] [| 3L; 2L; 2L |]
            use weight = doubles [| 0.5; 2.0; 1.0; 1.5 |] [| 4L |]
            for red in [ Reduction.Mean; Reduction.Sum; Reduction.None ] do
                let w =
                    GradCheck.runChecked (fun t -> F.cross_entropy (t[0], t[1], t[2], ignore_index = 255L, reduction = red))
                        [| x; target; weight |] [| true; false; false |]
                Expect.isTrue w.Passed $"cross_entropy {red}: {w}"
            // Ignored pixels receive no gradient at all.
            use leaf = x.detach().requires_grad_ ()
            use loss = F.cross_entropy (leaf, target, weight, ignore_index = 255L)
            loss.backward ()
            use g = leaf.grad
            use gIgnored = g.select(0, 0L).select(1, 1L).select(1, 0L)                    // g[0, :, 1, 0]; target[0, 1, 0] == 255
            for v in gIgnored.data<float>().ToArray() do Expect.equal v 0.0 "no gradient at an ignored pixel")

        torchTest "multilabel_soft_margin_loss" (fun () ->
            use x = normalWith [| 3L; 5L |] 22 2.0 0.0
            use y = doubles [| 1.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 1.0; 1.0; 1.0; 1.0; 0.0; 0.0; 0.0; 0.0 |] [| 3L; 5L |]
            use wt = uniform [| 5L |] 23 0.5 1.5
            let w1 = GradCheck.runChecked (fun t -> F.multilabel_soft_margin_loss (t[0], t[1])) [| x; y |] [| true; false |]
            Expect.isTrue w1.Passed (string w1)
            let w2 =
                GradCheck.runChecked (fun t -> F.multilabel_soft_margin_loss (t[0], t[1], t[2], Reduction.None)) [| x; y; wt |] [| true; false; false |]
            Expect.isTrue w2.Passed (string w2))

        torchTest "kl_div with respect to input and target" (fun () ->
            // TorchSharp's kl_div defaults to log_target = true (PyTorch: false): passed explicitly.
            use logits = normal [| 3L; 4L |] 24
            use logp = F.log_softmax (logits, 1L)
            use q = uniform [| 3L; 4L |] 25 0.1 1.0
            GradCheck.check "kl_div mean" (fun t -> F.kl_div (t[0], t[1], log_target = false, reduction = Reduction.Mean)) [ logp; q ]
            GradCheck.check "kl_div sum" (fun t -> F.kl_div (t[0], t[1], log_target = false, reduction = Reduction.Sum)) [ logp; q ]
            use logq = q.log ()
            GradCheck.check "kl_div log_target" (fun t -> F.kl_div (t[0], t[1], log_target = true, reduction = Reduction.Sum)) [ logp; logq ])

        torchTest "unfold" (fun () ->
            use x = normal [| 1L; 2L; 4L; 5L |] 26
            GradCheck.check "unfold k3 p1 s2" (fun t -> F.unfold (t[0], 3L, padding = 1L, stride = 2L)) [ x ]
            GradCheck.check "unfold k2 d2" (fun t -> F.unfold (t[0], 2L, dilation = 2L)) [ x ])

        torchTest "einsum" (fun () ->
            use a = normal [| 2L; 3L; 4L |] 27
            use b = normal [| 2L; 4L; 2L |] 28
            GradCheck.check "einsum bij,bjk->bik" (fun t -> torch.einsum ("bij,bjk->bik", t[0], t[1])) [ a; b ]
            use f = normal [| 2L; 3L; 2L; 2L |] 29                                        // (B, C, H, W)
            use w = normal [| 2L; 4L; 3L |] 30                                            // (B, K, C)
            GradCheck.check "einsum bchw,bkc->bkhw" (fun t -> torch.einsum ("bchw,bkc->bkhw", t[0], t[1])) [ f; w ]
            use sq = normal [| 2L; 3L; 3L |] 31
            GradCheck.check "einsum diagonal bii->bi" (fun t -> torch.einsum ("bii->bi", t[0])) [ sq ])

        torchTest "gather, scatter and scatter_add" (fun () ->
            use x = normal [| 3L; 4L |] 32
            use idx = longs [| 0L; 3L; 1L; 1L; 2L; 0L |] [| 3L; 2L |]                     // repeats allowed in gather
            let g = GradCheck.run (fun t -> t[0].gather (1L, t[1])) [| x; idx |]
            Expect.isTrue g.Passed $"gather: {g}"

            use self = normal [| 3L; 5L |] 33
            use uidx = longs [| 4L; 0L; 1L; 3L; 2L; 1L |] [| 3L; 2L |]                    // distinct per row: scatter is well defined
            use src = normal [| 3L; 2L |] 34
            let s = GradCheck.run (fun t -> t[0].scatter (1L, t[1], t[2])) [| self; uidx; src |]
            Expect.isTrue s.Passed $"scatter: {s}"

            use didx = longs [| 1L; 1L; 0L; 2L; 2L; 2L |] [| 3L; 2L |]                    // duplicates accumulate
            let sa = GradCheck.run (fun t -> t[0].scatter_add (1L, t[1], t[2])) [| self; didx; src |]
            Expect.isTrue sa.Passed $"scatter_add: {sa}")

        torchTest "pooling" (fun () ->
            use x = normal [| 1L; 2L; 5L; 6L |] 35                                        // distinct values: no ties at the max
            GradCheck.check "max_pool2d k3 s2 p1" (fun t -> F.max_pool2d (t[0], l2 3L 3L, l2 2L 2L, l2 1L 1L)) [ x ]
            GradCheck.check "adaptive_avg_pool2d (2, 4)" (fun t -> F.adaptive_avg_pool2d (t[0], l2 2L 4L)) [ x ]
            GradCheck.check "avg_pool2d k2" (fun t -> F.avg_pool2d (t[0], l2 2L 2L)) [ x ])
    ]
