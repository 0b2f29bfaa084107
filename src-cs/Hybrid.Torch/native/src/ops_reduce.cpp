// Reductions over all elements or over dims (keepdim), sorting and selection.
#include "tensor_api.h"

using namespace hy;

HY_UNARY(sum_all, x.sum())
HY_UNARY(mean_all, x.mean())
HY_UNARY(max_all, x.max())
HY_UNARY(min_all, x.min())
HY_UNARY(all_all, x.all())
HY_UNARY(any_all, x.any())

HY_API TH hy_sum(TH a, const int64_t* dims, int n, bool keepdim) { HY_TRY(nullptr, { return wrap(a->sum(ints(dims, n), keepdim)); }) }
HY_API TH hy_mean(TH a, const int64_t* dims, int n, bool keepdim) { HY_TRY(nullptr, { return wrap(a->mean(ints(dims, n), keepdim)); }) }
HY_API TH hy_amax(TH a, const int64_t* dims, int n, bool keepdim) { HY_TRY(nullptr, { return wrap(a->amax(ints(dims, n), keepdim)); }) }
HY_API TH hy_amin(TH a, const int64_t* dims, int n, bool keepdim) { HY_TRY(nullptr, { return wrap(a->amin(ints(dims, n), keepdim)); }) }
HY_API TH hy_logsumexp(TH a, const int64_t* dims, int n, bool keepdim) { HY_TRY(nullptr, { return wrap(a->logsumexp(ints(dims, n), keepdim)); }) }
HY_API TH hy_prod(TH a, int64_t dim, bool keepdim) { HY_TRY(nullptr, { return wrap(a->prod(dim, keepdim)); }) }
HY_API TH hy_std(TH a, const int64_t* dims, int n, bool unbiased, bool keepdim) {
  HY_TRY(nullptr, { return wrap(n == 0 ? a->std(unbiased) : a->std(ints(dims, n), unbiased, keepdim)); })
}
HY_API TH hy_var(TH a, const int64_t* dims, int n, bool unbiased, bool keepdim) {
  HY_TRY(nullptr, { return wrap(n == 0 ? a->var(unbiased) : a->var(ints(dims, n), unbiased, keepdim)); })
}
HY_API TH hy_norm(TH a, double p, const int64_t* dims, int n, bool keepdim) {
  HY_TRY(nullptr, { return wrap(n == 0 ? a->norm(p) : a->norm(p, ints(dims, n), keepdim)); })
}
HY_API int hy_max_dim(TH a, int64_t dim, bool keepdim, TH* values, TH* indices) {
  HY_TRY(-1, { auto r = a->max(dim, keepdim); *values = wrap(std::get<0>(r)); *indices = wrap(std::get<1>(r)); return 0; })
}
HY_API int hy_min_dim(TH a, int64_t dim, bool keepdim, TH* values, TH* indices) {
  HY_TRY(-1, { auto r = a->min(dim, keepdim); *values = wrap(std::get<0>(r)); *indices = wrap(std::get<1>(r)); return 0; })
}
HY_API TH hy_argmax(TH a, int64_t dim, bool has_dim, bool keepdim) {
  HY_TRY(nullptr, { return wrap(has_dim ? a->argmax(dim, keepdim) : a->argmax()); })
}
HY_API TH hy_argmin(TH a, int64_t dim, bool has_dim, bool keepdim) {
  HY_TRY(nullptr, { return wrap(has_dim ? a->argmin(dim, keepdim) : a->argmin()); })
}
HY_API int hy_topk(TH a, int64_t k, int64_t dim, bool largest, bool sorted, TH* values, TH* indices) {
  HY_TRY(-1, { auto r = a->topk(k, dim, largest, sorted); *values = wrap(std::get<0>(r)); *indices = wrap(std::get<1>(r)); return 0; })
}
HY_API int hy_sort(TH a, int64_t dim, bool descending, TH* values, TH* indices) {
  HY_TRY(-1, { auto r = a->sort(dim, descending); *values = wrap(std::get<0>(r)); *indices = wrap(std::get<1>(r)); return 0; })
}
HY_API TH hy_cumsum(TH a, int64_t dim) { HY_TRY(nullptr, { return wrap(a->cumsum(dim)); }) }
HY_API TH hy_bincount(TH a, TH weights, int64_t minlength) {
  HY_TRY(nullptr, { return wrap(a->bincount(opt(weights), minlength)); })
}
