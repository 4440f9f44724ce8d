"""Forward mode: ``jvp_jaxpr`` rewrites a jaxpr into one that also computes tangents.

One JVP rule per first-order meta-operator (the ``JVP`` table): ``rule(primals,
tangents, **params) -> (primal outs, tangent outs)``.  Tangents known to be zero are
``Zero(aval)`` and are never materialised.  Rules of meta-operators that hold
sub-programs live with their family in ``xform/higher_order/``."""
from __future__ import annotations

import itertools
import math

import numpy as np

from primitives import dtypes, ops, sharding
from primitives.core import ClosedJaxpr, Jaxpr, Literal, ShapedArray
from primitives.irutil import hoist_consts
from primitives.ops import GatherDimensionNumbers

from ..core.checks import check_ir
from ..core.trace import with_sources
from .. import lax
from ..core import bind, Builder, trace_scope, Tracer
from .ad_util import (
    A, ad_state, add_tangents, aval_of, bcast_to, D, gather_scattered_windows, instantiate,
    is_diff_dtype,
    keep_dims_bcast, M, NEG, nondiff_error, NonDifferentiableError, S, tangent_aval,
    weak_const, Zero, zeros_like_aval)


# --- the JVP rules -------------------------------------------------------------------------
# rule(primals, tangents, **params) -> (primal outs, tangent outs); tangents may be Zero,
# but never all of them (the interpreter just re-binds the op then).
JVP: dict = {}

def zero_jvp(prim):
    def rule(primals, tangents, **params):
        outs = bind(prim, *primals, **params)
        outs = outs if prim.multiple_results else [outs]
        return outs, [Zero(aval_of(o)) for o in outs]
    return rule


def linear_jvp(prim):
    """JVP of an op linear in all its (differentiable) operands."""
    def rule(primals, tangents, **params):
        out = bind(prim, *primals, **params)
        ts = [instantiate(t) for t in tangents]
        return [out], [bind(prim, *ts, **params)]
    return rule


def _defunary(name, deriv):
    """``deriv(t, x, y) -> tangent``; ``y`` is the primal output."""
    prim = ops.unary[name]

    def rule(primals, tangents, **params):
        x, = primals
        t, = tangents
        y = bind(prim, x, **params)
        return [y], [deriv(t, x, y, **params)]
    JVP[prim] = rule


_SQRT_PI = math.sqrt(math.pi)

_defunary("neg", lambda t, x, y: NEG(t))
_defunary("exp", lambda t, x, y: M(t, y))
_defunary("exp2", lambda t, x, y: M(t, M(y, weak_const(y, math.log(2.0)))))
_defunary("log", lambda t, x, y: D(t, x))
_defunary("log1p", lambda t, x, y: D(t, A(x, 1.0)))
_defunary("expm1", lambda t, x, y: M(t, A(y, 1.0)))
_defunary("sqrt", lambda t, x, y: D(t, M(y, 2.0)))
_defunary("rsqrt", lambda t, x, y: M(t, D(M(y, -0.5), x)))
_defunary("cbrt", lambda t, x, y: M(t, M(lax.integer_pow(y, -2), 1.0 / 3.0)))
_defunary("sin", lambda t, x, y: M(t, lax.cos(x)))
_defunary("cos", lambda t, x, y: M(t, NEG(lax.sin(x))))
_defunary("tan", lambda t, x, y: M(t, A(M(y, y), 1.0)))
_defunary("asin", lambda t, x, y: M(t, lax.rsqrt(S(1.0, M(x, x)))))
_defunary("acos", lambda t, x, y: M(t, NEG(lax.rsqrt(S(1.0, M(x, x))))))
_defunary("atan", lambda t, x, y: D(t, A(M(x, x), 1.0)))
_defunary("sinh", lambda t, x, y: M(t, lax.cosh(x)))
_defunary("cosh", lambda t, x, y: M(t, lax.sinh(x)))
_defunary("tanh", lambda t, x, y: M(t, S(1.0, M(y, y))))
_defunary("asinh", lambda t, x, y: M(t, lax.rsqrt(A(M(x, x), 1.0))))
# x^2 - 1, as JAX (not (x - 1)(x + 1)): at x = -1 that is +0, so the slope is +inf
_defunary("acosh", lambda t, x, y: M(t, lax.rsqrt(S(M(x, x), 1.0))))
# 1/(1+x) * t/(1-x), as JAX: at x = 1 the second derivative is inf - inf = NaN, as JAX's
_defunary("atanh", lambda t, x, y: M(lax.reciprocal(A(x, 1.0)), D(t, S(1.0, x))))
_defunary("logistic", lambda t, x, y: M(t, M(y, S(1.0, y))))
_defunary("erf", lambda t, x, y: M(t, M(lax.exp(NEG(M(x, x))), 2.0 / _SQRT_PI)))
_defunary("erfc", lambda t, x, y: M(t, M(lax.exp(NEG(M(x, x))), -2.0 / _SQRT_PI)))
_defunary("erf_inv", lambda t, x, y: M(t, M(lax.exp(M(y, y)), _SQRT_PI / 2.0)))
_defunary("lgamma", lambda t, x, y: M(t, lax.digamma(x)))
_defunary("real", lambda t, x, y: lax.real(t))
_defunary("imag", lambda t, x, y: lax.imag(t))
_defunary("conj", lambda t, x, y: lax.conj(t))


