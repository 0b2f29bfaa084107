namespace Hybrid.Torch;

/// <summary>How a loss reduces over elements; values are at::Reduction's.</summary>
public enum Reduction { None = 0, Mean = 1, Sum = 2 }

public enum InterpolationMode { Nearest, Bilinear }
public enum GridSampleMode { Bilinear = 0, Nearest = 1, Bicubic = 2 }
public enum GridPaddingMode { Zeros = 0, Border = 1, Reflection = 2 }
public enum PaddingMode { Constant = 0, Reflect = 1, Replicate = 2, Circular = 3 }

public partial class Tensor
{
    public Tensor softmax(long dim) => Wrap(Native.hy_softmax(Handle, dim), "softmax");
    public Tensor log_softmax(long dim) => Wrap(Native.hy_log_softmax(Handle, dim), "log_softmax");
}

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>torch.nn.functional: stateless layers and losses.</summary>
        public static partial class functional
        {
            private static TensorHandle H(Tensor? t) => t?.Handle ?? TensorHandle.Null;
            private static long[] Pair(long v) => new[] { v, v };

            // ---- convolution and linear ----------------------------------------------------
            /// <summary>x (B, Cin, H, W), weight (Cout, Cin/groups, kh, kw) -> (B, Cout, H', W').</summary>
            public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0, long dilation = 1, long groups = 1) =>
                conv2d(input, weight, bias, Pair(stride), Pair(padding), Pair(dilation), groups);

            public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding, long[] dilation, long groups = 1) =>
                Tensor.Wrap(Native.hy_conv2d(input.Handle, weight.Handle, H(bias), stride, padding, dilation, groups), "conv2d");

            /// <summary>weight (Cin, Cout/groups, kh, kw).</summary>
            public static Tensor conv_transpose2d(Tensor input, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0, long output_padding = 0, long groups = 1, long dilation = 1) =>
                Tensor.Wrap(Native.hy_conv_transpose2d(input.Handle, weight.Handle, H(bias), Pair(stride), Pair(padding), Pair(output_padding), groups, Pair(dilation)), "conv_transpose2d");

            /// <summary>x (..., in) @ weight(out, in)^T + bias.</summary>
            public static Tensor linear(Tensor input, Tensor weight, Tensor? bias = null) =>
                Tensor.Wrap(Native.hy_linear(input.Handle, weight.Handle, H(bias)), "linear");

            // ---- normalisation ---------------------------------------------------------------
            /// <summary>Batch norm over (B, C, ...); running stats updated in place when training.</summary>
            public static Tensor batch_norm(Tensor input, Tensor? running_mean, Tensor? running_var, Tensor? weight = null, Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5) =>
                Tensor.Wrap(Native.hy_batch_norm(input.Handle, H(weight), H(bias), H(running_mean), H(running_var), training, momentum, eps), "batch_norm");

            public static Tensor layer_norm(Tensor input, long[] normalized_shape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5) =>
                Tensor.Wrap(Native.hy_layer_norm(input.Handle, normalized_shape, normalized_shape.Length, H(weight), H(bias), eps), "layer_norm");

            public static Tensor group_norm(Tensor input, long num_groups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5) =>
                Tensor.Wrap(Native.hy_group_norm(input.Handle, num_groups, H(weight), H(bias), eps), "group_norm");

            public static Tensor dropout(Tensor input, double p = 0.5, bool training = true) =>
                Tensor.Wrap(Native.hy_dropout(input.Handle, p, training), "dropout");

            /// <summary>Drops whole channels (B, C, H, W).</summary>
            public static Tensor dropout2d(Tensor input, double p = 0.5, bool training = true) =>
                Tensor.Wrap(Native.hy_dropout2d(input.Handle, p, training), "dropout2d");

            // ---- pooling ---------------------------------------------------------------------
            public static Tensor max_pool2d(Tensor input, long kernel_size, long? stride = null, long padding = 0, long dilation = 1, bool ceil_mode = false) =>
                Tensor.Wrap(Native.hy_max_pool2d(input.Handle, Pair(kernel_size), Pair(stride ?? kernel_size), Pair(padding), Pair(dilation), ceil_mode), "max_pool2d");

            public static Tensor avg_pool2d(Tensor input, long kernel_size, long? stride = null, long padding = 0, bool ceil_mode = false, bool count_include_pad = true) =>
                Tensor.Wrap(Native.hy_avg_pool2d(input.Handle, Pair(kernel_size), Pair(stride ?? kernel_size), Pair(padding), ceil_mode, count_include_pad), "avg_pool2d");

            public static Tensor adaptive_avg_pool2d(Tensor input, long outH, long outW) =>
                Tensor.Wrap(Native.hy_adaptive_avg_pool2d(input.Handle, new[] { outH, outW }), "adaptive_avg_pool2d");
            public static Tensor adaptive_avg_pool2d(Tensor input, long size) => adaptive_avg_pool2d(input, size, size);

            public static Tensor adaptive_max_pool2d(Tensor input, long outH, long outW) =>
                Tensor.Wrap(Native.hy_adaptive_max_pool2d(input.Handle, new[] { outH, outW }), "adaptive_max_pool2d");
            public static Tensor adaptive_max_pool2d(Tensor input, long size) => adaptive_max_pool2d(input, size, size);

            // ---- resampling --------------------------------------------------------------------
            /// <summary>Resize (B, C, H, W) to `size` (h, w) or by `scale_factor`.</summary>
            public static Tensor interpolate(Tensor input, long[]? size = null, double? scale_factor = null, InterpolationMode mode = InterpolationMode.Nearest, bool align_corners = false)
            {
                if (input.dim() != 4) throw new ArgumentException($"interpolate expects (B, C, H, W), got a {input.dim()}-d tensor");
                long[] s;
                var scale = 0.0;   // none: the sizes define the coordinate map
                if (size is not null)
                {
                    if (size.Length != 2) throw new ArgumentException("interpolate: size must be (h, w)");
                    if (scale_factor is not null) throw new ArgumentException("interpolate: give size or scale_factor, not both");
                    s = size;
                }
                else if (scale_factor is { } f)
                {
                    if (!(f > 0)) throw new ArgumentException($"interpolate: scale_factor must be positive, got {f}");
                    var shp = input.shape;
                    s = new[] { (long)Math.Floor(shp[2] * f), (long)Math.Floor(shp[3] * f) };
                    // As PyTorch (recompute_scale_factor unset): coordinates map with 1/scale_factor,
                    // which differs from in/out size when H * scale_factor is not an integer.
                    // align_corners maps by sizes in PyTorch whatever the scale.
                    scale = f;
                }
                else throw new ArgumentException("interpolate: give size or scale_factor");
                return mode switch
                {
                    InterpolationMode.Nearest => Tensor.Wrap(Native.hy_upsample_nearest2d(input.Handle, s, scale, scale), "interpolate"),
                    _ => Tensor.Wrap(Native.hy_upsample_bilinear2d(input.Handle, s, align_corners, scale, scale), "interpolate"),
                };
            }

            /// <summary>Samples (B, C, H, W) at grid (B, Ho, Wo, 2) of (x, y) in [-1, 1].</summary>
            public static Tensor grid_sample(Tensor input, Tensor grid, GridSampleMode mode = GridSampleMode.Bilinear, GridPaddingMode padding_mode = GridPaddingMode.Zeros, bool align_corners = false) =>
                Tensor.Wrap(Native.hy_grid_sample(input.Handle, grid.Handle, (long)mode, (long)padding_mode, align_corners), "grid_sample");

            /// <summary>im2col: (B, C, H, W) -> (B, C*kh*kw, L).</summary>
            public static Tensor unfold(Tensor input, long kernel_size, long dilation = 1, long padding = 0, long stride = 1) =>
                Tensor.Wrap(Native.hy_unfold(input.Handle, Pair(kernel_size), Pair(dilation), Pair(padding), Pair(stride)), "unfold");

            /// <summary>Pads the last dims: pad = (left, right, top, bottom, ...) as F.pad.</summary>
            public static Tensor pad(Tensor input, long[] pad, PaddingMode mode = PaddingMode.Constant, double value = 0) =>
                Tensor.Wrap(Native.hy_pad(input.Handle, pad, pad.Length, (int)mode, value), "pad");

            public static Tensor one_hot(Tensor input, long num_classes = -1) =>
                Tensor.Wrap(Native.hy_one_hot(input.Handle, num_classes), "one_hot");

            public static Tensor embedding(Tensor input, Tensor weight) =>
                Tensor.Wrap(Native.hy_embedding(weight.Handle, input.Handle), "embedding");

            // ---- activations ---------------------------------------------------------------------
            public static Tensor relu(Tensor x) => x.relu();
            public static Tensor gelu(Tensor x) => x.gelu();
            public static Tensor sigmoid(Tensor x) => x.sigmoid();
            public static Tensor softmax(Tensor x, long dim) => x.softmax(dim);
            public static Tensor log_softmax(Tensor x, long dim) => x.log_softmax(dim);
            public static Tensor leaky_relu(Tensor x, double negative_slope = 0.01) => x.leaky_relu(negative_slope);
            public static Tensor softplus(Tensor x, double beta = 1, double threshold = 20) =>
                Tensor.Wrap(Native.hy_softplus(x.Handle, beta, threshold), "softplus");
            public static Tensor logsigmoid(Tensor x) => Tensor.Wrap(Native.hy_logsigmoid(x.Handle), "logsigmoid");

            /// <summary>L_p normalisation along dim (F.normalize).</summary>
            public static Tensor normalize(Tensor x, double p = 2, long dim = 1, double eps = 1e-12)
            {
                using var n = x.norm(p, new[] { dim }, keepdim: true);
                using var c = n.clamp_min(eps);
                return x / c;
            }

            // ---- losses --------------------------------------------------------------------------
            /// <summary>logits (N, C, ...) vs class indices (N, ...) (int64), optional class weights (C).</summary>
            public static Tensor cross_entropy(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100, Reduction reduction = Reduction.Mean, double label_smoothing = 0) =>
                Tensor.Wrap(Native.hy_cross_entropy(input.Handle, target.Handle, H(weight), (long)reduction, ignore_index, label_smoothing), "cross_entropy");

            /// <summary>log-probabilities (N, C, ...) vs class indices (N, ...).</summary>
            public static Tensor nll_loss(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100, Reduction reduction = Reduction.Mean) =>
                Tensor.Wrap(Native.hy_nll_loss(input.Handle, target.Handle, H(weight), (long)reduction, ignore_index), "nll_loss");

            /// <summary>probabilities vs targets in [0, 1].</summary>
            public static Tensor binary_cross_entropy(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean) =>
                Tensor.Wrap(Native.hy_binary_cross_entropy(input.Handle, target.Handle, H(weight), (long)reduction), "binary_cross_entropy");

            public static Tensor binary_cross_entropy_with_logits(Tensor input, Tensor target, Tensor? weight = null, Tensor? pos_weight = null, Reduction reduction = Reduction.Mean) =>
                Tensor.Wrap(Native.hy_binary_cross_entropy_with_logits(input.Handle, target.Handle, H(weight), H(pos_weight), (long)reduction), "binary_cross_entropy_with_logits");

            /// <summary>
            /// scores (N, C) vs multi-hot targets (N, C): mean over classes of the per-class
            /// logistic loss, then the reduction over N (as torch.nn.functional.multilabel_soft_margin_loss).
            /// </summary>
            public static Tensor multilabel_soft_margin_loss(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean)
            {
                if (input.dim() != 2) throw new ArgumentException($"multilabel_soft_margin_loss expects (N, C) scores, got [{string.Join(", ", input.shape)}]");
                using var scope = torch.NewDisposeScope();
                // -(y log s(x) + (1 - y) log s(-x)), averaged over C.
                var per = -(target * logsigmoid(input) + (1.0 - target) * logsigmoid(-input));   // (N, C)
                if (weight is not null) per = per * weight;
                var loss = per.mean(1);                                                               // (N)
                var r = reduction switch { Reduction.Mean => loss.mean(), Reduction.Sum => loss.sum(), _ => loss };
                return r.MoveToOuterDisposeScope();
            }

            /// <summary>KL(target || exp(input)) with input log-probabilities (as F.kl_div).</summary>
            public static Tensor kl_div(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, bool log_target = false) =>
                Tensor.Wrap(Native.hy_kl_div(input.Handle, target.Handle, (long)reduction, log_target), "kl_div");

            public static Tensor mse_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
                Tensor.Wrap(Native.hy_mse_loss(input.Handle, target.Handle, (long)reduction), "mse_loss");
            public static Tensor l1_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
                Tensor.Wrap(Native.hy_l1_loss(input.Handle, target.Handle, (long)reduction), "l1_loss");
            public static Tensor smooth_l1_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double beta = 1.0) =>
                Tensor.Wrap(Native.hy_smooth_l1_loss(input.Handle, target.Handle, (long)reduction, beta), "smooth_l1_loss");
        }
    }
}
