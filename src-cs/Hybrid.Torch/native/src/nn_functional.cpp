// torch.nn.functional: convolutions, normalisation, pooling, resampling, activations, losses.
#include "tensor_api.h"

using namespace hy;

HY_API TH hy_conv2d(TH x, TH w, TH b, const int64_t* stride, const int64_t* padding, const int64_t* dilation, int64_t groups) {
  HY_TRY(nullptr, { return wrap(at::conv2d(*x, *w, opt(b), ints(stride, 2), ints(padding, 2), ints(dilation, 2), groups)); })
}
HY_API TH hy_conv_transpose2d(TH x, TH w, TH b, const int64_t* stride, const int64_t* padding, const int64_t* output_padding,
                              int64_t groups, const int64_t* dilation) {
  HY_TRY(nullptr, {
    return wrap(at::conv_transpose2d(*x, *w, opt(b), ints(stride, 2), ints(padding, 2), ints(output_padding, 2), groups, ints(dilation, 2)));
  })
}
HY_API TH hy_linear(TH x, TH w, TH b) { HY_TRY(nullptr, { return wrap(at::linear(*x, *w, opt(b))); }) }
HY_API TH hy_batch_norm(TH x, TH w, TH b, TH rm, TH rv, bool training, double momentum, double eps) {
  HY_TRY(nullptr, { return wrap(at::batch_norm(*x, opt(w), opt(b), opt(rm), opt(rv), training, momentum, eps, true)); })
}
HY_API TH hy_layer_norm(TH x, const int64_t* shape, int n, TH w, TH b, double eps) {
  HY_TRY(nullptr, { return wrap(at::layer_norm(*x, ints(shape, n), opt(w), opt(b), eps)); })
}
HY_API TH hy_group_norm(TH x, int64_t groups, TH w, TH b, double eps) {
  HY_TRY(nullptr, { return wrap(at::group_norm(*x, groups, opt(w), opt(b), eps)); })
}
HY_API TH hy_dropout(TH x, double p, bool train) { HY_TRY(nullptr, { return wrap(at::dropout(*x, p, train)); }) }
HY_API TH hy_dropout2d(TH x, double p, bool train) { HY_TRY(nullptr, { return wrap(at::feature_dropout(*x, p, train)); }) }
HY_API TH hy_max_pool2d(TH x, const int64_t* k, const int64_t* s, const int64_t* p, const int64_t* d, bool ceil_mode) {
  HY_TRY(nullptr, { return wrap(at::max_pool2d(*x, ints(k, 2), ints(s, 2), ints(p, 2), ints(d, 2), ceil_mode)); })
}
HY_API TH hy_avg_pool2d(TH x, const int64_t* k, const int64_t* s, const int64_t* p, bool ceil_mode, bool count_include_pad) {
  HY_TRY(nullptr, { return wrap(at::avg_pool2d(*x, ints(k, 2), ints(s, 2), ints(p, 2), ceil_mode, count_include_pad)); })
}
HY_API TH hy_adaptive_avg_pool2d(TH x, const int64_t* out) { HY_TRY(nullptr, { return wrap(at::adaptive_avg_pool2d(*x, ints(out, 2))); }) }
HY_API TH hy_adaptive_max_pool2d(TH x, const int64_t* out) {
  HY_TRY(nullptr, { return wrap(std::get<0>(at::adaptive_max_pool2d(*x, ints(out, 2)))); })
}
// scale_h/scale_w > 0: the scale_factor the caller gave (PyTorch maps output to input
// coordinates with 1/scale then, not with in/out size); <= 0: none, sizes decide.
static c10::optional<double> scale(double s) { return s > 0 ? c10::optional<double>(s) : c10::nullopt; }
HY_API TH hy_upsample_nearest2d(TH x, const int64_t* size, double scale_h, double scale_w) {
  HY_TRY(nullptr, { return wrap(at::upsample_nearest2d(*x, ints(size, 2), scale(scale_h), scale(scale_w))); })
}
HY_API TH hy_upsample_bilinear2d(TH x, const int64_t* size, bool align_corners, double scale_h, double scale_w) {
  HY_TRY(nullptr, { return wrap(at::upsample_bilinear2d(*x, ints(size, 2), align_corners, scale(scale_h), scale(scale_w))); })
}
// mode: 0 bilinear, 1 nearest, 2 bicubic; padding: 0 zeros, 1 border, 2 reflection.
HY_API TH hy_grid_sample(TH x, TH grid, int64_t mode, int64_t padding, bool align_corners) {
  HY_TRY(nullptr, { return wrap(at::grid_sampler(*x, *grid, mode, padding, align_corners)); })
}
HY_API TH hy_unfold(TH x, const int64_t* k, const int64_t* d, const int64_t* p, const int64_t* s) {
  HY_TRY(nullptr, { return wrap(at::im2col(*x, ints(k, 2), ints(d, 2), ints(p, 2), ints(s, 2))); })
}
HY_API TH hy_embedding(TH w, TH idx) { HY_TRY(nullptr, { return wrap(at::embedding(*w, *idx)); }) }
HY_API TH hy_softmax(TH x, int64_t dim) { HY_TRY(nullptr, { return wrap(x->softmax(dim)); }) }
HY_API TH hy_log_softmax(TH x, int64_t dim) { HY_TRY(nullptr, { return wrap(x->log_softmax(dim)); }) }
HY_API TH hy_softplus(TH x, double beta, double threshold) { HY_TRY(nullptr, { return wrap(at::softplus(*x, beta, threshold)); }) }
HY_API TH hy_logsigmoid(TH x) { HY_TRY(nullptr, { return wrap(at::log_sigmoid(*x)); }) }

// ---- losses (reduction: 0 none, 1 mean, 2 sum, as at::Reduction) --------------------------------
HY_API TH hy_cross_entropy(TH x, TH target, TH weight, int64_t reduction, int64_t ignore_index, double label_smoothing) {
  HY_TRY(nullptr, { return wrap(at::cross_entropy_loss(*x, *target, opt(weight), reduction, ignore_index, label_smoothing)); })
}
HY_API TH hy_nll_loss(TH x, TH target, TH weight, int64_t reduction, int64_t ignore_index) {
  HY_TRY(nullptr, { return wrap(at::nll_loss_nd(*x, *target, opt(weight), reduction, ignore_index)); })
}
HY_API TH hy_binary_cross_entropy(TH x, TH y, TH weight, int64_t reduction) {
  HY_TRY(nullptr, { return wrap(at::binary_cross_entropy(*x, *y, opt(weight), reduction)); })
}
HY_API TH hy_binary_cross_entropy_with_logits(TH x, TH y, TH weight, TH pos_weight, int64_t reduction) {
  HY_TRY(nullptr, { return wrap(at::binary_cross_entropy_with_logits(*x, *y, opt(weight), opt(pos_weight), reduction)); })
}
HY_API TH hy_kl_div(TH x, TH y, int64_t reduction, bool log_target) {
  HY_TRY(nullptr, { return wrap(at::kl_div(*x, *y, reduction, log_target)); })
}
HY_API TH hy_mse_loss(TH x, TH y, int64_t reduction) { HY_TRY(nullptr, { return wrap(at::mse_loss(*x, *y, reduction)); }) }
HY_API TH hy_l1_loss(TH x, TH y, int64_t reduction) { HY_TRY(nullptr, { return wrap(at::l1_loss(*x, *y, reduction)); }) }
HY_API TH hy_smooth_l1_loss(TH x, TH y, int64_t reduction, double beta) {
  HY_TRY(nullptr, { return wrap(at::smooth_l1_loss(*x, *y, reduction, beta)); })
}