def _trigamma(x):
    """polygamma(1, x) as a composite: recurrence up to x+10, the asymptotic series through
    B10 (error ~1e-14, enough for float64), reflection for x < 0.5.  As JAX's: inf at the
    poles (x a non-positive integer, -inf included), nan at +inf."""
    def positive(z):
        acc = None
        for k in range(10):
            term = lax.integer_pow(A(z, float(k)), -2)
            acc = term if acc is None else A(acc, term)
        w = A(z, 10.0)
        iw = lax.integer_pow(w, -1)
        iw2 = M(iw, iw)
        # 1/w + 1/(2w^2) + B2/w^3 + B4/w^5 + ... + B10/w^11  (B2 = 1/6, B4 = -1/30, ...)
        bern = 5.0 / 66.0
        for b in (-1.0 / 30.0, 1.0 / 42.0, -1.0 / 30.0, 1.0 / 6.0):
            bern = A(b, M(iw2, bern))
        series = M(iw, A(A(1.0, M(iw, 0.5)), M(iw2, bern)))
        return A(acc, series)
    small = lax.lt(x, weak_const(x, 0.5))
    xr = lax.select(small, S(1.0, x), x)
    pos = positive(xr)
    s = lax.sin(M(x, math.pi))
    refl = S(D(math.pi ** 2, M(s, s)), pos)
    out = lax.select(small, refl, pos)
    shape = aval_of(out).shape
    pole = lax.bitwise_and(lax.le(x, weak_const(x, 0.0)), lax.eq(lax.floor(x), x))
    # 1/z^2 with z = 0 at a pole (1 elsewhere): inf there, and its own derivative nan
    # (0/0), as polygamma(2, x)'s; finite on the side select discards
    zero, one = bcast_to(weak_const(x, 0.0), shape), bcast_to(weak_const(x, 1.0), shape)
    z = lax.select(pole, lax.select(lax.is_finite(x), S(x, lax.floor(x)), zero), one)
    out = lax.select(pole, D(1.0, M(z, z)), out)
    return lax.select(lax.eq(x, weak_const(x, math.inf)),
                      bcast_to(weak_const(x, math.nan), shape), out)


_defunary("digamma", lambda t, x, y: M(t, _trigamma(x)))


def _abs_deriv(t, x, y):
    if dtypes.is_complex(aval_of(x).dtype):
        # d|x| = Re(conj(x) t) / |x|
        safe = lax.select(lax.eq(y, bcast_to(weak_const(y, 0.0), aval_of(y).shape)),
                          bcast_to(weak_const(y, 1.0), aval_of(y).shape), y)
        return D(lax.real(M(t, lax.conj(x))), safe)
    # as JAX: t where x >= 0 (so at 0 and -0 too), else -t (at NaN too)
    return lax.select(lax.ge(x, weak_const(x, 0)), t, NEG(t))


_defunary("abs", _abs_deriv)


def _integer_pow_jvp(primals, tangents, *, y):
    x, = primals
    t, = tangents
    out = bind(ops.unary["integer_pow"], x, y=y)
    if y == 0:
        return [out], [Zero(aval_of(out))]
    if y == 1:
        return [out], [t]
    coef = lax.integer_pow(x, y - 1) if y != 2 else x
    return [out], [M(t, M(coef, float(y)))]


JVP[ops.unary["integer_pow"]] = _integer_pow_jvp
# rounding to a narrower format is treated as linear, as JAX does: the tangent is rounded too
JVP[ops.unary["reduce_precision"]] = linear_jvp(ops.unary["reduce_precision"])

for _n in ("sign", "floor", "ceil", "round", "is_finite", "not", "population_count", "clz",
           "stop_gradient"):
    JVP[ops.unary[_n]] = zero_jvp(ops.unary[_n])


# binary --------------------------------------------------------------------------------------

def _out_shape(*xs):
    shapes = [aval_of(x).shape for x in xs if aval_of(x).shape != ()]
    return shapes[0] if shapes else ()


