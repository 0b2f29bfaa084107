/// Forward values of the ops the WSSS code relies on, through TorchSharp's API, against Debian's
/// python3-torch 1.13: each case in Fixtures/reference_ops.json ("cases", written by
/// tests/fixtures/make_torch_reference.py with python3-torch 1.13.0a0, float64, one thread) is
/// recomputed here from the same recorded inputs and compared within atol 1e-10 + rtol 1e-9
/// |expected| (int64 outputs exactly). The cases pin semantics, not only numbers: padding order,
/// align_corners, interpolation with a scale factor, grid_sample modes, unbiased std, topk/sort
/// order and indices, ignore_index, label smoothing, log_target. Every failure message quotes the
/// case's Python expression and its source.
module Hybrid.Torch.Tests.ReferenceTests

open System.Text.Json
open Expecto
open TorchSharp
open Hybrid.Torch.Tests.OneThread

type private Tensor = torch.Tensor
type private F = torch.nn.functional
type private Reduction = torch.nn.Reduction
type private InterpolationMode = torch.InterpolationMode
type private GridSampleMode = torch.GridSampleMode
type private GridSamplePaddingMode = torch.GridSamplePaddingMode

/// The recorded case's inputs by name (fresh tensors, inside the caller's dispose scope).
type private Inputs = string -> Tensor

let private pair (a: int64) (b: int64) = [| a; b |]

