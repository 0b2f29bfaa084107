// Helpers shared by the tensor entries: handle wrapping, option building, array views.
#pragma once
#include <ATen/ATen.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include "hybrid.h"

// A tensor handle is a heap-allocated at::Tensor (a ref-counted pointer to the impl).
typedef at::Tensor* TH;

namespace hy {
inline TH wrap(at::Tensor t) { return new at::Tensor(std::move(t)); }
inline at::IntArrayRef ints(const int64_t* p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }
inline c10::optional<at::Tensor> opt(TH h) {
  return h ? c10::optional<at::Tensor>(*h) : c10::optional<at::Tensor>();
}
inline at::Device device(int type, int index) {
  return at::Device(static_cast<c10::DeviceType>(type), static_cast<c10::DeviceIndex>(index));
}
inline at::TensorOptions options(int dtype, int dev_type, int dev_index, bool requires_grad) {
  return at::TensorOptions()
      .dtype(static_cast<at::ScalarType>(dtype))
      .device(device(dev_type, dev_index))
      .requires_grad(requires_grad);
}
// A double as the Scalar the tensor's dtype expects: integral tensors get an integral scalar
// when the value is whole (so `long_tensor + 1.0` stays int64, as in Python with `+ 1`).
inline at::Scalar scalar(const at::Tensor& t, double v) {
  if (!at::isFloatingType(t.scalar_type()) && t.scalar_type() != at::kBool && v == static_cast<double>(static_cast<int64_t>(v)))
    return at::Scalar(static_cast<int64_t>(v));
  return at::Scalar(v);
}
inline std::vector<at::Tensor> list(TH* hs, int n) {
  std::vector<at::Tensor> v;
  v.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v.push_back(*hs[i]);
  return v;
}
// Writes up to `cap` results into `out`; returns the count (or -1 when cap is too small).
inline int64_t emit(const std::vector<at::Tensor>& ts, TH* out, int64_t cap) {
  if (static_cast<int64_t>(ts.size()) > cap) {
    set_error("internal: result list longer than the buffer the caller passed");
    return -1;
  }
  for (size_t i = 0; i < ts.size(); ++i) out[i] = wrap(ts[i]);
  return static_cast<int64_t>(ts.size());
}
}  // namespace hy

// Entry-defining shorthands: each expands to one exported C function.
#define HY_UNARY(name, expr) \
  HY_API TH hy_##name(TH a) { HY_TRY(nullptr, { const at::Tensor& x = *a; return hy::wrap(expr); }) }
#define HY_BINARY(name, expr) \
  HY_API TH hy_##name(TH a, TH b) { HY_TRY(nullptr, { const at::Tensor& x = *a; const at::Tensor& y = *b; return hy::wrap(expr); }) }
#define HY_SCALAR(name, expr) \
  HY_API TH hy_##name(TH a, double v) { HY_TRY(nullptr, { const at::Tensor& x = *a; const at::Scalar s = hy::scalar(x, v); return hy::wrap(expr); }) }