def _defbinary(name, dx, dy):
    """``dx(t, x, y, z)``/``dy(t, x, y, z)`` give the tangent contributions."""
    prim = ops.binary[name]

    def rule(primals, tangents):
        x, y = primals
        tx, ty = tangents
        z = bind(prim, x, y)
        shape = aval_of(z).shape
        out = None
        if type(tx) is not Zero:
            out = bcast_to(dx(tx, x, y, z), shape)
        if type(ty) is not Zero:
            out = add_tangents(out, bcast_to(dy(ty, x, y, z), shape))
        return [z], [out]
    JVP[prim] = rule


_defbinary("add", lambda t, x, y, z: t, lambda t, x, y, z: t)
_defbinary("sub", lambda t, x, y, z: t, lambda t, x, y, z: NEG(t))
_defbinary("mul", lambda t, x, y, z: M(t, y), lambda t, x, y, z: M(x, t))
# the divisor's slope -t x / y^2 written as JAX's (-t * x) * y^-2: rounding then follows
# JAX's where cancellation amplifies it (higher derivatives of sin(y)/y near 0)
_defbinary("div", lambda t, x, y, z: D(t, y),
           lambda t, x, y, z: M(M(NEG(t), x), lax.integer_pow(y, -2)))
_defbinary("rem", lambda t, x, y, z: t,
           lambda t, x, y, z: M(t, NEG(M(lax.sign(D(x, y)), lax.floor(lax.abs(D(x, y)))))))


def _pow_dx(t, x, y, z):
    return M(t, M(y, lax.pow(x, S(y, 1.0))))


def _pow_dy(t, x, y, z):
    shape = aval_of(x).shape
    safe = lax.select(lax.eq(x, bcast_to(weak_const(x, 0.0), shape)), bcast_to(weak_const(x, 1.0), shape), x)
    return M(t, M(lax.log(safe), z))


_defbinary("pow", _pow_dx, _pow_dy)


def _atan2_d(sign):
    def d(t, x, y, z):
        den = A(M(x, x), M(y, y))
        num = y if sign > 0 else NEG(x)
        return M(t, D(num, den))
    return d


def _atan2_jvp(primals, tangents):
    x, y = primals
    tx, ty = tangents
    z = lax.atan2(x, y)
    shape = aval_of(z).shape
    den = A(M(x, x), M(y, y))
    out = None
    if type(tx) is not Zero:
        out = bcast_to(M(tx, D(y, den)), shape)
    if type(ty) is not Zero:
        out = add_tangents(out, bcast_to(M(ty, D(NEG(x), den)), shape))
    return [z], [out]


JVP[ops.binary["atan2"]] = _atan2_jvp


def _minmax_jvp(name):
    prim = ops.binary[name]
    cmp = lax.gt if name == "max" else lax.lt

    def rule(primals, tangents):
        x, y = primals
        tx, ty = tangents
        z = bind(prim, x, y)
        shape = aval_of(z).shape
        xb, yb = bcast_to(x, shape), bcast_to(y, shape)
        dt = aval_of(z).dtype
        one = bcast_to(Literal(np.ones((), dt)[()], ShapedArray((), dt)), shape)
        zero = bcast_to(Literal(np.zeros((), dt)[()], ShapedArray((), dt)), shape)
        half = bcast_to(Literal(np.asarray(0.5, dt)[()], ShapedArray((), dt)), shape)
        # ties split the tangent evenly, as JAX does
        eqm = lax.select(lax.eq(xb, yb), half, zero)
        out = None
        if type(tx) is not Zero:
            out = M(bcast_to(tx, shape), lax.select(cmp(xb, yb), one, eqm))
        if type(ty) is not Zero:
            out = add_tangents(out, M(bcast_to(ty, shape), lax.select(cmp(yb, xb), one, eqm)))
        return [z], [out]
    JVP[prim] = rule


_minmax_jvp("max")
_minmax_jvp("min")


def _complex_jvp(primals, tangents):
    x, y = primals
    tx, ty = tangents
    z = lax.complex(x, y)
    shape = aval_of(z).shape
    tx = instantiate(tx) if type(tx) is Zero else tx
    ty = instantiate(ty) if type(ty) is Zero else ty
    return [z], [lax.complex(bcast_to(tx, shape) if aval_of(tx).shape != shape else tx,
                             bcast_to(ty, shape) if aval_of(ty).shape != shape else ty)]


JVP[ops.binary["complex"]] = _complex_jvp


def _nextafter_jvp(primals, tangents):
    nondiff_error("nextafter")


