// Pointwise ops: unary maths, binary arithmetic with broadcasting, scalars, comparisons,
// logical ops, where/clamp, dtype and device conversion, and the in-place updates optimizers use.
#include "tensor_api.h"

using namespace hy;

HY_UNARY(neg, x.neg())
HY_UNARY(abs, x.abs())
HY_UNARY(exp, x.exp())
HY_UNARY(log, x.log())
HY_UNARY(log1p, x.log1p())
HY_UNARY(expm1, x.expm1())
HY_UNARY(sqrt, x.sqrt())
HY_UNARY(rsqrt, x.rsqrt())
HY_UNARY(reciprocal, x.reciprocal())
HY_UNARY(sigmoid, x.sigmoid())
HY_UNARY(tanh, x.tanh())
HY_UNARY(relu, x.relu())
HY_UNARY(gelu, at::gelu(x))
HY_UNARY(sin, x.sin())
HY_UNARY(cos, x.cos())
HY_UNARY(floor, x.floor())
HY_UNARY(ceil, x.ceil())
HY_UNARY(round, x.round())
HY_UNARY(sign, x.sign())
HY_UNARY(logical_not, x.logical_not())
HY_UNARY(isnan, x.isnan())
HY_UNARY(isfinite, x.isfinite())
HY_UNARY(clone, x.clone())
HY_UNARY(detach, x.detach())
HY_UNARY(contiguous, x.contiguous())

HY_BINARY(add, x.add(y))
HY_BINARY(sub, x.sub(y))
HY_BINARY(mul, x.mul(y))
HY_BINARY(div, x.div(y))
HY_BINARY(pow, x.pow(y))
HY_BINARY(remainder, x.remainder(y))
HY_BINARY(maximum, at::maximum(x, y))
HY_BINARY(minimum, at::minimum(x, y))
HY_BINARY(eq, x.eq(y))
HY_BINARY(ne, x.ne(y))
HY_BINARY(lt, x.lt(y))
HY_BINARY(le, x.le(y))
HY_BINARY(gt, x.gt(y))
HY_BINARY(ge, x.ge(y))
HY_BINARY(logical_and, x.logical_and(y))
HY_BINARY(logical_or, x.logical_or(y))
HY_BINARY(logical_xor, x.logical_xor(y))
HY_BINARY(matmul, x.matmul(y))
HY_BINARY(mm, x.mm(y))
HY_BINARY(bmm, x.bmm(y))

HY_SCALAR(add_scalar, x.add(s))
HY_SCALAR(sub_scalar, x.sub(s))
HY_SCALAR(rsub_scalar, at::rsub(x, s))
HY_SCALAR(mul_scalar, x.mul(s))
HY_SCALAR(div_scalar, x.div(s))
HY_SCALAR(rdiv_scalar, x.reciprocal().mul(s))
HY_SCALAR(pow_scalar, x.pow(s))
HY_SCALAR(rpow_scalar, at::pow(s, x))
HY_SCALAR(remainder_scalar, x.remainder(s))
HY_SCALAR(eq_scalar, x.eq(s))
HY_SCALAR(ne_scalar, x.ne(s))
HY_SCALAR(lt_scalar, x.lt(s))
HY_SCALAR(le_scalar, x.le(s))
HY_SCALAR(gt_scalar, x.gt(s))
HY_SCALAR(ge_scalar, x.ge(s))
HY_SCALAR(leaky_relu, at::leaky_relu(x, s))

HY_API TH hy_clamp(TH a, double lo, double hi, bool has_lo, bool has_hi) {
  HY_TRY(nullptr, {
    c10::optional<at::Scalar> l = has_lo ? c10::optional<at::Scalar>(lo) : c10::nullopt;
    c10::optional<at::Scalar> h = has_hi ? c10::optional<at::Scalar>(hi) : c10::nullopt;
    return wrap(a->clamp(l, h));
  })
}
HY_API TH hy_where(TH cond, TH a, TH b) { HY_TRY(nullptr, { return wrap(at::where(*cond, *a, *b)); }) }
HY_API TH hy_where_scalar(TH cond, TH a, double s) { HY_TRY(nullptr, { return wrap(at::where(*cond, *a, scalar(*a, s))); }) }
HY_API TH hy_masked_fill(TH a, TH mask, double value) { HY_TRY(nullptr, { return wrap(a->masked_fill(*mask, scalar(*a, value))); }) }
HY_API TH hy_to_dtype(TH a, int dtype) { HY_TRY(nullptr, { return wrap(a->to(static_cast<at::ScalarType>(dtype))); }) }
HY_API TH hy_to_device(TH a, int dt, int di) { HY_TRY(nullptr, { return wrap(a->to(device(dt, di))); }) }
HY_API int hy_allclose(TH a, TH b, double rtol, double atol, bool equal_nan) {
  HY_TRY(-1, { return at::allclose(*a, *b, rtol, atol, equal_nan) ? 1 : 0; })
}
HY_API int hy_equal(TH a, TH b) { HY_TRY(-1, { return at::equal(*a, *b) ? 1 : 0; }) }

// ---- in place (the caller's handle keeps pointing at the same storage) -------------------------
HY_API int hy_add_(TH a, TH b, double alpha) { HY_TRY(-1, { a->add_(*b, scalar(*a, alpha)); return 0; }) }
HY_API int hy_sub_(TH a, TH b) { HY_TRY(-1, { a->sub_(*b); return 0; }) }
HY_API int hy_mul_(TH a, TH b) { HY_TRY(-1, { a->mul_(*b); return 0; }) }
HY_API int hy_div_(TH a, TH b) { HY_TRY(-1, { a->div_(*b); return 0; }) }
HY_API int hy_add_scalar_(TH a, double s) { HY_TRY(-1, { a->add_(scalar(*a, s)); return 0; }) }
HY_API int hy_mul_scalar_(TH a, double s) { HY_TRY(-1, { a->mul_(scalar(*a, s)); return 0; }) }
HY_API int hy_addcmul_(TH a, TH t1, TH t2, double value) { HY_TRY(-1, { a->addcmul_(*t1, *t2, value); return 0; }) }
HY_API int hy_addcdiv_(TH a, TH t1, TH t2, double value) { HY_TRY(-1, { a->addcdiv_(*t1, *t2, value); return 0; }) }
HY_API int hy_lerp_(TH a, TH end, double weight) { HY_TRY(-1, { a->lerp_(*end, weight); return 0; }) }
HY_API int hy_copy_(TH a, TH src) { HY_TRY(-1, { a->copy_(*src); return 0; }) }
HY_API int hy_zero_(TH a) { HY_TRY(-1, { a->zero_(); return 0; }) }
HY_API int hy_fill_(TH a, double v) { HY_TRY(-1, { a->fill_(scalar(*a, v)); return 0; }) }
HY_API int hy_clamp_(TH a, double lo, double hi) { HY_TRY(-1, { a->clamp_(lo, hi); return 0; }) }
HY_API int hy_masked_fill_(TH a, TH mask, double v) { HY_TRY(-1, { a->masked_fill_(*mask, scalar(*a, v)); return 0; }) }
HY_API int hy_uniform_(TH a, double lo, double hi) { HY_TRY(-1, { a->uniform_(lo, hi); return 0; }) }
HY_API int hy_normal_(TH a, double mean, double std) { HY_TRY(-1, { a->normal_(mean, std); return 0; }) }
HY_API int hy_bernoulli_(TH a, double p) { HY_TRY(-1, { a->bernoulli_(p); return 0; }) }