/// The F# twin of each recorded Python expression (quoted above each line), in the fixture's order.
let private ops : (string * (Inputs -> Tensor list)) list =
    [ // F.conv2d(x, w, b, padding=1)
      "conv2d_basic", fun x -> [ F.conv2d (x "x", x "w", x "b", padding = pair 1L 1L) ]                  // (1, 4, 5, 5)
      // F.conv2d(x, w, b, stride=2, padding=1, dilation=2, groups=2)
      "conv2d_stride_dilation_groups", fun x ->
          [ F.conv2d (x "x", x "w", x "b", strides = pair 2L 2L, padding = pair 1L 1L, dilation = pair 2L 2L, groups = 2L) ]
      // F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)
      "conv_transpose2d", fun x ->
          [ F.conv_transpose2d (x "x", x "w", x "b", strides = pair 2L 2L, padding = pair 1L 1L, output_padding = pair 1L 1L) ]
      // bn_train: rm, rv = rm.clone(), rv.clone();
      // y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5); returns (y, rm, rv)
      "batch_norm_train", fun x ->
          let rm, rv = x "rm", x "rv"                                                                    // (C), updated in place
          let y = F.batch_norm (x "x", rm, rv, x "w", x "b", training = true, momentum = 0.1, eps = 1e-5)
          [ y; rm; rv ]
      // F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5)
      "batch_norm_eval", fun x -> [ F.batch_norm (x "x", x "rm", x "rv", x "w", x "b", training = false, eps = 1e-5) ]
      // F.layer_norm(x, [5], w, b, eps=1e-5)
      "layer_norm", fun x -> [ F.layer_norm (x "x", [| 5L |], x "w", x "b", eps = 1e-5) ]
      // F.group_norm(x, 3, w, b, eps=1e-5)
      "group_norm", fun x -> [ F.group_norm (x "x", 3L, x "w", x "b", eps = 1e-5) ]
      // F.max_pool2d(x, 3, stride=2, padding=1)
      "max_pool2d", fun x -> [ F.max_pool2d (x "x", pair 3L 3L, strides = pair 2L 2L, padding = pair 1L 1L) ]
      // F.avg_pool2d(x, 2)
      "avg_pool2d", fun x -> [ F.avg_pool2d (x "x", pair 2L 2L) ]
      // F.adaptive_avg_pool2d(x, (3, 2))
      "adaptive_avg_pool2d", fun x -> [ F.adaptive_avg_pool2d (x "x", pair 3L 2L) ]
      // F.adaptive_max_pool2d(x, (2, 3))
      "adaptive_max_pool2d", fun x -> [ F.adaptive_max_pool2d (x "x", pair 2L 3L) ]
      // F.interpolate(x, size=(7, 9), mode='bilinear', align_corners=False)
      "interpolate_bilinear", fun x ->
          [ F.interpolate (x "x", size = pair 7L 9L, mode = InterpolationMode.Bilinear, align_corners = false) ]
      // F.interpolate(x, size=(7, 9), mode='bilinear', align_corners=True)
      "interpolate_bilinear_align", fun x ->
          [ F.interpolate (x "x", size = pair 7L 9L, mode = InterpolationMode.Bilinear, align_corners = true) ]
      // F.interpolate(x, scale_factor=1.5, mode='bilinear', align_corners=False): coordinates map
      // with 1/scale_factor (recompute_scale_factor False, TorchSharp's default), not in/out size
      "interpolate_bilinear_scale", fun x ->
          [ F.interpolate (x "x", scale_factor = [| 1.5; 1.5 |], mode = InterpolationMode.Bilinear, align_corners = false) ]
      // F.interpolate(x, scale_factor=1.4, mode='nearest'): output row 8 reads input row floor(8 / 1.4) = 5
      "interpolate_nearest_scale", fun x ->
          [ F.interpolate (x "x", scale_factor = [| 1.4; 1.4 |], mode = InterpolationMode.Nearest) ]
      // F.interpolate(x, size=(5, 7), mode='nearest')
      "interpolate_nearest", fun x -> [ F.interpolate (x "x", size = pair 5L 7L, mode = InterpolationMode.Nearest) ]
      // F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
      "grid_sample_bilinear_zeros", fun x ->
          [ F.grid_sample (x "x", x "grid", mode = GridSampleMode.Bilinear, padding_mode = GridSamplePaddingMode.Zeros, align_corners = false) ]
      // F.grid_sample(x, grid, mode='bilinear', padding_mode='border', align_corners=True)
      "grid_sample_bilinear_border_align", fun x ->
          [ F.grid_sample (x "x", x "grid", mode = GridSampleMode.Bilinear, padding_mode = GridSamplePaddingMode.Border, align_corners = true) ]
      // F.grid_sample(x, grid, mode='nearest', padding_mode='reflection', align_corners=False)
      "grid_sample_nearest_reflection", fun x ->
          [ F.grid_sample (x "x", x "grid", mode = GridSampleMode.Nearest, padding_mode = GridSamplePaddingMode.Reflection, align_corners = false) ]
      // F.unfold(x, 3, dilation=1, padding=1, stride=2)
      "unfold", fun x -> [ F.unfold (x "x", 3L, dilation = 1L, padding = 1L, stride = 2L) ]                  // (1, 18, 6)
      // F.pad(x, (2, 1, 1, 2), mode='reflect'): (left, right, top, bottom)
      "pad_reflect", fun x -> [ F.pad (x "x", [| 2L; 1L; 1L; 2L |], mode = PaddingModes.Reflect) ]
      // F.pad(x, (1, 2, 2, 0), mode='replicate')
      "pad_replicate", fun x -> [ F.pad (x "x", [| 1L; 2L; 2L; 0L |], mode = PaddingModes.Replicate) ]
      // F.pad(x, (1, 1, 0, 2), mode='constant', value=0.5)
      "pad_constant", fun x -> [ F.pad (x "x", [| 1L; 1L; 0L; 2L |], mode = PaddingModes.Constant, value = 0.5) ]
      // F.softmax(x, dim=1)
      "softmax", fun x -> [ F.softmax (x "x", 1L) ]
      // F.log_softmax(x, dim=1)
      "log_softmax", fun x -> [ F.log_softmax (x "x", 1L) ]
      // F.gelu(x): the exact (erf) form
      "gelu", fun x -> [ F.gelu (x "x") ]
      // torch.logsumexp(x, dim=1)
      "logsumexp", fun x -> [ (x "x").logsumexp 1L ]
      // torch.std(x, dim=(0, 2), unbiased=True)
      "std_unbiased_dims", fun x -> [ (x "x").std ([| 0L; 2L |], unbiased = true) ]
      // torch.var(x, dim=(1,), unbiased=False, keepdim=True)
      "var_biased_keepdim", fun x -> [ (x "x").var ([| 1L |], unbiased = false, keepdim = true) ]
      // torch.std(x): unbiased over all elements
      "std_all", fun x -> [ (x "x").std () ]
      // torch.topk(x, 3, dim=1, largest=True, sorted=True): (values, indices)
      "topk", fun x ->
          let struct (values, indices) = (x "x").topk (3, dim = 1, largest = true, sorted = true)
          [ values; indices ]
      // torch.topk(x, 2, dim=0, largest=False, sorted=True)
      "topk_smallest_dim0", fun x ->
          let struct (values, indices) = (x "x").topk (2, dim = 0, largest = false, sorted = true)
          [ values; indices ]
      // torch.sort(x, dim=1, descending=True)
      "sort_descending", fun x ->
          let struct (values, indices) = (x "x").sort (1L, descending = true)
          [ values; indices ]
      // torch.cumsum(x, dim=1)
      "cumsum", fun x -> [ (x "x").cumsum 1L ]
      // torch.norm(x, p=3, dim=1) (TorchSharp takes p as a float32; 3 is exact)
      "norm_p3_dim", fun x -> [ (x "x").norm (1, keepdim = false, p = 3.0f) ]
      // torch.einsum('bij,bjk->bik', a, b)
      "einsum_batched_matmul", fun x -> [ torch.einsum ("bij,bjk->bik", x "a", x "b") ]
      // torch.einsum('bchw,bkc->bkhw', f, w): class-weighted feature maps, the CAM contraction
      "einsum_class_maps", fun x -> [ torch.einsum ("bchw,bkc->bkhw", x "f", x "w") ]
      // F.cross_entropy(x, t, weight=wt, ignore_index=255, reduction='mean')
      "cross_entropy_weight_ignore", fun x ->
          [ F.cross_entropy (x "x", x "t", weight = x "wt", ignore_index = 255L, reduction = Reduction.Mean) ]
      // F.cross_entropy(x, t, weight=wt, ignore_index=255, reduction='none')
      "cross_entropy_none", fun x ->
          [ F.cross_entropy (x "x", x "t", weight = x "wt", ignore_index = 255L, reduction = Reduction.None) ]
      // F.cross_entropy(x, t, reduction='sum', label_smoothing=0.1)
      "cross_entropy_sum_smoothing", fun x ->
          [ F.cross_entropy (x "x", x "t", reduction = Reduction.Sum, label_smoothing = 0.1) ]
      // F.multilabel_soft_margin_loss(x, y)
      "multilabel_soft_margin", fun x -> [ F.multilabel_soft_margin_loss (x "x", x "y") ]
      // F.multilabel_soft_margin_loss(x, y, weight=wt, reduction='none')
      "multilabel_soft_margin_weight_none", fun x ->
          [ F.multilabel_soft_margin_loss (x "x", x "y", weight = x "wt", reduction = Reduction.None) ]
      // F.kl_div(x, y, reduction='mean'): PyTorch's log_target defaults to False, TorchSharp's to
      // true, so it is spelled out; 'mean' averages over all elements (not batchmean)
      "kl_div_mean", fun x -> [ F.kl_div (x "x", x "y", log_target = false, reduction = Reduction.Mean) ]
      // F.kl_div(x, y, reduction='sum', log_target=True)
      "kl_div_sum_log_target", fun x -> [ F.kl_div (x "x", x "y", log_target = true, reduction = Reduction.Sum) ]
      // F.binary_cross_entropy_with_logits(x, y, pos_weight=pw)
      "bce_with_logits_pos_weight", fun x -> [ F.binary_cross_entropy_with_logits (x "x", x "y", pos_weights = x "pw") ]
      // F.smooth_l1_loss(x, y, beta=0.5)
      "smooth_l1", fun x -> [ F.smooth_l1_loss (x "x", x "y", beta = 0.5) ]
      // F.nll_loss(x, t)
      "nll_loss", fun x -> [ F.nll_loss (x "x", x "t") ] ]