JVP[ops.binary["nextafter"]] = _nextafter_jvp
for _n in ("and", "or", "xor", "shift_left", "shift_right_arithmetic", "shift_right_logical"):
    JVP[ops.binary[_n]] = zero_jvp(ops.binary[_n])
for _p in ops.compare.values():
    JVP[_p] = zero_jvp(_p)


# select, convert ------------------------------------------------------------------------------

def _select_n_jvp(primals, tangents):
    pred, *cases = primals
    out = bind(ops.select_n, pred, *cases)
    ts = tangents[1:]
    if all(type(t) is Zero for t in ts):
        return [out], [Zero(aval_of(out))]
    ts = [instantiate(t) for t in ts]
    return [out], [bind(ops.select_n, pred, *ts)]


JVP[ops.select_n] = _select_n_jvp


def _convert_jvp(primals, tangents, *, new_dtype, weak_type=False):
    x, = primals
    t, = tangents
    out = bind(ops.convert_element_type, x, new_dtype=new_dtype, weak_type=weak_type)
    if not is_diff_dtype(new_dtype) or not is_diff_dtype(aval_of(x).dtype):
        return [out], [Zero(aval_of(out))]
    return [out], [bind(ops.convert_element_type, t, new_dtype=new_dtype, weak_type=weak_type)]


JVP[ops.convert_element_type] = _convert_jvp
JVP[ops.bitcast_convert_type] = zero_jvp(ops.bitcast_convert_type)
JVP[ops.iota] = zero_jvp(ops.iota)
JVP[ops.rng_bit_generator] = zero_jvp(ops.rng_bit_generator)   # integer bits

# structural: linear in their (only) array operand -----------------------------------------------
for _p in (ops.broadcast_in_dim, ops.reshape, ops.transpose, ops.slice, ops.rev):
    JVP[_p] = linear_jvp(_p)


def _pad_jvp(primals, tangents, *, padding_config):
    out = bind(ops.pad, *primals, padding_config=padding_config)
    tx, tv = tangents
    tx = instantiate(tx)
    tv = instantiate(tv)
    return [out], [bind(ops.pad, tx, tv, padding_config=padding_config)]


JVP[ops.pad] = _pad_jvp


def _concatenate_jvp(primals, tangents, *, dimension):
    out = bind(ops.concatenate, *primals, dimension=dimension)
    return [out], [bind(ops.concatenate, *[instantiate(t) for t in tangents], dimension=dimension)]


JVP[ops.concatenate] = _concatenate_jvp


def _dynamic_slice_jvp(primals, tangents, *, slice_sizes):
    x, *idx = primals
    out = bind(ops.dynamic_slice, x, *idx, slice_sizes=slice_sizes)
    t = tangents[0]
    if type(t) is Zero:
        return [out], [Zero(aval_of(out))]
    return [out], [bind(ops.dynamic_slice, t, *idx, slice_sizes=slice_sizes)]


JVP[ops.dynamic_slice] = _dynamic_slice_jvp


def _dynamic_update_slice_jvp(primals, tangents):
    x, u, *idx = primals
    out = bind(ops.dynamic_update_slice, x, u, *idx)
    tx, tu = tangents[:2]
    if type(tx) is Zero and type(tu) is Zero:
        return [out], [Zero(aval_of(out))]
    return [out], [bind(ops.dynamic_update_slice, instantiate(tx), instantiate(tu), *idx)]


JVP[ops.dynamic_update_slice] = _dynamic_update_slice_jvp


def _gather_jvp(primals, tangents, **params):
    x, idx = primals
    out = bind(ops.gather, x, idx, **params)
    t = tangents[0]
    if type(t) is Zero:
        return [out], [Zero(aval_of(out))]
    return [out], [bind(ops.gather, t, idx, **params)]


JVP[ops.gather] = _gather_jvp


def _scatter_linear_jvp(name):
    prim = ops.scatter[name]

    def rule(primals, tangents, **params):
        x, idx, u = primals
        out = bind(prim, x, idx, u, **params)
        tx, _, tu = tangents
        if type(tx) is Zero and type(tu) is Zero:
            return [out], [Zero(aval_of(out))]
        return [out], [bind(prim, instantiate(tx), idx, instantiate(tu), **params)]
    JVP[prim] = rule


_scatter_linear_jvp("scatter_add")


