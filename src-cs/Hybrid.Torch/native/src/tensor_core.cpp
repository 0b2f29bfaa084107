// Tensor lifetime, creation, properties, data transfer, autograd, RNG, threads, devices.
#include "tensor_api.h"
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/version.h>
#include <torch/cuda.h>
#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

using namespace hy;

HY_API void hy_free(TH a) { delete a; }

// ---- creation ---------------------------------------------------------------------------
#define HY_FACTORY(name, fn)                                                                  \
  HY_API TH hy_##name(const int64_t* shape, int ndim, int dtype, int dt, int di, bool rg) {  \
    HY_TRY(nullptr, { return wrap(torch::fn(ints(shape, ndim), options(dtype, dt, di, rg))); }) \
  }
HY_FACTORY(empty, empty)
HY_FACTORY(zeros, zeros)
HY_FACTORY(ones, ones)
HY_FACTORY(rand, rand)
HY_FACTORY(randn, randn)

HY_API TH hy_full(const int64_t* shape, int ndim, double value, int dtype, int dt, int di, bool rg) {
  HY_TRY(nullptr, { return wrap(torch::full(ints(shape, ndim), value, options(dtype, dt, di, rg))); })
}
HY_API TH hy_randint(int64_t low, int64_t high, const int64_t* shape, int ndim, int dtype, int dt, int di) {
  HY_TRY(nullptr, { return wrap(torch::randint(low, high, ints(shape, ndim), options(dtype, dt, di, false))); })
}
HY_API TH hy_arange(double start, double end, double step, int dtype, int dt, int di, bool rg) {
  HY_TRY(nullptr, { return wrap(torch::arange(start, end, step, options(dtype, dt, di, rg))); })
}
HY_API TH hy_linspace(double start, double end, int64_t steps, int dtype, int dt, int di, bool rg) {
  HY_TRY(nullptr, { return wrap(torch::linspace(start, end, steps, options(dtype, dt, di, rg))); })
}
HY_API TH hy_eye(int64_t n, int64_t m, int dtype, int dt, int di, bool rg) {
  HY_TRY(nullptr, { return wrap(torch::eye(n, m, options(dtype, dt, di, rg))); })
}
HY_API TH hy_randperm(int64_t n, int dtype, int dt, int di) {
  HY_TRY(nullptr, { return wrap(torch::randperm(n, options(dtype, dt, di, false))); })
}
// Copies `nbytes` of host memory into a new CPU tensor of the given shape and dtype.
HY_API TH hy_from_data(const void* data, int64_t nbytes, const int64_t* shape, int ndim, int dtype) {
  HY_TRY(nullptr, {
    at::Tensor t = at::empty(ints(shape, ndim), at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)));
    if (static_cast<int64_t>(t.nbytes()) != nbytes)
      throw std::invalid_argument("from_data: " + std::to_string(nbytes) + " bytes given, shape needs " +
                                  std::to_string(t.nbytes()));
    if (nbytes > 0) std::memcpy(t.data_ptr(), data, static_cast<size_t>(nbytes));
    return wrap(t);
  })
}
// Copies the tensor's elements (any device, any layout) into host memory of `nbytes`.
HY_API int hy_copy_to_host(TH a, void* dst, int64_t nbytes) {
  HY_TRY(-1, {
    at::Tensor t = a->detach().to(at::kCPU).contiguous();
    if (static_cast<int64_t>(t.nbytes()) != nbytes)
      throw std::invalid_argument("copy_to_host: buffer of " + std::to_string(nbytes) + " bytes, tensor has " +
                                  std::to_string(t.nbytes()));
    if (nbytes > 0) std::memcpy(dst, t.data_ptr(), static_cast<size_t>(nbytes));
    return 0;
  })
}
HY_API int hy_item_double(TH a, double* out) { HY_TRY(-1, { *out = a->item<double>(); return 0; }) }
HY_API int hy_item_long(TH a, int64_t* out) { HY_TRY(-1, { *out = a->item<int64_t>(); return 0; }) }