let private opTable = dict ops

let private fixtureCases () : JsonElement = Reference.entry "cases"

let private caseNames () : string list = [ for p in fixtureCases().EnumerateObject() -> p.Name ]

let private atol, rtol = 1e-10, 1e-9

/// Recomputes one fixture case and compares every output with the recorded one.
let private matches (name: string) =
    let ok, op = opTable.TryGetValue name
    Expect.isTrue ok $"fixture case '{name}' has no F# twin in ReferenceTests.ops"
    let c = fixtureCases().GetProperty name
    let expr, source = Reference.text c "expr", Reference.text c "source"
    let what = $"{name}: {expr} [{source}]"
    use _scope = torch.NewDisposeScope()
    let inputs = c.GetProperty "inputs"
    let outputs = op (fun input -> Reference.toTensor (inputs.GetProperty input))
    let expected = [ for o in c.GetProperty("outputs").EnumerateArray() -> o ]
    Expect.equal outputs.Length expected.Length $"{what}: number of outputs"
    List.zip expected outputs
    |> List.iteri (fun i (e, actual) ->
        let what = $"{what}, output {i}"
        match e.GetProperty("dtype").GetString() with
        | "int64" ->
            Expect.equal actual.dtype torch.ScalarType.Int64 $"{what}: dtype"
            Expect.sequenceEqual actual.shape (Reference.shape e) $"{what}: shape"
            let recorded = [| for v in e.GetProperty("data").EnumerateArray() -> v.GetInt64() |]
            use flat = actual.contiguous ()
            Expect.sequenceEqual (flat.data<int64>().ToArray()) recorded $"{what}: values"
        | "float64" ->
            Expect.equal actual.dtype torch.ScalarType.Float64 $"{what}: dtype"
            Reference.close e actual atol rtol what
        | other -> failtestf "%s: unexpected recorded dtype %s" what other)

[<Tests>]
let tests =
    testList "Reference" [
        testCase "every fixture case has an F# twin and every twin a fixture case" (fun () ->
            let recorded = caseNames ()
            let missing = recorded |> List.filter (opTable.ContainsKey >> not)
            Expect.isEmpty missing "fixture cases without an F# twin in ReferenceTests.ops"
            let orphans = ops |> List.map fst |> List.filter (fun n -> not (List.contains n recorded))
            Expect.isEmpty orphans "F# twins without a fixture case"
            Expect.equal (List.length ops) (opTable.Count) "each twin named once"
            Expect.equal recorded.Length 47 "the fixture's 47 op cases"
            Expect.stringStarts (Reference.text (Reference.root ()) "source") "Debian python3-torch 1.13" "fixture provenance")

        testList "matches python3-torch 1.13" [
            for name in caseNames () -> torchTest name (fun () -> matches name)
        ]
    ]