def _scatter_jvp(primals, tangents, *, dimension_numbers, **params):
    """With repeated indices, one update wins each place (XLA's choice): its tangent is
    the one carried, as in JAX.  Which one is found by scattering the updates' ids and
    gathering them back; the tangent is then a scatter-add of the winners' tangents onto
    the places of ``x`` no update wrote (linear in both, so it transposes)."""
    x, idx, u = primals
    prim = ops.scatter["scatter"]
    dn = dimension_numbers
    out = bind(prim, x, idx, u, dimension_numbers=dn, **params)
    tx, _, tu = tangents
    if type(tx) is Zero and type(tu) is Zero:
        return [out], [Zero(aval_of(out))]
    if params.get("unique_indices"):
        return [out], [bind(prim, instantiate(tx), idx, instantiate(tu), dimension_numbers=dn,
                            **params)]
    xa, ua = aval_of(x), aval_of(u)
    batch = tuple(d for d in range(ua.ndim) if d not in dn.update_window_dims)
    counts = [ua.shape[d] for d in batch]
    i32 = np.dtype(np.int32)
    ids = lax.add(lax.iota(i32, int(np.prod(counts, dtype=np.int64))), np.int32(1))
    ids = bind(ops.broadcast_in_dim, lax.reshape(ids, tuple(counts)), shape=ua.shape,
               broadcast_dimensions=batch)
    winner = bind(prim, lax.full(xa.shape, 0, i32), idx, ids, dimension_numbers=dn, **params)
    won = lax.eq(gather_scattered_windows(winner, idx, ShapedArray(ua.shape, i32), xa.shape,
                                          dn, **params), ids)
    kept = lax.eq(winner, bcast_to(Literal(np.int32(0), ShapedArray((), i32)), xa.shape))
    t_x = lax.select(kept, instantiate(tx), zeros_like_aval(xa))
    t_u = lax.select(won, instantiate(tu), zeros_like_aval(ua))
    return [out], [bind(ops.scatter["scatter_add"], t_x, idx, t_u, dimension_numbers=dn,
                        **params)]


JVP[ops.scatter["scatter"]] = _scatter_jvp


def _scatter_mul_jvp(primals, tangents, **params):
    x, idx, u = primals
    prim = ops.scatter["scatter_mul"]
    out = bind(prim, x, idx, u, **params)
    tx, _, tu = tangents
    res = None
    if type(tx) is not Zero:
        res = bind(prim, tx, idx, u, **params)
    if type(tu) is not Zero:
        if not params.get("unique_indices"):
            nondiff_error("scatter_mul", " with respect to its updates unless unique_indices=True")
        # out[j] = x[j] * u[i]: d out = x * scatter(0, tu)
        placed = bind(ops.scatter["scatter"], zeros_like_aval(aval_of(x)), idx, tu, **params)
        res = add_tangents(res, M(x, placed))
    return [out], [res]


JVP[ops.scatter["scatter_mul"]] = _scatter_mul_jvp


def _scatter_minmax_jvp(name):
    """As JAX's: where several values contend for one position (the operand's and the
    updates scattered there), the tangent is the average of the tangents of those equal to
    the result."""
    prim = ops.scatter[name]
    add_at = ops.scatter["scatter_add"]

    def rule(primals, tangents, **params):
        x, idx, u = primals
        out = bind(prim, x, idx, u, **params)
        tx, _, tu = tangents
        if type(tx) is Zero and type(tu) is Zero:
            return [out], [Zero(aval_of(out))]
        tx, tu = instantiate(tx), instantiate(tu)
        dn, xa, ua = params["dimension_numbers"], aval_of(x), aval_of(u)
        gdn = GatherDimensionNumbers(dn.update_window_dims, dn.inserted_window_dims,
                                     dn.scatter_dims_to_operand_dims, dn.operand_batching_dims,
                                     dn.scatter_indices_batching_dims)
        windows = iter(dn.update_window_dims)
        sizes = tuple(1 if i in dn.inserted_window_dims or i in dn.operand_batching_dims
                      else ua.shape[next(windows)] for i in range(xa.ndim))

        def at(a):   # a's values at the positions each update goes to
            return bind(ops.gather, a, idx, dimension_numbers=gdn, slice_sizes=sizes,
                        indices_are_sorted=params["indices_are_sorted"],
                        unique_indices=params["unique_indices"])

        def count(a):   # per update, the sum of `a` over the updates at its position
            return at(bind(add_at, zeros_like_aval(xa), idx, a, **params))
        target = at(out)
        one, zero = bcast_to(weak_const(u, 1), ua.shape), zeros_like_aval(ua)
        # an update out of bounds is dropped, but `at` clamps: its coefficients are zeroed
        ok = _scatter_in_bounds(idx, dn, xa.shape, sizes, ua.shape)
        won = lax.bitwise_and(ok, lax.eq(u, target))     # updates equal to the result
        kept = lax.eq(at(x), target)                     # ... and the operand, if it is
        n_won = count(lax.select(won, one, zero))
        n_refs = lax.max(count(lax.select(ok, one, zero)), one)
        share = lax.select(kept, D(one, A(n_won, one)), D(one, lax.max(n_won, one)))
        u_coef = lax.select(won, share, zero)
        x_coef = lax.select(ok, D(A(weak_const(u, -1), lax.select(kept, D(one, A(n_won, one)),
                                                                  zero)), n_refs), zero)
        t_up = A(M(at(tx), x_coef), M(tu, u_coef))
        return [out], [bind(add_at, tx, idx, t_up, **params)]
    JVP[prim] = rule