// ---- properties ---------------------------------------------------------------------------
HY_API int hy_dim(TH a) { HY_TRY(-1, { return static_cast<int>(a->dim()); }) }
HY_API int hy_shape(TH a, int64_t* out) { HY_TRY(-1, { auto s = a->sizes(); std::copy(s.begin(), s.end(), out); return 0; }) }
HY_API int hy_strides(TH a, int64_t* out) { HY_TRY(-1, { auto s = a->strides(); std::copy(s.begin(), s.end(), out); return 0; }) }
HY_API int64_t hy_numel(TH a) { HY_TRY(-1, { return a->numel(); }) }
HY_API int hy_dtype(TH a) { HY_TRY(-1, { return static_cast<int>(a->scalar_type()); }) }
HY_API int hy_device_type(TH a) { HY_TRY(-1, { return static_cast<int>(a->device().type()); }) }
HY_API int hy_device_index(TH a) { HY_TRY(-1, { return static_cast<int>(a->device().index()); }) }
HY_API int hy_is_contiguous(TH a) { HY_TRY(-1, { return a->is_contiguous() ? 1 : 0; }) }
HY_API int hy_defined(TH a) { HY_TRY(-1, { return a->defined() ? 1 : 0; }) }

// ---- autograd -------------------------------------------------------------------------------
HY_API int hy_requires_grad(TH a) { HY_TRY(-1, { return a->requires_grad() ? 1 : 0; }) }
HY_API int hy_set_requires_grad(TH a, bool v) { HY_TRY(-1, { a->set_requires_grad(v); return 0; }) }
HY_API int hy_is_leaf(TH a) { HY_TRY(-1, { return a->is_leaf() ? 1 : 0; }) }
// Returns 0 and sets *out (nullptr when the tensor has no gradient).
HY_API int hy_grad(TH a, TH* out) {
  HY_TRY(-1, { const at::Tensor& g = a->grad(); *out = g.defined() ? wrap(g) : nullptr; return 0; })
}
HY_API int hy_set_grad(TH a, TH g) {
  HY_TRY(-1, { a->mutable_grad() = g ? *g : at::Tensor(); return 0; })
}
HY_API int hy_backward(TH a, TH grad, bool retain_graph, bool create_graph) {
  HY_TRY(-1, {
    a->backward(grad ? *grad : at::Tensor(), retain_graph, create_graph);
    return 0;
  })
}
HY_API int hy_retain_grad(TH a) { HY_TRY(-1, { a->retain_grad(); return 0; }) }
HY_API int hy_grad_enabled() { return at::GradMode::is_enabled() ? 1 : 0; }
HY_API void hy_set_grad_enabled(bool v) { at::GradMode::set_enabled(v); }

// ---- RNG, threads, devices, version -----------------------------------------------------------
HY_API int hy_manual_seed(uint64_t seed) { HY_TRY(-1, { at::manual_seed(seed); return 0; }) }
HY_API TH hy_rng_get_state() {
  HY_TRY(nullptr, {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return wrap(gen.get_state());
  })
}
HY_API int hy_rng_set_state(TH state) {
  HY_TRY(-1, {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(*state);
    return 0;
  })
}
HY_API void hy_set_num_threads(int n) { at::set_num_threads(n); }
HY_API int hy_get_num_threads() { return at::get_num_threads(); }
HY_API void hy_set_num_interop_threads(int n) { try { at::set_num_interop_threads(n); } catch (...) {} }
// glibc's mallopt (the policy is chosen in managed code: HostAllocator.cs). Returns 1 when
// applied, 0 when refused or when the C library is not glibc.
HY_API int hy_mallopt(int param, int value) {
#if defined(__GLIBC__)
  return mallopt(param, value) == 1 ? 1 : 0;
#else
  return 0;
#endif
}
HY_API int hy_cuda_is_available() { HY_TRY(-1, { return torch::cuda::is_available() ? 1 : 0; }) }
HY_API int hy_cuda_device_count() { HY_TRY(-1, { return static_cast<int>(torch::cuda::device_count()); }) }
HY_API int hy_cuda_manual_seed_all(uint64_t seed) { HY_TRY(-1, { torch::cuda::manual_seed_all(seed); return 0; }) }
HY_API const char* hy_version() { return TORCH_VERSION; }
// libtorch's build configuration (BLAS, OpenMP, CPU capability ...); static storage.
HY_API const char* hy_config() {
  static std::string config;
  HY_TRY(nullptr, { if (config.empty()) config = at::show_config(); return config.c_str(); })
}
HY_API const char* hy_parallel_info() {
  static thread_local std::string info;
  HY_TRY(nullptr, { info = at::get_parallel_info(); return info.c_str(); })
}

// A second handle to the same tensor (same storage, same autograd identity).
HY_UNARY(alias, x)

// Replaces the data of `a` (shape, dtype, device may change) keeping its identity:
// optimizers and modules holding `a` see the new storage (Module.to(device)).
HY_API int hy_set_data(TH a, TH b) { HY_TRY(-1, { a->set_data(*b); return 0; }) }
