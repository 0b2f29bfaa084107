// Shape and indexing ops: views, joins, splits, gathers and scatters, padding, einsum.
#include "tensor_api.h"

using namespace hy;

HY_API TH hy_reshape(TH a, const int64_t* s, int n) { HY_TRY(nullptr, { return wrap(a->reshape(ints(s, n))); }) }
HY_API TH hy_view(TH a, const int64_t* s, int n) { HY_TRY(nullptr, { return wrap(a->view(ints(s, n))); }) }
HY_API TH hy_permute(TH a, const int64_t* s, int n) { HY_TRY(nullptr, { return wrap(a->permute(ints(s, n))); }) }
HY_API TH hy_expand(TH a, const int64_t* s, int n) { HY_TRY(nullptr, { return wrap(a->expand(ints(s, n))); }) }
HY_API TH hy_repeat(TH a, const int64_t* s, int n) { HY_TRY(nullptr, { return wrap(a->repeat(ints(s, n))); }) }
HY_API TH hy_flip(TH a, const int64_t* s, int n) { HY_TRY(nullptr, { return wrap(a->flip(ints(s, n))); }) }
HY_API TH hy_roll(TH a, const int64_t* shifts, const int64_t* dims, int n) {
  HY_TRY(nullptr, { return wrap(a->roll(ints(shifts, n), ints(dims, n))); })
}
HY_API TH hy_transpose(TH a, int64_t d0, int64_t d1) { HY_TRY(nullptr, { return wrap(a->transpose(d0, d1)); }) }
HY_API TH hy_squeeze(TH a, int64_t dim, bool has_dim) { HY_TRY(nullptr, { return wrap(has_dim ? a->squeeze(dim) : a->squeeze()); }) }
HY_API TH hy_unsqueeze(TH a, int64_t dim) { HY_TRY(nullptr, { return wrap(a->unsqueeze(dim)); }) }
HY_API TH hy_flatten(TH a, int64_t start, int64_t end) { HY_TRY(nullptr, { return wrap(a->flatten(start, end)); }) }
HY_API TH hy_narrow(TH a, int64_t dim, int64_t start, int64_t length) { HY_TRY(nullptr, { return wrap(a->narrow(dim, start, length)); }) }
HY_API TH hy_select(TH a, int64_t dim, int64_t index) { HY_TRY(nullptr, { return wrap(a->select(dim, index)); }) }
HY_API TH hy_slice(TH a, int64_t dim, int64_t start, int64_t end, int64_t step) {
  HY_TRY(nullptr, { return wrap(a->slice(dim, start, end, step)); })
}
HY_API TH hy_cat(TH* ts, int n, int64_t dim) { HY_TRY(nullptr, { return wrap(at::cat(list(ts, n), dim)); }) }
HY_API TH hy_stack(TH* ts, int n, int64_t dim) { HY_TRY(nullptr, { return wrap(at::stack(list(ts, n), dim)); }) }
HY_API int64_t hy_chunk(TH a, int64_t chunks, int64_t dim, TH* out, int64_t cap) {
  HY_TRY(-1, { return emit(a->chunk(chunks, dim), out, cap); })
}
HY_API int64_t hy_split(TH a, const int64_t* sizes, int n, int64_t dim, TH* out, int64_t cap) {
  HY_TRY(-1, { return emit(a->split_with_sizes(ints(sizes, n), dim), out, cap); })
}
HY_API TH hy_index_select(TH a, int64_t dim, TH index) { HY_TRY(nullptr, { return wrap(a->index_select(dim, *index)); }) }
HY_API TH hy_gather(TH a, int64_t dim, TH index) { HY_TRY(nullptr, { return wrap(a->gather(dim, *index)); }) }
HY_API TH hy_scatter(TH a, int64_t dim, TH index, TH src) { HY_TRY(nullptr, { return wrap(a->scatter(dim, *index, *src)); }) }
HY_API TH hy_scatter_value(TH a, int64_t dim, TH index, double v) { HY_TRY(nullptr, { return wrap(a->scatter(dim, *index, scalar(*a, v))); }) }
HY_API TH hy_scatter_add(TH a, int64_t dim, TH index, TH src) { HY_TRY(nullptr, { return wrap(a->scatter_add(dim, *index, *src)); }) }
HY_API TH hy_masked_select(TH a, TH mask) { HY_TRY(nullptr, { return wrap(a->masked_select(*mask)); }) }
HY_API TH hy_nonzero(TH a) { HY_TRY(nullptr, { return wrap(a->nonzero()); }) }
// Advanced indexing with one index tensor per leading dim (nullptr = take all): x[i0, i1, ...].
HY_API TH hy_index(TH a, TH* idx, int n) {
  HY_TRY(nullptr, {
    c10::List<c10::optional<at::Tensor>> l;
    for (int i = 0; i < n; ++i) l.push_back(opt(idx[i]));
    return wrap(at::index(*a, l));
  })
}
HY_API int hy_index_put_(TH a, TH* idx, int n, TH values, bool accumulate) {
  HY_TRY(-1, {
    c10::List<c10::optional<at::Tensor>> l;
    for (int i = 0; i < n; ++i) l.push_back(opt(idx[i]));
    a->index_put_(l, *values, accumulate);
    return 0;
  })
}
// mode: 0 constant, 1 reflect, 2 replicate, 3 circular (pads as in F.pad: last dim first).
HY_API TH hy_pad(TH a, const int64_t* pads, int n, int mode, double value) {
  HY_TRY(nullptr, {
    auto p = ints(pads, n);
    switch (mode) {
      case 0: return wrap(at::constant_pad_nd(*a, p, value));
      case 1: return wrap(n == 2 ? at::reflection_pad1d(*a, p) : at::reflection_pad2d(*a, p));
      case 2: return wrap(n == 2 ? at::replication_pad1d(*a, p) : at::replication_pad2d(*a, p));
      case 3: return wrap(at::_pad_circular(*a, p));
      default: throw std::invalid_argument("pad: unknown mode " + std::to_string(mode));
    }
  })
}
HY_API TH hy_einsum(const char* eq, TH* ts, int n) { HY_TRY(nullptr, { return wrap(at::einsum(eq, list(ts, n))); }) }
HY_API TH hy_one_hot(TH a, int64_t classes) { HY_TRY(nullptr, { return wrap(at::one_hot(*a, classes)); }) }
HY_API TH hy_tril(TH a, int64_t k) { HY_TRY(nullptr, { return wrap(a->tril(k)); }) }
HY_API TH hy_triu(TH a, int64_t k) { HY_TRY(nullptr, { return wrap(a->triu(k)); }) }
HY_API TH hy_cdist(TH a, TH b, double p) { HY_TRY(nullptr, { return wrap(at::cdist(*a, *b, p)); }) }