def _scatter_in_bounds(idx, dn, operand_shape, sizes, updates_shape):
    """Per element of the updates, whether XLA's scatter applies it (its window lies in the
    operand), as a bool array of the updates' shape."""
    ia = aval_of(idx)
    ok = None
    for j, d in enumerate(dn.scatter_dims_to_operand_dims):
        c = lax.reshape(lax.slice_in_dim(idx, j, j + 1, 1, ia.ndim - 1), ia.shape[:-1])
        inb = lax.bitwise_and(lax.ge(c, 0), lax.le(c, operand_shape[d] - sizes[d]))
        ok = inb if ok is None else lax.bitwise_and(ok, inb)
    scatter_dims = tuple(i for i in range(len(updates_shape)) if i not in dn.update_window_dims)
    if ok is None:
        return bcast_to(Literal(np.bool_(True), ShapedArray((), np.dtype(bool))), updates_shape)
    return lax.broadcast_in_dim(ok, tuple(updates_shape), scatter_dims)


_scatter_minmax_jvp("scatter_min")
_scatter_minmax_jvp("scatter_max")


# reductions ------------------------------------------------------------------------------------------

def _reduce_sum_jvp(primals, tangents, *, axes):
    return [bind(ops.reduce["reduce_sum"], primals[0], axes=axes)], \
        [bind(ops.reduce["reduce_sum"], tangents[0], axes=axes)]


JVP[ops.reduce["reduce_sum"]] = _reduce_sum_jvp


def _reduce_chooser_jvp(name):
    prim = ops.reduce[name]

    def rule(primals, tangents, *, axes):
        x, = primals
        t, = tangents
        out = bind(prim, x, axes=axes)
        shape = aval_of(x).shape
        loc = lax.eq(x, keep_dims_bcast(out, shape, axes))
        dt = aval_of(x).dtype
        locf = bind(ops.convert_element_type, loc, new_dtype=dt, weak_type=False)
        counts = lax.reduce_sum(locf, axes)
        return [out], [D(lax.reduce_sum(M(t, locf), axes), counts)]
    JVP[prim] = rule


_reduce_chooser_jvp("reduce_max")
_reduce_chooser_jvp("reduce_min")


def _scalar_literal(v, dt):
    return Literal(np.asarray(v, dt)[()], ShapedArray((), dt))


def _reduce_prod_jvp(primals, tangents, *, axes):
    """As JAX: the JVP of a pairwise product tree over the reduced elements (first half
    times second half, an odd one out paired with 1 of tangent 0), so which products of 0
    and inf turn a tangent NaN, and every higher derivative, are JAX's; O(n) work."""
    x, = primals
    t = instantiate(tangents[0], aval_of(x))
    a = aval_of(x)
    kept = [d for d in range(a.ndim) if d not in axes]
    kshape = [a.shape[d] for d in kept]
    n = int(np.prod([a.shape[d] for d in axes], dtype=np.int64))
    if n == 0:
        out = bind(ops.reduce["reduce_prod"], x, axes=axes)
        return [out], [Zero(aval_of(out))]
    perm = list(axes) + kept
    x = lax.reshape(lax.transpose(x, perm), [n] + kshape)
    t = lax.reshape(lax.transpose(t, perm), [n] + kshape)
    one, zero = _scalar_literal(1, a.dtype), _scalar_literal(0, a.dtype)
    while n > 1:
        n1 = (n + 1) // 2
        x1, x2 = lax.slice_in_dim(x, 0, n1), lax.slice_in_dim(x, n1, n)
        t1, t2 = lax.slice_in_dim(t, 0, n1), lax.slice_in_dim(t, n1, n)
        if n - n1 != n1:
            cfg = [(0, 1, 0)] + [(0, 0, 0)] * len(kshape)
            x2, t2 = lax.pad(x2, one, cfg), lax.pad(t2, zero, cfg)
        x, t = lax.mul(x1, x2), lax.add(lax.mul(t1, x2), lax.mul(x1, t2))
        n = n1
    return [lax.reshape(x, kshape)], [lax.reshape(t, kshape)]


JVP[ops.reduce["reduce_prod"]] = _reduce_prod_jvp
for _n in ("reduce_and", "reduce_or", "reduce_xor", "argmax", "argmin"):
    JVP[ops.reduce[_n]] = zero_jvp(ops.reduce[_n])

JVP[ops.reduce_window["reduce_window_sum"]] = linear_jvp(ops.reduce_window["reduce_window_sum"])


def _reduce_window_chooser_jvp(name):
    prim = ops.reduce_window[name]

    def rule(primals, tangents, *, window_dimensions, window_strides, padding, base_dilation,
             window_dilation):
        x, = primals
        t, = tangents
        out = bind(prim, x, window_dimensions=window_dimensions, window_strides=window_strides,
                   padding=padding, base_dilation=base_dilation, window_dilation=window_dilation)
        oshape = aval_of(out).shape
        a = aval_of(x)
        if 0 in oshape:
            return [out], [Zero(aval_of(out))]
        init = -np.inf if name == "reduce_window_max" else np.inf
        if not dtypes.is_float(a.dtype):
            init = (dtypes.iinfo(a.dtype).min if name == "reduce_window_max"
                    else dtypes.iinfo(a.dtype).max)
        cfg = [(lo, hi, bd - 1) for (lo, hi), bd in zip(padding, base_dilation)]
        x_init = _scalar_literal(init, a.dtype)
        xp = lax.pad(x, x_init, cfg)
        tp = lax.pad(t, _scalar_literal(0, a.dtype), cfg)
        # as JAX (XLA's reduce_window of (value, tangent) pairs): walk each window in
        # row-major order from (init, 0), keeping the pair so far while it is >= (max) or
        # <= (min) the next; so ties take the first, and a NaN gives way to what follows
        keep = lax.ge if name == "reduce_window_max" else lax.le
        key, res = lax.broadcast_in_dim(x_init, oshape, ()), zeros_like_aval(aval_of(out))
        for off in itertools.product(*[range(w) for w in window_dimensions]):
            start = [o * wd for o, wd in zip(off, window_dilation)]
            limit = [s + (n - 1) * st + 1 for s, n, st in zip(start, oshape, window_strides)]
            v = lax.slice(xp, start, limit, window_strides)
            tv = lax.slice(tp, start, limit, window_strides)
            which = keep(key, v)
            key, res = lax.select(which, key, v), lax.select(which, res, tv)
        return [out], [res]
    JVP[prim] = rule


_reduce_window_chooser_jvp("reduce_window_max")
_reduce_window_chooser_jvp("reduce_window_min")


# contractions ---------------------------------------------------------------------------------------

def _bilinear_jvp(prim):
    def rule(primals, tangents, **params):
        x, y = primals
        tx, ty = tangents
        out = bind(prim, x, y, **params)
        res = None
        if type(tx) is not Zero:
            res = bind(prim, tx, y, **params)
        if type(ty) is not Zero:
            res = add_tangents(res, bind(prim, x, ty, **params))
        return [out], [res]
    return rule


JVP[ops.dot_general] = _bilinear_jvp(ops.dot_general)
JVP[ops.conv_general_dilated] = _bilinear_jvp(ops.conv_general_dilated)


def _take_along(t, perm, dimension):
    """``t`` permuted along ``dimension`` by the integer array ``perm`` (a gather)."""
    a = aval_of(t)
    nd = a.ndim
    cols = []
    for d in range(nd):
        if d == dimension:
            c = perm
        else:
            c = lax.broadcasted_iota(aval_of(perm).dtype, a.shape, d)
        cols.append(lax.reshape(c, a.shape + (1,)))
    idx = lax.concatenate(cols, nd) if nd > 1 else cols[0]
    dn = GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=tuple(range(nd)),
                                start_index_map=tuple(range(nd)))
    return bind(ops.gather, t, idx, dimension_numbers=dn, slice_sizes=(1,) * nd,
                indices_are_sorted=False, unique_indices=True)


def _sort_jvp(primals, tangents, *, dimension, is_stable, num_keys):
    shape = aval_of(primals[0]).shape
    iota = lax.broadcasted_iota(np.int32, shape, dimension)
    outs = bind(ops.sort, *primals, iota, dimension=dimension, is_stable=is_stable,
                num_keys=num_keys)
    perm = outs[-1]
    touts = [Zero(aval_of(o)) if type(t) is Zero else _take_along(t, perm, dimension)
             for o, t in zip(outs[:-1], tangents)]
    return outs[:-1], touts


JVP[ops.sort] = _sort_jvp


# --- the JVP rewrite ---------------------------------------------------------------------------------

def jvp_jaxpr(closed: ClosedJaxpr, nonzeros, instantiate_out=True, mode="rev", primal_map=None):
    """Rewrite ``closed`` into a jaxpr ``(primals..., nonzero tangents...) ->
    (primal outs..., tangent outs...)``.

    ``nonzeros[i]`` says whether input ``i`` has a tangent.  With ``instantiate_out``
    every output has a tangent (zeros materialised); otherwise only outputs whose
    tangent is not symbolically zero do.  Returns ``(jaxpr, out_nonzeros)``.
    ``primal_map``, if a dict, receives ``original var -> new primal var``.
    """
    jaxpr = closed.jaxpr
    b = Builder()
    prev_mode = ad_state.mode
    ad_state.mode = mode
    try:
        with trace_scope(b):
            primals = [b.new_arg(v.aval) for v in jaxpr.invars]
            tangents = [b.new_arg(tangent_aval(v.aval)) if nz else Zero(tangent_aval(v.aval))
                        for v, nz in zip(jaxpr.invars, nonzeros)]
            outs, touts = _jvp_eval(jaxpr, closed.consts, primals, tangents, primal_map)
            if instantiate_out is True:
                instantiate_out = [True] * len(touts)
            elif instantiate_out is False:
                instantiate_out = [False] * len(touts)
            out_nz = []
            final_t = []
            for t, o, inst in zip(touts, jaxpr.outvars, instantiate_out):
                if type(t) is Zero:
                    if inst:
                        final_t.append(zeros_like_aval(t.aval))
                        out_nz.append(True)
                    else:
                        out_nz.append(False)
                else:
                    final_t.append(t)
                    out_nz.append(True)
            result = b.to_jaxpr(list(outs) + final_t)
    finally:
        ad_state.mode = prev_mode
    check_ir(result, "jvp")
    # invars: drop tangent inputs that were zero (never created)
    return result, out_nz


def _jvp_eval(jaxpr: Jaxpr, consts, primals, tangents, primal_map=None):
    penv: dict = {}
    tenv: dict = {}

    def readp(a):
        return a if type(a) is Literal else penv[a]

    def readt(a):
        return Zero(a.aval) if type(a) is Literal else tenv[a]

    for v, c in zip(jaxpr.constvars, consts):
        penv[v] = c
        tenv[v] = Zero(v.aval)
    for v, p, t in zip(jaxpr.invars, primals, tangents):
        penv[v] = p
        tenv[v] = t if is_diff_dtype(v.aval.dtype) else Zero(v.aval)
    for eqn in with_sources(jaxpr.eqns):   # what a rule emits keeps eqn's source
        ps = [readp(a) for a in eqn.invars]
        ts = [readt(a) for a in eqn.invars]
        prim = eqn.prim
        if all(type(t) is Zero for t in ts):
            outs = bind(prim, *ps, **eqn.params)
            outs = outs if prim.multiple_results else [outs]
            touts = [Zero(v.aval) for v in eqn.outvars]
        else:
            rule = JVP.get(prim)
            if rule is None:
                raise NonDifferentiableError(
                    f"no differentiation rule for meta-operator {prim.name!r}"
                    f"{' (at ' + str(eqn.source) + ')' if eqn.source else ''}")
            ad_state.eqn = eqn
            try:
                outs, touts = rule(ps, ts, **eqn.params)
            finally:
                ad_state.eqn = None
        for v, o, t in zip(eqn.outvars, outs, touts):
            penv[v] = o
            if type(t) is not Zero and not is_diff_dtype(v.aval.dtype):
                t = Zero(v.aval)
            tenv[v] = t
            if primal_map is not None and type(o) is Tracer:
                primal_map[v] = o.ivar
    return [readp(a) for a in jaxpr.outvars], [readt(a) for a in jaxpr.outvars]


# --- for the rules of sub-program families (xform/higher_order) -----------------------------

def nonzero_mask(ts):
    return [type(t) is not Zero for t in ts]


def jvp_sub(closed, nonzeros, instantiate_out):
    """JVP of a consts-free sub-jaxpr; returns (ClosedJaxpr with consts hoisted, consts,
    out_nonzeros).  Inputs: primals, nonzero tangents; outputs: primals, nonzero tangents."""
    nonzeros = [bool(n) and is_diff_dtype(a.dtype) for n, a in zip(nonzeros, closed.in_avals)]
    J, out_nz = jvp_jaxpr(closed, nonzeros, instantiate_out=instantiate_out, mode=ad_state.mode)
    J, consts = hoist_consts(J)
    return J, consts, out_nz, nonzeros

JVP[sharding.sharding_constraint] = linear_jvp(sharding.sharding_constraint)
