"""Automatic differentiation as IR rewrites.

* forward mode: ``jvp_jaxpr`` rewrites a jaxpr into one that also computes
  tangents, with one JVP rule per meta-operator (``JVP`` below).  Tangents that
  are known to be zero are ``Zero(aval)`` and are never materialised.
* reverse mode: JVP, then ``partial_eval`` splits the result into the primal
  computation (known from the primal inputs; it also returns *residuals*) and
  the linear computation (every equation that depends on a tangent), then
  ``transpose_linear`` runs the linear part backwards with a cotangent
  environment, one transpose rule per *linear* meta-operator (``TRANSPOSE``),
  then DCE and the other cheap passes.

Every intermediate is an ordinary jaxpr built by re-binding meta-operators in a
fresh ``Builder``, and every result is evaluated with ``eval_jaxpr`` into
whatever trace is current: that is why ``grad(grad(f))``, ``jit(grad(f))`` and
``grad(jit(f))`` need no special cases.

Outside ``jit`` the user's function is traced with concrete values (``if x > 0:``
works under ``grad``) and the values computed while tracing seed the evaluation
of the primal jaxpr, so the forward pass is not run twice.
"""
from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from primitives import dtypes, ops
from primitives import custom as custom_ops
from primitives.core import ClosedJaxpr, Eqn, Jaxpr, Literal, ShapedArray, Var
from primitives.ops import GatherDimensionNumbers, ScatterDimensionNumbers, ConvDimensionNumbers

from . import core, passes
from . import lax
from .core import Builder, Tracer, bind, trace_scope, eval_jaxpr
from .tree_util import tree_flatten, tree_unflatten, tree_structure, LEAF

# JAX's dtype of the tangent of an integer or boolean value
float0 = np.dtype([("float0", np.void, 0)])


class Zero:
    """A symbolic zero tangent/cotangent of abstract value ``aval``."""
    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"Zero({self.aval.str_short()})"


class NonDifferentiableError(TypeError):
    """Differentiation reached a meta-operator that has no derivative."""


def _is_diff_dtype(dt) -> bool:
    return dtypes.is_inexact(dt)


def tangent_aval(aval: ShapedArray) -> ShapedArray:
    return aval


def _aval(x):
    return lax.aval(x)


def _zeros(aval: ShapedArray):
    lit = Literal(np.zeros((), aval.dtype)[()], ShapedArray((), aval.dtype, aval.weak_type))
    if aval.shape == ():
        return lit
    return bind(ops.broadcast_in_dim, lit, shape=aval.shape, broadcast_dimensions=())


def instantiate(t, aval=None):
    if type(t) is Zero:
        return _zeros(t.aval)
    if t is None:
        return _zeros(aval)
    return t


def _bcast(x, shape):
    """Broadcast a scalar (rank-0) to ``shape``; identity if it already has it."""
    a = _aval(x)
    if a.shape == tuple(shape):
        return x
    assert a.shape == (), (a, shape)
    return bind(ops.broadcast_in_dim, x, shape=tuple(shape), broadcast_dimensions=())


def _unbroadcast(ct, aval):
    """Sum ``ct`` down to ``aval``'s shape (operands of rank 0 broadcast implicitly)."""
    a = _aval(ct)
    if a.shape != aval.shape:
        assert aval.shape == (), (a, aval)
        ct = lax.reduce_sum(ct, tuple(range(a.ndim)))
    return ct


def _add(a, b):
    """Zero/None-aware addition of tangents or cotangents of equal type."""
    if a is None or type(a) is Zero:
        return b
    if b is None or type(b) is Zero:
        return a
    return bind(ops.binary["add"], a, b)


def _const(x, v):
    """A weakly typed scalar literal ``v`` in the dtype of ``x``."""
    return lax.weak_literal(v, _aval(x).dtype)


# --- the JVP rules -------------------------------------------------------------------------
# rule(primals, tangents, **params) -> (primal outs, tangent outs); tangents may be Zero,
# but never all of them (the interpreter just re-binds the op then).
JVP: dict = {}

_current_eqn = [None]


def _where_eqn():
    e = _current_eqn[0]
    return f" (at {e.source})" if e is not None and e.source is not None else ""


def _nondiff(name, why=""):
    raise NonDifferentiableError(
        f"cannot differentiate meta-operator {name!r}{why}{_where_eqn()}; wrap the value in "
        f"lax.stop_gradient if its derivative is not needed")


def _zero_jvp(prim):
    def rule(primals, tangents, **params):
        outs = bind(prim, *primals, **params)
        outs = outs if prim.multiple_results else [outs]
        return outs, [Zero(_aval(o)) for o in outs]
    return rule


def _linear_jvp(prim):
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


M, D, A, S, NEG = lax.mul, lax.div, lax.add, lax.sub, lax.neg
_SQRT_PI = math.sqrt(math.pi)

_defunary("neg", lambda t, x, y: NEG(t))
_defunary("exp", lambda t, x, y: M(t, y))
_defunary("exp2", lambda t, x, y: M(t, M(y, _const(y, math.log(2.0)))))
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
_defunary("acosh", lambda t, x, y: M(t, lax.rsqrt(M(S(x, 1.0), A(x, 1.0)))))
_defunary("atanh", lambda t, x, y: D(t, S(1.0, M(x, x))))
_defunary("logistic", lambda t, x, y: M(t, M(y, S(1.0, y))))
_defunary("erf", lambda t, x, y: M(t, M(lax.exp(NEG(M(x, x))), 2.0 / _SQRT_PI)))
_defunary("erfc", lambda t, x, y: M(t, M(lax.exp(NEG(M(x, x))), -2.0 / _SQRT_PI)))
_defunary("erf_inv", lambda t, x, y: M(t, M(lax.exp(M(y, y)), _SQRT_PI / 2.0)))
_defunary("lgamma", lambda t, x, y: M(t, lax.digamma(x)))
_defunary("real", lambda t, x, y: lax.real(t))
_defunary("imag", lambda t, x, y: lax.imag(t))
_defunary("conj", lambda t, x, y: lax.conj(t))


def _trigamma(x):
    """polygamma(1, x) as a composite: recurrence up to x+6, asymptotic series,
    reflection for x < 0.5."""
    def positive(z):
        acc = None
        for k in range(6):
            term = lax.integer_pow(A(z, float(k)), -2)
            acc = term if acc is None else A(acc, term)
        w = A(z, 6.0)
        iw = lax.integer_pow(w, -1)
        iw2 = M(iw, iw)
        # 1/w + 1/(2w^2) + 1/(6w^3) - 1/(30w^5) + 1/(42w^7) - 1/(30w^9)
        series = M(iw2, A(1.0 / 6.0, M(iw2, A(-1.0 / 30.0, M(iw2, A(1.0 / 42.0, M(iw2, -1.0 / 30.0)))))))
        series = M(iw, A(A(1.0, M(iw, 0.5)), series))
        return A(acc, series)
    small = lax.lt(x, _const(x, 0.5))
    xr = lax.select(small, S(1.0, x), x)
    pos = positive(xr)
    s = lax.sin(M(x, math.pi))
    refl = S(D(math.pi ** 2, M(s, s)), pos)
    return lax.select(small, refl, pos)


_defunary("digamma", lambda t, x, y: M(t, _trigamma(x)))


def _abs_deriv(t, x, y):
    if dtypes.is_complex(_aval(x).dtype):
        # d|x| = Re(conj(x) t) / |x|
        safe = lax.select(lax.eq(y, _bcast(_const(y, 0.0), _aval(y).shape)),
                          _bcast(_const(y, 1.0), _aval(y).shape), y)
        return D(lax.real(M(t, lax.conj(x))), safe)
    return M(t, lax.sign(x))


_defunary("abs", _abs_deriv)


def _integer_pow_jvp(primals, tangents, *, y):
    x, = primals
    t, = tangents
    out = bind(ops.unary["integer_pow"], x, y=y)
    if y == 0:
        return [out], [Zero(_aval(out))]
    if y == 1:
        return [out], [t]
    coef = lax.integer_pow(x, y - 1) if y != 2 else x
    return [out], [M(t, M(coef, float(y)))]


JVP[ops.unary["integer_pow"]] = _integer_pow_jvp

for _n in ("sign", "floor", "ceil", "round", "is_finite", "not", "population_count", "clz",
           "stop_gradient"):
    JVP[ops.unary[_n]] = _zero_jvp(ops.unary[_n])


# binary --------------------------------------------------------------------------------------

def _out_shape(*xs):
    shapes = [_aval(x).shape for x in xs if _aval(x).shape != ()]
    return shapes[0] if shapes else ()


def _defbinary(name, dx, dy):
    """``dx(t, x, y, z)``/``dy(t, x, y, z)`` give the tangent contributions."""
    prim = ops.binary[name]

    def rule(primals, tangents):
        x, y = primals
        tx, ty = tangents
        z = bind(prim, x, y)
        shape = _aval(z).shape
        out = None
        if type(tx) is not Zero:
            out = _bcast(dx(tx, x, y, z), shape)
        if type(ty) is not Zero:
            out = _add(out, _bcast(dy(ty, x, y, z), shape))
        return [z], [out]
    JVP[prim] = rule


_defbinary("add", lambda t, x, y, z: t, lambda t, x, y, z: t)
_defbinary("sub", lambda t, x, y, z: t, lambda t, x, y, z: NEG(t))
_defbinary("mul", lambda t, x, y, z: M(t, y), lambda t, x, y, z: M(x, t))
_defbinary("div", lambda t, x, y, z: D(t, y), lambda t, x, y, z: M(t, NEG(D(z, y))))
_defbinary("rem", lambda t, x, y, z: t,
           lambda t, x, y, z: M(t, NEG(M(lax.sign(D(x, y)), lax.floor(lax.abs(D(x, y)))))))


def _pow_dx(t, x, y, z):
    return M(t, M(y, lax.pow(x, S(y, 1.0))))


def _pow_dy(t, x, y, z):
    shape = _aval(x).shape
    safe = lax.select(lax.eq(x, _bcast(_const(x, 0.0), shape)), _bcast(_const(x, 1.0), shape), x)
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
    shape = _aval(z).shape
    den = A(M(x, x), M(y, y))
    out = None
    if type(tx) is not Zero:
        out = _bcast(M(tx, D(y, den)), shape)
    if type(ty) is not Zero:
        out = _add(out, _bcast(M(ty, D(NEG(x), den)), shape))
    return [z], [out]


JVP[ops.binary["atan2"]] = _atan2_jvp


def _minmax_jvp(name):
    prim = ops.binary[name]
    cmp = lax.gt if name == "max" else lax.lt

    def rule(primals, tangents):
        x, y = primals
        tx, ty = tangents
        z = bind(prim, x, y)
        shape = _aval(z).shape
        xb, yb = _bcast(x, shape), _bcast(y, shape)
        dt = _aval(z).dtype
        one = _bcast(Literal(np.ones((), dt)[()], ShapedArray((), dt)), shape)
        zero = _bcast(Literal(np.zeros((), dt)[()], ShapedArray((), dt)), shape)
        half = _bcast(Literal(np.asarray(0.5, dt)[()], ShapedArray((), dt)), shape)
        # ties split the tangent evenly, as JAX does
        eqm = lax.select(lax.eq(xb, yb), half, zero)
        out = None
        if type(tx) is not Zero:
            out = M(_bcast(tx, shape), lax.select(cmp(xb, yb), one, eqm))
        if type(ty) is not Zero:
            out = _add(out, M(_bcast(ty, shape), lax.select(cmp(yb, xb), one, eqm)))
        return [z], [out]
    JVP[prim] = rule


_minmax_jvp("max")
_minmax_jvp("min")


def _complex_jvp(primals, tangents):
    x, y = primals
    tx, ty = tangents
    z = lax.complex(x, y)
    shape = _aval(z).shape
    tx = instantiate(tx) if type(tx) is Zero else tx
    ty = instantiate(ty) if type(ty) is Zero else ty
    return [z], [lax.complex(_bcast(tx, shape) if _aval(tx).shape != shape else tx,
                             _bcast(ty, shape) if _aval(ty).shape != shape else ty)]


JVP[ops.binary["complex"]] = _complex_jvp


def _nextafter_jvp(primals, tangents):
    _nondiff("nextafter")


JVP[ops.binary["nextafter"]] = _nextafter_jvp
for _n in ("and", "or", "xor", "shift_left", "shift_right_arithmetic", "shift_right_logical"):
    JVP[ops.binary[_n]] = _zero_jvp(ops.binary[_n])
for _p in ops.compare.values():
    JVP[_p] = _zero_jvp(_p)


# select, convert ------------------------------------------------------------------------------

def _select_n_jvp(primals, tangents):
    pred, *cases = primals
    out = bind(ops.select_n, pred, *cases)
    ts = tangents[1:]
    if all(type(t) is Zero for t in ts):
        return [out], [Zero(_aval(out))]
    ts = [instantiate(t) for t in ts]
    return [out], [bind(ops.select_n, pred, *ts)]


JVP[ops.select_n] = _select_n_jvp


def _convert_jvp(primals, tangents, *, new_dtype, weak_type=False):
    x, = primals
    t, = tangents
    out = bind(ops.convert_element_type, x, new_dtype=new_dtype, weak_type=weak_type)
    if not _is_diff_dtype(new_dtype) or not _is_diff_dtype(_aval(x).dtype):
        return [out], [Zero(_aval(out))]
    return [out], [bind(ops.convert_element_type, t, new_dtype=new_dtype, weak_type=weak_type)]


JVP[ops.convert_element_type] = _convert_jvp
JVP[ops.bitcast_convert_type] = _zero_jvp(ops.bitcast_convert_type)
JVP[ops.iota] = _zero_jvp(ops.iota)

# structural: linear in their (only) array operand -----------------------------------------------
for _p in (ops.broadcast_in_dim, ops.reshape, ops.transpose, ops.slice, ops.rev):
    JVP[_p] = _linear_jvp(_p)


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
        return [out], [Zero(_aval(out))]
    return [out], [bind(ops.dynamic_slice, t, *idx, slice_sizes=slice_sizes)]


JVP[ops.dynamic_slice] = _dynamic_slice_jvp


def _dynamic_update_slice_jvp(primals, tangents):
    x, u, *idx = primals
    out = bind(ops.dynamic_update_slice, x, u, *idx)
    tx, tu = tangents[:2]
    if type(tx) is Zero and type(tu) is Zero:
        return [out], [Zero(_aval(out))]
    return [out], [bind(ops.dynamic_update_slice, instantiate(tx), instantiate(tu), *idx)]


JVP[ops.dynamic_update_slice] = _dynamic_update_slice_jvp


def _gather_jvp(primals, tangents, **params):
    x, idx = primals
    out = bind(ops.gather, x, idx, **params)
    t = tangents[0]
    if type(t) is Zero:
        return [out], [Zero(_aval(out))]
    return [out], [bind(ops.gather, t, idx, **params)]


JVP[ops.gather] = _gather_jvp


def _scatter_linear_jvp(name):
    prim = ops.scatter[name]

    def rule(primals, tangents, **params):
        x, idx, u = primals
        out = bind(prim, x, idx, u, **params)
        tx, _, tu = tangents
        if type(tx) is Zero and type(tu) is Zero:
            return [out], [Zero(_aval(out))]
        return [out], [bind(prim, instantiate(tx), idx, instantiate(tu), **params)]
    JVP[prim] = rule


_scatter_linear_jvp("scatter_add")
_scatter_linear_jvp("scatter")   # exact when the scattered indices are unique


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
            _nondiff("scatter_mul", " with respect to its updates unless unique_indices=True")
        # out[j] = x[j] * u[i]: d out = x * scatter(0, tu)
        placed = bind(ops.scatter["scatter"], _zeros(_aval(x)), idx, tu, **params)
        res = _add(res, M(x, placed))
    return [out], [res]


JVP[ops.scatter["scatter_mul"]] = _scatter_mul_jvp


def _scatter_minmax_jvp(name):
    prim = ops.scatter[name]

    def rule(primals, tangents, **params):
        x, idx, u = primals
        out = bind(prim, x, idx, u, **params)
        tx, _, tu = tangents
        # where the result kept the operand, its tangent; elsewhere the scattered update's
        from_u = bind(ops.scatter["scatter"], _zeros(_aval(x)), idx, instantiate(tu), **params)
        kept = lax.eq(out, x)
        return [out], [bind(ops.select_n, kept, from_u, instantiate(tx))]
    JVP[prim] = rule


_scatter_minmax_jvp("scatter_min")
_scatter_minmax_jvp("scatter_max")


# reductions ------------------------------------------------------------------------------------------

def _reduce_sum_jvp(primals, tangents, *, axes):
    return [bind(ops.reduce["reduce_sum"], primals[0], axes=axes)], \
        [bind(ops.reduce["reduce_sum"], tangents[0], axes=axes)]


JVP[ops.reduce["reduce_sum"]] = _reduce_sum_jvp


def _keep_dims_bcast(y, in_shape, axes):
    """Broadcast a reduced value back to the operand's shape."""
    kept = tuple(d for d in range(len(in_shape)) if d not in axes)
    return bind(ops.broadcast_in_dim, y, shape=tuple(in_shape), broadcast_dimensions=kept) \
        if _aval(y).shape != tuple(in_shape) else y


def _reduce_chooser_jvp(name):
    prim = ops.reduce[name]

    def rule(primals, tangents, *, axes):
        x, = primals
        t, = tangents
        out = bind(prim, x, axes=axes)
        shape = _aval(x).shape
        loc = lax.eq(x, _keep_dims_bcast(out, shape, axes))
        dt = _aval(x).dtype
        locf = bind(ops.convert_element_type, loc, new_dtype=dt, weak_type=False)
        counts = lax.reduce_sum(locf, axes)
        return [out], [D(lax.reduce_sum(M(t, locf), axes), counts)]
    JVP[prim] = rule


_reduce_chooser_jvp("reduce_max")
_reduce_chooser_jvp("reduce_min")


def _reduce_prod_jvp(primals, tangents, *, axes):
    """d prod = sum_i t_i * prod_{j != i} x_j, exact when some x_j are 0."""
    x, = primals
    t, = tangents
    out = bind(ops.reduce["reduce_prod"], x, axes=axes)
    a = _aval(x)
    kept = [d for d in range(a.ndim) if d not in axes]
    perm = kept + list(axes)
    n = int(np.prod([a.shape[d] for d in axes], dtype=np.int64))
    kshape = [a.shape[d] for d in kept]
    xf = lax.reshape(lax.transpose(x, perm), kshape + [n])
    tf = lax.reshape(lax.transpose(t, perm), kshape + [n])
    k = len(kshape)
    big = kshape + [n, n]
    xb = bind(ops.broadcast_in_dim, xf, shape=tuple(big), broadcast_dimensions=tuple(range(k)) + (k + 1,))
    diag = lax.eq(lax.broadcasted_iota(np.int32, big, k), lax.broadcasted_iota(np.int32, big, k + 1))
    others = lax.reduce_prod(lax.select(diag, _bcast(_const(xb, 1.0), big), xb), (k + 1,))
    return [out], [lax.reduce_sum(M(tf, others), (k,))]


JVP[ops.reduce["reduce_prod"]] = _reduce_prod_jvp
for _n in ("reduce_and", "reduce_or", "reduce_xor", "argmax", "argmin"):
    JVP[ops.reduce[_n]] = _zero_jvp(ops.reduce[_n])

JVP[ops.reduce_window["reduce_window_sum"]] = _linear_jvp(ops.reduce_window["reduce_window_sum"])


def _reduce_window_chooser_jvp(name):
    prim = ops.reduce_window[name]

    def rule(primals, tangents, *, window_dimensions, window_strides, padding, base_dilation,
             window_dilation):
        x, = primals
        t, = tangents
        out = bind(prim, x, window_dimensions=window_dimensions, window_strides=window_strides,
                   padding=padding, base_dilation=base_dilation, window_dilation=window_dilation)
        oshape = _aval(out).shape
        a = _aval(x)
        if 0 in oshape:
            return [out], [Zero(_aval(out))]
        init = -np.inf if name == "reduce_window_max" else np.inf
        if not dtypes.is_float(a.dtype):
            init = (dtypes.iinfo(a.dtype).min if name == "reduce_window_max"
                    else dtypes.iinfo(a.dtype).max)
        cfg = [(lo, hi, bd - 1) for (lo, hi), bd in zip(padding, base_dilation)]
        xp = lax.pad(x, Literal(np.asarray(init, a.dtype)[()], ShapedArray((), a.dtype)), cfg)
        tp = lax.pad(t, Literal(np.zeros((), a.dtype)[()], ShapedArray((), a.dtype)), cfg)
        res = None
        # window offsets, last first, so the first matching offset wins
        for off in reversed(list(itertools.product(*[range(w) for w in window_dimensions]))):
            start = [o * wd for o, wd in zip(off, window_dilation)]
            limit = [s + (n - 1) * st + 1 for s, n, st in zip(start, oshape, window_strides)]
            v = lax.slice(xp, start, limit, window_strides)
            tv = lax.slice(tp, start, limit, window_strides)
            res = tv if res is None else lax.select(lax.eq(v, out), tv, res)
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
            res = _add(res, bind(prim, x, ty, **params))
        return [out], [res]
    return rule


JVP[ops.dot_general] = _bilinear_jvp(ops.dot_general)
JVP[ops.conv_general_dilated] = _bilinear_jvp(ops.conv_general_dilated)


def _take_along(t, perm, dimension):
    """``t`` permuted along ``dimension`` by the integer array ``perm`` (a gather)."""
    a = _aval(t)
    nd = a.ndim
    cols = []
    for d in range(nd):
        if d == dimension:
            c = perm
        else:
            c = lax.broadcasted_iota(_aval(perm).dtype, a.shape, d)
        cols.append(lax.reshape(c, a.shape + (1,)))
    idx = lax.concatenate(cols, nd) if nd > 1 else cols[0]
    dn = GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=tuple(range(nd)),
                                start_index_map=tuple(range(nd)))
    return bind(ops.gather, t, idx, dimension_numbers=dn, slice_sizes=(1,) * nd,
                indices_are_sorted=False, unique_indices=True)


def _sort_jvp(primals, tangents, *, dimension, is_stable, num_keys):
    shape = _aval(primals[0]).shape
    iota = lax.broadcasted_iota(np.int32, shape, dimension)
    outs = bind(ops.sort, *primals, iota, dimension=dimension, is_stable=is_stable,
                num_keys=num_keys)
    perm = outs[-1]
    touts = [Zero(_aval(o)) if type(t) is Zero else _take_along(t, perm, dimension)
             for o, t in zip(outs[:-1], tangents)]
    return outs[:-1], touts


JVP[ops.sort] = _sort_jvp


# collectives (named-axis ops) -----------------------------------------------------------------------

def _define_collective_rules():
    from primitives import collectives as C
    JVP[C.psum] = _linear_jvp(C.psum)
    JVP[C.all_gather] = _linear_jvp(C.all_gather)
    JVP[C.axis_index] = _zero_jvp(C.axis_index)

    def chooser(prim):
        def rule(primals, tangents, *, axis_name):
            x, = primals
            t, = tangents
            out = bind(prim, x, axis_name=axis_name)
            locf = bind(ops.convert_element_type, lax.eq(x, out), new_dtype=_aval(x).dtype,
                        weak_type=False)
            num = bind(C.psum, M(t, locf), axis_name=axis_name)
            return [out], [D(num, bind(C.psum, locf, axis_name=axis_name))]
        return rule
    JVP[C.pmax] = chooser(C.pmax)
    JVP[C.pmin] = chooser(C.pmin)

    def psum_t(ct, x, *, axis_name):
        return [bind(C.psum, ct, axis_name=axis_name)]

    def all_gather_t(ct, x, *, axis_name, axis, tiled, axis_size):
        total = bind(C.psum, ct, axis_name=axis_name)
        i = bind(C.axis_index, axis_name=axis_name[:1])
        a = x.aval
        if tiled:
            start = [0] * a.ndim
            start[axis] = lax.mul(i, np.int32(a.shape[axis]))
            return [lax.dynamic_slice(total, start, a.shape)]
        start = [0] * (a.ndim + 1)
        start[axis] = i
        sizes = list(a.shape)
        sizes.insert(axis, 1)
        return [lax.reshape(lax.dynamic_slice(total, start, sizes), a.shape)]
    TRANSPOSE[C.psum] = psum_t
    TRANSPOSE[C.all_gather] = all_gather_t


# custom rules -------------------------------------------------------------------------------------

_mode = ["rev"]   # "fwd" while building a jaxpr for forward mode (jvp, linearize)


def _custom_jvp_call_jvp(primals, tangents, *, call_jaxpr, jvp, num_consts, name):
    if any(type(t) is not Zero for t in tangents[:num_consts]):
        raise TypeError(f"custom_jvp function {name} closes over a value that is being "
                        f"differentiated; pass it as an argument instead{_where_eqn()}")
    ps = primals[num_consts:]
    ts = [instantiate(t) for t in tangents[num_consts:]]
    outs, touts = jvp(ps, ts)
    return outs, touts


def _custom_vjp_call_jvp(primals, tangents, *, call_jaxpr, fwd, bwd, jvp, num_consts, name):
    if any(type(t) is not Zero for t in tangents[:num_consts]):
        raise TypeError(f"custom_vjp function {name} closes over a value that is being "
                        f"differentiated; pass it as an argument instead{_where_eqn()}")
    ps = list(primals[num_consts:])
    ts = list(tangents[num_consts:])
    if _mode[0] == "fwd":
        if jvp is None:
            raise TypeError(
                f"can't apply forward-mode autodiff (jvp, jacfwd, linearize) to the custom_vjp "
                f"function {name}{_where_eqn()}: it only has a reverse-mode rule. Give it a "
                f"forward rule too with {name}.defjvp(jvp_fn) (an xform extension), or use "
                f"reverse mode (grad, vjp, jacrev)")
        return jvp(ps, [instantiate(t) for t in ts])
    outs, res = fwd(ps)
    mask = tuple(type(t) is not Zero for t in ts)
    lin = [t for t in ts if type(t) is not Zero]
    out_avals = tuple(_aval(o) for o in outs)
    touts = bind(custom_ops.custom_vjp_lin, *res, *lin, bwd=bwd, num_res=len(res),
                 lin_mask=mask, out_avals=out_avals, name=name)
    return list(outs), list(touts)


JVP[custom_ops.custom_jvp_call] = _custom_jvp_call_jvp
JVP[custom_ops.custom_vjp_call] = _custom_vjp_call_jvp


def _custom_vjp_lin_jvp(primals, tangents, **params):
    raise TypeError(f"the linearized custom_vjp function {params['name']} cannot be "
                    f"differentiated again in forward mode{_where_eqn()}")


JVP[custom_ops.custom_vjp_lin] = _custom_vjp_lin_jvp


# --- the transpose rules ---------------------------------------------------------------------------
# rule(ct, *args, **params) -> one cotangent (or None) per argument.  A linear argument is
# a ``LinearIn`` (its value is unknown: it is what we transpose with respect to).
TRANSPOSE: dict = {}


class LinearIn:
    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval


def _lin(x):
    return type(x) is LinearIn


def _neg_t(ct, x):
    return [NEG(ct)]


def _add_t(ct, x, y):
    return [_unbroadcast(ct, x.aval) if _lin(x) else None,
            _unbroadcast(ct, y.aval) if _lin(y) else None]


def _sub_t(ct, x, y):
    return [_unbroadcast(ct, x.aval) if _lin(x) else None,
            _unbroadcast(NEG(ct), y.aval) if _lin(y) else None]


def _mul_t(ct, x, y):
    if _lin(x) and _lin(y):
        raise TypeError("mul of two tangents is not linear")
    if _lin(x):
        return [_unbroadcast(M(ct, y), x.aval), None]
    return [None, _unbroadcast(M(x, ct), y.aval)]


def _div_t(ct, x, y):
    assert _lin(x) and not _lin(y)
    return [_unbroadcast(D(ct, y), x.aval), None]


TRANSPOSE[ops.unary["neg"]] = _neg_t
TRANSPOSE[ops.binary["add"]] = _add_t
TRANSPOSE[ops.binary["sub"]] = _sub_t
TRANSPOSE[ops.binary["mul"]] = _mul_t
TRANSPOSE[ops.binary["div"]] = _div_t
TRANSPOSE[ops.unary["real"]] = lambda ct, x: [lax.complex(ct, _zeros(_aval(ct)))]
TRANSPOSE[ops.unary["imag"]] = lambda ct, x: [lax.complex(_zeros(_aval(ct)), NEG(ct))]
TRANSPOSE[ops.unary["conj"]] = lambda ct, x: [lax.conj(ct)]


def _complex_t(ct, x, y):
    return [_unbroadcast(lax.real(ct), x.aval) if _lin(x) else None,
            _unbroadcast(NEG(lax.imag(ct)), y.aval) if _lin(y) else None]


TRANSPOSE[ops.binary["complex"]] = _complex_t


def _convert_t(ct, x, *, new_dtype, weak_type=False):
    a = x.aval
    return [bind(ops.convert_element_type, ct, new_dtype=a.dtype, weak_type=a.weak_type)]


TRANSPOSE[ops.convert_element_type] = _convert_t


def _select_n_t(ct, pred, *cases):
    assert not _lin(pred)
    out = [None]
    z = None
    for i, c in enumerate(cases):
        if not _lin(c):
            out.append(None)
            continue
        if z is None:
            z = _zeros(_aval(ct))
        args = [z] * len(cases)
        args[i] = ct
        out.append(bind(ops.select_n, pred, *args))
    return out


TRANSPOSE[ops.select_n] = _select_n_t


def _reduce_sum_t(ct, x, *, axes):
    return [_keep_dims_bcast(ct, x.aval.shape, axes)]


TRANSPOSE[ops.reduce["reduce_sum"]] = _reduce_sum_t


def _broadcast_in_dim_t(ct, x, *, shape, broadcast_dimensions):
    in_shape = x.aval.shape
    unit = [i for i, n in enumerate(in_shape) if n == 1 and shape[broadcast_dimensions[i]] != 1]
    keep = {d for i, d in enumerate(broadcast_dimensions) if i not in unit}
    sum_dims = tuple(d for d in range(len(shape)) if d not in keep)
    r = lax.reduce_sum(ct, sum_dims) if sum_dims else ct
    return [lax.reshape(r, in_shape)]


TRANSPOSE[ops.broadcast_in_dim] = _broadcast_in_dim_t
TRANSPOSE[ops.reshape] = lambda ct, x, *, new_sizes: [lax.reshape(ct, x.aval.shape)]
TRANSPOSE[ops.transpose] = lambda ct, x, *, permutation: [
    lax.transpose(ct, tuple(int(i) for i in np.argsort(permutation)))]
TRANSPOSE[ops.rev] = lambda ct, x, *, dimensions: [lax.rev(ct, dimensions)]


def _slice_t(ct, x, *, start_indices, limit_indices, strides):
    in_shape = x.aval.shape
    strides = strides or (1,) * len(in_shape)
    out_shape = _aval(ct).shape
    if 0 in out_shape:
        return [_zeros(x.aval)]
    cfg = []
    for n, lo, m, st in zip(in_shape, start_indices, out_shape, strides):
        real_hi = lo + (m - 1) * st + 1
        cfg.append((lo, n - real_hi, st - 1))
    zero = Literal(np.zeros((), x.aval.dtype)[()], ShapedArray((), x.aval.dtype))
    return [bind(ops.pad, ct, zero, padding_config=tuple(cfg))]


TRANSPOSE[ops.slice] = _slice_t


def _pad_t(ct, x, v, *, padding_config):
    a = _aval(ct)
    lo, hi, interior = zip(*padding_config) if padding_config else ((), (), ())
    zero = Literal(np.zeros((), a.dtype)[()], ShapedArray((), a.dtype))
    unpadded = bind(ops.pad, ct, zero,
                    padding_config=tuple((-l, -h, 0) for l, h in zip(lo, hi)))
    ua = _aval(unpadded)
    t_x = lax.slice(unpadded, (0,) * ua.ndim, ua.shape, tuple(i + 1 for i in interior))
    t_v = None
    if _lin(v):
        all_axes = tuple(range(a.ndim))
        t_v = S(lax.reduce_sum(ct, all_axes), lax.reduce_sum(t_x, all_axes)) if a.ndim else \
            S(ct, t_x)
    return [t_x if _lin(x) else None, t_v]


TRANSPOSE[ops.pad] = _pad_t


def _concatenate_t(ct, *xs, dimension):
    out = []
    start = 0
    a = _aval(ct)
    for x in xs:
        n = x.aval.shape[dimension]
        if _lin(x):
            lo = [0] * a.ndim
            hi = list(a.shape)
            lo[dimension], hi[dimension] = start, start + n
            out.append(lax.slice(ct, lo, hi))
        else:
            out.append(None)
        start += n
    return out


TRANSPOSE[ops.concatenate] = _concatenate_t


def _dynamic_slice_t(ct, x, *idx, slice_sizes):
    return [bind(ops.dynamic_update_slice, _zeros(x.aval), ct, *idx)] + [None] * len(idx)


def _dynamic_update_slice_t(ct, x, u, *idx):
    ua = u.aval if _lin(u) else _aval(u)
    ct_x = bind(ops.dynamic_update_slice, ct, _zeros(ua), *idx) if _lin(x) else None
    ct_u = bind(ops.dynamic_slice, ct, *idx, slice_sizes=ua.shape) if _lin(u) else None
    return [ct_x, ct_u] + [None] * len(idx)


TRANSPOSE[ops.dynamic_slice] = _dynamic_slice_t
TRANSPOSE[ops.dynamic_update_slice] = _dynamic_update_slice_t


def _index_bounds(idx, operand_shape, sizes, index_map):
    """(clamped indices, in-bounds mask over the batch of index vectors)."""
    ia = _aval(idx)
    ub = np.asarray([operand_shape[d] - sizes[d] for d in index_map], ia.dtype)
    ubb = bind(ops.broadcast_in_dim, ub, shape=ia.shape, broadcast_dimensions=(ia.ndim - 1,))
    zero = Literal(np.zeros((), ia.dtype)[()], ShapedArray((), ia.dtype))
    clamped = lax.max(lax.min(idx, ubb), _bcast(zero, ia.shape))
    inb = lax.reduce_and(lax.bitwise_and(lax.ge(idx, _bcast(zero, ia.shape)), lax.le(idx, ubb)),
                         (ia.ndim - 1,))
    return clamped, inb


def _gather_t(ct, x, idx, *, dimension_numbers, slice_sizes, indices_are_sorted=False,
              unique_indices=False):
    dn = dimension_numbers
    a = x.aval
    # gather clamps out-of-bounds starts, scatter drops them: clamp explicitly first
    clamped, _ = _index_bounds(idx, a.shape, slice_sizes, dn.start_index_map)
    sdn = ScatterDimensionNumbers(
        update_window_dims=dn.offset_dims, inserted_window_dims=dn.collapsed_slice_dims,
        scatter_dims_to_operand_dims=dn.start_index_map,
        operand_batching_dims=dn.operand_batching_dims,
        scatter_indices_batching_dims=dn.start_indices_batching_dims)
    return [bind(ops.scatter["scatter_add"], _zeros(a), clamped, ct, dimension_numbers=sdn,
                 indices_are_sorted=indices_are_sorted, unique_indices=unique_indices), None]


TRANSPOSE[ops.gather] = _gather_t


def _scatter_gather(ct, idx, u_aval, x_shape, dn, **params):
    """Cotangent of a scatter's updates: gather ``ct`` at the scattered windows,
    zero where the update was dropped (out of bounds)."""
    sizes = []
    pos = 0
    for d in range(len(x_shape)):
        if d in dn.inserted_window_dims or d in dn.operand_batching_dims:
            sizes.append(1)
        else:
            sizes.append(u_aval.shape[dn.update_window_dims[pos]])
            pos += 1
    gdn = GatherDimensionNumbers(
        offset_dims=dn.update_window_dims, collapsed_slice_dims=dn.inserted_window_dims,
        start_index_map=dn.scatter_dims_to_operand_dims,
        operand_batching_dims=dn.operand_batching_dims,
        start_indices_batching_dims=dn.scatter_indices_batching_dims)
    g = bind(ops.gather, ct, idx, dimension_numbers=gdn, slice_sizes=tuple(sizes),
             indices_are_sorted=params.get("indices_are_sorted", False),
             unique_indices=params.get("unique_indices", False))
    _, inb = _index_bounds(idx, x_shape, sizes, dn.scatter_dims_to_operand_dims)
    batch_dims = tuple(d for d in range(u_aval.ndim) if d not in dn.update_window_dims)
    mask = bind(ops.broadcast_in_dim, inb, shape=u_aval.shape, broadcast_dimensions=batch_dims)
    return bind(ops.select_n, mask, _zeros(u_aval), g)


def _scatter_add_t(ct, x, idx, u, *, dimension_numbers, **params):
    ct_x = ct if _lin(x) else None
    ct_u = None
    if _lin(u):
        ct_u = _scatter_gather(ct, idx, u.aval, _aval(ct).shape, dimension_numbers, **params)
    return [ct_x, None, ct_u]


def _scatter_t(ct, x, idx, u, *, dimension_numbers, **params):
    ua = u.aval if _lin(u) else _aval(u)
    ct_x = bind(ops.scatter["scatter"], ct, idx, _zeros(ua), dimension_numbers=dimension_numbers,
                **params) if _lin(x) else None
    ct_u = _scatter_gather(ct, idx, ua, _aval(ct).shape, dimension_numbers, **params) \
        if _lin(u) else None
    return [ct_x, None, ct_u]


def _scatter_mul_t(ct, x, idx, u, *, dimension_numbers, **params):
    if _lin(u):
        raise TypeError("scatter_mul is not linear in its updates")
    return [bind(ops.scatter["scatter_mul"], ct, idx, u, dimension_numbers=dimension_numbers,
                 **params), None, None]


TRANSPOSE[ops.scatter["scatter_add"]] = _scatter_add_t
TRANSPOSE[ops.scatter["scatter"]] = _scatter_t
TRANSPOSE[ops.scatter["scatter_mul"]] = _scatter_mul_t


def _dilate_shape(shape, dil):
    return [0 if d == 0 else 1 + r * (d - 1) for d, r in zip(shape, dil)]


def _conv_vjp_lhs_padding(in_shape, window_dimensions, window_strides, out_shape, padding,
                          lhs_dilation, rhs_dilation):
    lhs_d = _dilate_shape(in_shape, lhs_dilation)
    rhs_d = _dilate_shape(window_dimensions, rhs_dilation)
    out_d = _dilate_shape(out_shape, window_strides)
    before = [r - lo - 1 for r, (lo, _) in zip(rhs_d, padding)]
    after = [l + r - 1 - o - b for l, r, o, b in zip(lhs_d, rhs_d, out_d, before)]
    return list(zip(before, after))


def _conv_vjp_rhs_padding(in_shape, window_dimensions, window_strides, out_shape, padding,
                          lhs_dilation, rhs_dilation):
    if not in_shape:
        return []
    lhs_d = _dilate_shape(in_shape, lhs_dilation)
    rhs_d = _dilate_shape(window_dimensions, rhs_dilation)
    out_d = _dilate_shape(out_shape, window_strides)
    lo = [p[0] for p in padding]
    hi = [o - l + (r - p - 1) for o, l, r, p in zip(out_d, lhs_d, rhs_d, lo)]
    return list(zip(lo, hi))


def _reduce_window_sum_t(ct, x, *, window_dimensions, window_strides, padding, base_dilation,
                         window_dilation):
    in_shape = x.aval.shape
    pads = _conv_vjp_lhs_padding(in_shape, window_dimensions, window_strides, _aval(ct).shape,
                                 padding, base_dilation, window_dilation)
    cfg = [(lo, hi, st - 1) for (lo, hi), st in zip(pads, window_strides)]
    zero = Literal(np.zeros((), x.aval.dtype)[()], ShapedArray((), x.aval.dtype))
    padded = bind(ops.pad, ct, zero, padding_config=tuple(cfg))
    n = len(in_shape)
    r = bind(ops.reduce_window["reduce_window_sum"], padded,
             window_dimensions=tuple(window_dimensions), window_strides=tuple(base_dilation),
             padding=((0, 0),) * n, base_dilation=(1,) * n, window_dilation=tuple(window_dilation))
    assert _aval(r).shape == tuple(in_shape), (_aval(r).shape, in_shape)
    return [r]


TRANSPOSE[ops.reduce_window["reduce_window_sum"]] = _reduce_window_sum_t


def _ranges_like(*xs):
    start = 0
    for x in xs:
        yield list(range(start, start + len(x)))
        start += len(x)


def _remaining(original, *removed):
    rm = set(itertools.chain(*removed))
    return [i for i in original if i not in rm]


def _dot_t_lhs(g, x_aval, y, *, dimension_numbers, preferred_element_type, swap_ans=False):
    (x_contract, y_contract), (x_batch, y_batch) = dimension_numbers
    x_ndim = x_aval.ndim
    y_ndim = _aval(y).ndim
    x_kept = _remaining(range(x_ndim), x_contract, x_batch)
    y_kept = _remaining(range(y_ndim), y_contract, y_batch)
    if swap_ans:
        ans_batch, ans_y, _ = _ranges_like(x_batch, y_kept, x_kept)
    else:
        ans_batch, _, ans_y = _ranges_like(x_batch, x_kept, y_kept)
    dims = ((tuple(ans_y), tuple(y_kept)), (tuple(ans_batch), tuple(y_batch)))
    x_contract_sorted_by_y = [int(i) for i in np.take(x_contract, np.argsort(y_contract))] \
        if x_contract else []
    # dot_general(g, y) yields x's dims in the order batch, kept, contracted; when that
    # needs a transpose but dot_general(y, g) (batch, contracted, kept) does not, emit
    # the latter: the transpose would otherwise cost XLA a kernel and a copy (the
    # weight gradient of ``x @ w`` under vmap is the common case).
    unsorted = list(x_batch) + x_kept + x_contract_sorted_by_y
    flipped = list(x_batch) + x_contract_sorted_by_y + x_kept
    if unsorted != sorted(unsorted) and flipped == sorted(flipped):
        (g_con, y_con), (g_bat, y_bat) = dims
        r = bind(ops.dot_general, y, g, dimension_numbers=((y_con, g_con), (y_bat, g_bat)),
                 precision=None, preferred_element_type=preferred_element_type)
    else:
        out_axes = tuple(int(i) for i in np.argsort(unsorted))
        r = bind(ops.dot_general, g, y, dimension_numbers=dims, precision=None,
                 preferred_element_type=preferred_element_type)
        r = lax.transpose(r, out_axes)
    if _aval(r).dtype != x_aval.dtype:
        r = bind(ops.convert_element_type, r, new_dtype=x_aval.dtype, weak_type=x_aval.weak_type)
    return r


def _dot_general_t(ct, x, y, *, dimension_numbers, precision=None, preferred_element_type=None):
    (xc, yc), (xb, yb) = dimension_numbers
    if _lin(x) and _lin(y):
        raise TypeError("dot_general of two tangents is not linear")
    if _lin(x):
        return [_dot_t_lhs(ct, x.aval, y, dimension_numbers=dimension_numbers,
                           preferred_element_type=preferred_element_type), None]
    swapped = ((yc, xc), (yb, xb))
    return [None, _dot_t_lhs(ct, y.aval, x, dimension_numbers=swapped,
                             preferred_element_type=preferred_element_type, swap_ans=True)]


TRANSPOSE[ops.dot_general] = _dot_general_t


def _conv_t(ct, lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
            dimension_numbers, feature_group_count=1, batch_group_count=1, precision=None,
            preferred_element_type=None):
    dn = dimension_numbers
    lhs_spec, rhs_spec, out_spec = dn
    g_shape = _aval(ct).shape
    if _lin(lhs) and _lin(rhs):
        raise TypeError("conv_general_dilated of two tangents is not linear")
    if _lin(lhs):
        lhs_shape = lhs.aval.shape
        rhs_shape = _aval(rhs).shape
        t_rhs_spec = (rhs_spec[1], rhs_spec[0]) + tuple(rhs_spec[2:])
        fgc = feature_group_count
        r = rhs
        if feature_group_count > 1:
            r = lax.reshape_axis_out_of(rhs_spec[0], feature_group_count, r)
            r = lax.reshape_axis_into(rhs_spec[0], rhs_spec[1], r)
        elif batch_group_count > 1:
            r = lax.reshape_axis_out_of(rhs_spec[0], batch_group_count, r)
            r = lax.reshape_axis_into(rhs_spec[0], rhs_spec[1], r)
            fgc = batch_group_count
        trans_dn = ConvDimensionNumbers(tuple(out_spec), t_rhs_spec, tuple(lhs_spec))
        pads = _conv_vjp_lhs_padding(
            [lhs_shape[d] for d in lhs_spec[2:]], [rhs_shape[d] for d in rhs_spec[2:]],
            window_strides, [g_shape[d] for d in out_spec[2:]], padding, lhs_dilation,
            rhs_dilation)
        revd = lax.rev(r, tuple(rhs_spec[2:]))
        out = bind(ops.conv_general_dilated, ct, revd, window_strides=tuple(lhs_dilation),
                   padding=tuple((int(a), int(b)) for a, b in pads),
                   lhs_dilation=tuple(window_strides), rhs_dilation=tuple(rhs_dilation),
                   dimension_numbers=trans_dn, feature_group_count=fgc, batch_group_count=1,
                   precision=None, preferred_element_type=preferred_element_type)
        if batch_group_count > 1:
            out = lax.reshape_axis_out_of(lhs_spec[1], batch_group_count, out)
            out = lax.reshape_axis_into(lhs_spec[1], lhs_spec[0], out)
        if _aval(out).dtype != lhs.aval.dtype:
            out = bind(ops.convert_element_type, out, new_dtype=lhs.aval.dtype, weak_type=False)
        return [out, None]
    lhs_shape = _aval(lhs).shape
    rhs_shape = rhs.aval.shape
    tr = lambda s: (s[1], s[0]) + tuple(s[2:])
    fgc, bgc = feature_group_count, batch_group_count
    if bgc > 1:
        fgc, bgc = bgc, 1
    elif fgc > 1:
        fgc, bgc = 1, fgc
    trans_dn = ConvDimensionNumbers(tr(lhs_spec), tr(out_spec), tr(rhs_spec))
    pads = _conv_vjp_rhs_padding(
        [lhs_shape[d] for d in lhs_spec[2:]], [rhs_shape[d] for d in rhs_spec[2:]],
        window_strides, [g_shape[d] for d in out_spec[2:]], padding, lhs_dilation, rhs_dilation)
    out = bind(ops.conv_general_dilated, lhs, ct, window_strides=tuple(rhs_dilation),
               padding=tuple((int(a), int(b)) for a, b in pads),
               lhs_dilation=tuple(lhs_dilation), rhs_dilation=tuple(window_strides),
               dimension_numbers=trans_dn, feature_group_count=fgc, batch_group_count=bgc,
               precision=None, preferred_element_type=preferred_element_type)
    if _aval(out).dtype != rhs.aval.dtype:
        out = bind(ops.convert_element_type, out, new_dtype=rhs.aval.dtype, weak_type=False)
    return [None, out]


TRANSPOSE[ops.conv_general_dilated] = _conv_t


def _custom_vjp_lin_t(cts, *args, bwd, num_res, lin_mask, out_avals, name):
    res = args[:num_res]
    cts = [instantiate(c, a) for c, a in zip(cts, out_avals)]
    cts_in = bwd(list(res), cts)
    out = [None] * num_res
    for m, c in zip(lin_mask, cts_in):
        if m:
            out.append(c)
    return out


TRANSPOSE[custom_ops.custom_vjp_lin] = _custom_vjp_lin_t
_define_collective_rules()



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
    prev_mode = _mode[0]
    _mode[0] = mode
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
                        final_t.append(_zeros(t.aval))
                        out_nz.append(True)
                    else:
                        out_nz.append(False)
                else:
                    final_t.append(t)
                    out_nz.append(True)
            result = b.to_jaxpr(list(outs) + final_t)
    finally:
        _mode[0] = prev_mode
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
        tenv[v] = t if _is_diff_dtype(v.aval.dtype) else Zero(v.aval)
    for eqn in jaxpr.eqns:
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
            _current_eqn[0] = eqn
            try:
                outs, touts = rule(ps, ts, **eqn.params)
            finally:
                _current_eqn[0] = None
        for v, o, t in zip(eqn.outvars, outs, touts):
            penv[v] = o
            if type(t) is not Zero and not _is_diff_dtype(v.aval.dtype):
                t = Zero(v.aval)
            tenv[v] = t
            if primal_map is not None and type(o) is Tracer:
                primal_map[v] = o.var
    return [readp(a) for a in jaxpr.outvars], [readt(a) for a in jaxpr.outvars]


# --- partial evaluation: split the JVP into its primal and linear parts -------------------------

# prim -> rule(eqn, unknowns: list[bool]) -> (known eqns, unknown eqns).  Only for
# meta-operators holding sub-jaxprs (control flow), whose one equation may have to be split
# into a primal and a linear equation; residuals are found automatically (variables
# defined by known equations and read by unknown ones).
PARTIAL_EVAL: dict = {}

def split_known_eqns(eqns, known: set):
    """Sort ``eqns`` into known ones (every operand in ``known``) and unknown ones,
    splitting an equation whose meta-operator has a PARTIAL_EVAL rule.  ``known`` grows
    by the known equations' outputs."""
    k_eqns, l_eqns = [], []
    for eqn in eqns:
        if all(type(a) is Literal or a in known for a in eqn.invars):
            k_eqns.append(eqn)
            known.update(eqn.outvars)
        elif eqn.prim in PARTIAL_EVAL:
            # e.g. a loop whose body is part primal, part linear: the rule splits it
            unknowns = [not (type(a) is Literal or a in known) for a in eqn.invars]
            ks, us = PARTIAL_EVAL[eqn.prim](eqn, unknowns)
            k_eqns.extend(ks)
            for e in ks:
                known.update(e.outvars)
            l_eqns.extend(us)
        else:
            l_eqns.append(eqn)
    return k_eqns, l_eqns


def partial_eval(J: ClosedJaxpr, n_known_in: int, force_unknown_outs=None):
    """Split ``J`` (inputs: ``n_known_in`` known ones, then unknown ones) into

    * ``K`` (ClosedJaxpr): known inputs -> known outputs ... + residuals
    * ``L`` (Jaxpr): residuals + unknown inputs -> every output of ``J`` that is unknown
      (or is computed by unknown equations)

    Returns ``(K, L, n_res, out_known)``: ``out_known[i]`` says whether output ``i``
    of ``J`` is an output of ``K`` (otherwise it is an output of ``L``).  An equation
    is unknown iff it depends on an unknown input.
    """
    j = J.jaxpr
    known = set(j.constvars) | set(j.invars[:n_known_in])
    k_eqns, l_eqns = split_known_eqns(j.eqns, known)
    out_known = [type(a) is Literal or a in known for a in j.outvars]
    if force_unknown_outs is not None:   # outputs that L must return even if known
        out_known = [k and not f for k, f in zip(out_known, force_unknown_outs)]
    l_outs = [a for a, k in zip(j.outvars, out_known) if not k]
    L0 = passes.dce(Jaxpr([], j.invars[n_known_in:], l_eqns, l_outs))
    res, seen = [], set()
    for eqn in L0.eqns:
        for a in eqn.invars:
            if type(a) is Var and a in known and a not in seen:
                seen.add(a)
                res.append(a)
    for a in L0.outvars:
        if type(a) is Var and a in known and a not in seen:
            seen.add(a)
            res.append(a)
    k_outs = [a for a, k in zip(j.outvars, out_known) if k] + res
    K = passes.dce(Jaxpr(j.constvars, j.invars[:n_known_in], k_eqns, k_outs))
    K = ClosedJaxpr(K, J.consts)
    L = Jaxpr([], res + list(j.invars[n_known_in:]), L0.eqns, L0.outvars)
    return K, L, len(res), out_known


# --- transposition ------------------------------------------------------------------------------

def backward_pass(L: Jaxpr, n_res: int, res_vals, cts):
    """Cotangents of the linear inputs of ``L`` given cotangents of its outputs
    (``None``/``Zero`` = zero).  Binds into the current trace."""
    lin = set(L.invars[n_res:])
    env: dict = {}

    def read(a):
        return a if type(a) is Literal else env[a]

    for v, x in zip(L.invars[:n_res], res_vals):
        env[v] = x
    lin_eqns = []
    for eqn in L.eqns:
        if any(type(a) is Var and a in lin for a in eqn.invars):
            lin.update(eqn.outvars)
            lin_eqns.append(eqn)
        else:
            outs = bind(eqn.prim, *[read(a) for a in eqn.invars], **eqn.params)
            outs = outs if eqn.prim.multiple_results else [outs]
            for v, o in zip(eqn.outvars, outs):
                env[v] = o
    ct_env: dict = {}
    for v, ct in zip(L.outvars, cts):
        if type(v) is Var and v in lin and ct is not None and type(ct) is not Zero:
            ct_env[v] = _add(ct_env.get(v), ct)
    for eqn in reversed(lin_eqns):
        cts_out = [ct_env.pop(v, None) for v in eqn.outvars]
        if all(c is None for c in cts_out):
            continue
        rule = TRANSPOSE.get(eqn.prim)
        if rule is None:
            raise NonDifferentiableError(
                f"internal error: the linear part of a derivative contains the non-linear "
                f"meta-operator {eqn.prim.name!r}"
                f"{' (at ' + str(eqn.source) + ')' if eqn.source else ''}")
        args = [LinearIn(a.aval) if type(a) is Var and a in lin else read(a)
                for a in eqn.invars]
        if eqn.prim.multiple_results:
            ct_arg = cts_out
        else:
            ct_arg = cts_out[0]
        _current_eqn[0] = eqn
        try:
            cts_in = rule(ct_arg, *args, **eqn.params)
        finally:
            _current_eqn[0] = None
        for a, c in zip(eqn.invars, cts_in):
            if c is not None and type(c) is not Zero and type(a) is Var and a in lin:
                ct_env[a] = _add(ct_env.get(a), c)
    return [ct_env.get(v) for v in L.invars[n_res:]]


def transpose_linear(L: Jaxpr, n_res: int, ct_in) -> ClosedJaxpr:
    """The transpose of ``L`` as a jaxpr ``(residuals..., cts...) -> cts of L's linear
    inputs``.  ``ct_in[i]`` is an aval (a jaxpr input) or a Literal (a fixed
    cotangent, e.g. 1.0 for ``grad``)."""
    b = Builder()
    with trace_scope(b):
        res = [b.new_arg(v.aval) for v in L.invars[:n_res]]
        cts = [c if type(c) is Literal else b.new_arg(c) for c in ct_in]
        outs = backward_pass(L, n_res, res, cts)
        outs = [instantiate(o, v.aval) for o, v in zip(outs, L.invars[n_res:])]
        T = b.to_jaxpr(outs)
    return passes.simplify(T)


# --- tracing user functions ------------------------------------------------------------------------

class _RecordingBuilder(Builder):
    """A Builder that remembers the concrete value of every variable it made."""

    def __init__(self, concrete):
        super().__init__(concrete)
        self.vals: dict = {}

    def new_arg(self, aval, val=None):
        t = super().new_arg(aval, val)
        if t.val is not None:
            self.vals[t.var] = t.val
        return t

    def add_eqn(self, prim, args, params):
        outs = super().add_eqn(prim, args, params)
        if self.concrete:
            for o in outs:
                if o.val is not None:
                    self.vals[o.var] = o.val
        return outs


def add_eqn_with_values(prim, args, params, out_vals):
    """Bind ``prim`` into the current trace, giving its outputs known values
    (when a concrete trace already computed them) instead of running it."""
    b = core.find_builder()
    if b is None or not b.concrete or out_vals is None or \
            any(Builder.value_of(a) is None for a in args if type(a) is Tracer):
        return bind(prim, *args, **params)
    invars = [b.atom(a) for a in args]
    out_avals = prim.abstract_eval(*[a.aval for a in invars], **params)
    outvars = [Var(a) for a in out_avals]
    b.eqns.append(Eqn(prim, invars, outvars, params, core.source_here()))
    outs = [Tracer(b, v, val) for v, val in zip(outvars, out_vals)]
    if isinstance(b, _RecordingBuilder):
        for o in outs:
            b.vals[o.var] = o.val
    return outs


def _value(x):
    t = type(x)
    if t is Tracer:
        return x.val
    return x


def _prep_leaf(x, what):
    """(leaf as an operand, its aval, its concrete value or None)."""
    from .api import _leaf_aval
    aval = _leaf_aval(x, what)
    if isinstance(x, (np.ndarray, np.generic)) and not isinstance(x, Tracer):
        x = core.array_from_numpy(np.asarray(x))
        aval = x.aval
    val = _value(x)
    if val is not None and type(val) in (int, float, complex, bool):
        val = core.array_from_numpy(np.asarray(val, aval.dtype), weak_type=aval.weak_type)
    return x, aval, val


def trace_flat(fun, leaves, avals, vals):
    """Trace ``fun(*leaf_tracers) -> flat outputs`` (concrete when every value is known).
    Returns (ClosedJaxpr, out extra, recorded values or None)."""
    concrete = all(v is not None for v in vals)
    b = _RecordingBuilder(concrete)
    with trace_scope(b):
        tracers = [b.new_arg(a, v if concrete else None) for a, v in zip(avals, vals)]
        outs, extra = fun(*tracers)
        for i, o in enumerate(outs):
            if not isinstance(o, (Tracer, np.ndarray, np.generic, int, float, complex, bool)) \
                    and type(o) not in core._ARRAY_TYPES:
                raise TypeError(f"the differentiated function returned a {type(o).__name__} "
                                f"({o!r:.60}) at output {i}; outputs must be arrays or scalars")
        closed = b.to_jaxpr(list(outs))
    return closed, extra, (b.vals if concrete else None)


def _seed_env(primal_map, vals):
    if vals is None or primal_map is None or core._stack:
        return None
    env = {}
    for v, nv in primal_map.items():
        x = vals.get(v)
        if x is not None:
            env[nv] = x
    return env


# --- linearization: the shared core of jvp/vjp/linearize -------------------------------------

class _Linearized:
    """Result of tracing + JVP + partial evaluation of a flat function."""

    __slots__ = ("primal_outs", "residuals", "L", "n_res", "out_nz", "in_avals",
                 "lin_leaves", "extra", "out_avals", "n_lin")


def _as_array(x, aval):
    """Outputs of eval_jaxpr that are Literal values become arrays."""
    if type(x) is Tracer or type(x) in core._ARRAY_TYPES:
        return x
    return core.array_from_numpy(np.asarray(x, aval.dtype), weak_type=aval.weak_type)


def _linearize_flat(fun, leaves, diff_mask, mode):
    """Trace ``fun`` (flat leaves -> (flat outs, (n_lin, extra))) at ``leaves``,
    differentiate with respect to the leaves in ``diff_mask`` and evaluate the primal
    part now (into the current trace).  Only the first ``n_lin`` outputs get tangents
    (the others are auxiliary)."""
    prepped = [_prep_leaf(x, f"argument {i}") for i, x in enumerate(leaves)]
    leaves = [p[0] for p in prepped]
    avals = [p[1] for p in prepped]
    vals = [p[2] for p in prepped]
    closed, (n_lin, extra), recorded = trace_flat(fun, leaves, avals, vals)
    n_out = len(closed.jaxpr.outvars)
    nonzeros = [bool(m) and _is_diff_dtype(a.dtype) for m, a in zip(diff_mask, avals)]
    pmap: dict = {}
    J, out_nz = jvp_jaxpr(closed, nonzeros, instantiate_out=False, mode=mode, primal_map=pmap)
    j = J.jaxpr
    t_outs = iter(j.outvars[n_out:])
    kept_t, lin_nz = [], []
    for i, nz in enumerate(out_nz):
        if nz:
            v = next(t_outs)
            if i < n_lin:
                kept_t.append(v)
        lin_nz.append(nz and i < n_lin)
    J = ClosedJaxpr(Jaxpr(j.constvars, j.invars, j.eqns, j.outvars[:n_out] + kept_t), J.consts)
    K, L, n_res, out_known = partial_eval(J, len(avals))
    assert all(out_known[:n_out]), "a primal output depends on a tangent"
    env = _seed_env(pmap, recorded)
    kouts = eval_jaxpr(K.jaxpr, K.consts, leaves, env)
    n_known_t = sum(out_known[n_out:])
    r = _Linearized()
    r.out_avals = closed.jaxpr.out_avals
    r.primal_outs = [_as_array(x, a) for x, a in zip(kouts[:n_out], r.out_avals)]
    r.residuals = kouts[n_out + n_known_t:]
    r.L = L
    r.n_res = n_res
    # a tangent output that does not depend on any tangent is zero: L has no output for it
    known_iter = iter(out_known[n_out:])
    r.out_nz = [nz and not next(known_iter) if nz else False for nz in lin_nz]
    r.in_avals = avals
    r.lin_leaves = [i for i, nz in enumerate(nonzeros) if nz]
    r.extra = extra
    r.n_lin = n_lin
    return r


def _zeros_value(aval):
    if not _is_diff_dtype(aval.dtype):
        return np.zeros(aval.shape, float0)
    return core.array_from_numpy(np.zeros(aval.shape, aval.dtype), weak_type=aval.weak_type)


def _leaf_aval_any(x):
    if isinstance(x, (int, float, complex, bool)):
        return core.aval_of_scalar(x)
    return lax.aval(x)


# --- public API -------------------------------------------------------------------------------------

def _check_argnums(fname, argnums, nargs):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for a in nums:
        if not isinstance(a, int):
            raise TypeError(f"{fname}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -nargs <= a < nargs:
            raise ValueError(f"{fname}: argnums={argnums!r} refers to argument {a}, but the "
                             f"function was called with only {nargs} positional argument"
                             f"{'s' if nargs != 1 else ''}")
    return single, tuple(a % nargs for a in nums)


def _fun_name(f):
    return getattr(f, "__name__", type(f).__name__)


def _check_inexact(fname, leaves, argnums_desc, allow_int=False):
    from .api import _leaf_aval
    for x in leaves:
        a = _leaf_aval(x, fname)
        if not _is_diff_dtype(a.dtype) and not allow_int:
            raise TypeError(
                f"{fname} requires real- or complex-valued inputs (input dtype that is a "
                f"sub-dtype of np.inexact), but got {a.dtype.name} for {argnums_desc}. If you "
                f"want to use integer-valued inputs, use vjp or set allow_int to True.")


def _split_aux(fname, fun, out, has_aux):
    if not has_aux:
        return out, [], None
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(f"{fname}(..., has_aux=True): {_fun_name(fun)} must return a pair "
                        f"(output, aux), got {type(out).__name__}"
                        f"{' of length ' + str(len(out)) if isinstance(out, (tuple, list)) else ''}")
    out, aux = out
    aux_leaves, aux_tree = tree_flatten(aux)
    return out, aux_leaves, aux_tree


def vjp(fun, *primals, has_aux=False):
    """``(primal_out, vjp_fn)`` or ``(primal_out, vjp_fn, aux)``; ``vjp_fn(ct)`` returns a
    tuple with one cotangent per primal."""
    leaves, in_tree = tree_flatten(primals)

    def flat(*xs):
        out = fun(*tree_unflatten(in_tree, xs))
        out, aux_leaves, aux_tree = _split_aux("vjp", fun, out, has_aux)
        o_leaves, o_tree = tree_flatten(out)
        return list(o_leaves) + list(aux_leaves), (len(o_leaves), (o_tree, aux_tree))

    r = _linearize_flat(flat, leaves, [True] * len(leaves), "rev")
    n = r.n_lin
    o_tree, aux_tree = r.extra
    out = tree_unflatten(o_tree, r.primal_outs[:n])
    cache = {}

    def vjp_fn(ct):
        ct_leaves, ct_tree = tree_flatten(ct)
        if ct_tree != o_tree:
            raise TypeError(f"vjp: the cotangent has structure {ct_tree}, but the primal "
                            f"output has structure {o_tree}")
        cts = []
        for i, (c, a) in enumerate(zip(ct_leaves, r.out_avals[:n])):
            ca = _leaf_aval_any(c)
            if ca.shape != a.shape:
                raise TypeError(f"vjp: cotangent of shape {ca.shape} given for an output of "
                                f"shape {a.shape}")
            if r.out_nz[i]:
                if not isinstance(c, Tracer) and type(c) not in core._ARRAY_TYPES:
                    c = core.array_from_numpy(np.asarray(c, a.dtype))
                cts.append(c)
        T = cache.get("T")
        if T is None:
            T = cache["T"] = transpose_linear(r.L, r.n_res, [v.aval for v in r.L.outvars])
        in_cts = eval_jaxpr(T.jaxpr, T.consts, list(r.residuals) + cts)
        by_leaf = dict(zip(r.lin_leaves, in_cts))
        full = [_as_array(by_leaf[i], a) if i in by_leaf else _zeros_value(a)
                for i, a in enumerate(r.in_avals)]
        return tree_unflatten(in_tree, full)

    if has_aux:
        return out, vjp_fn, tree_unflatten(aux_tree, r.primal_outs[n:])
    return out, vjp_fn


def _grad_core(fname, fun, argnums, has_aux, args, kwargs, allow_int=False):
    single, nums = _check_argnums(fname, argnums, len(args))
    d_leaves, d_tree = tree_flatten(tuple(args[i] for i in nums))
    _check_inexact(fname, d_leaves, f"argnums={argnums!r}", allow_int)
    # only the differentiated arguments are traced; the others are closed over as they are
    # (as in JAX: a static int stays a Python int)
    leaves, in_tree = d_leaves, d_tree

    def call(dyn_vals):
        full = list(args)
        for i, v in zip(nums, dyn_vals):
            full[i] = v
        return fun(*full, **kwargs)

    def flat(*xs):
        out = call(tree_unflatten(in_tree, xs))
        out, aux_leaves, aux_tree = _split_aux(fname, fun, out, has_aux)
        o_leaves, o_tree = tree_flatten(out)
        if len(o_leaves) != 1 or o_tree != LEAF:
            raise TypeError(f"{fname} requires a scalar output, but {_fun_name(fun)} returned "
                            f"a {type(out).__name__} with structure {o_tree}")
        o = o_leaves[0]
        oa = _leaf_aval_any(o)
        if oa.shape != ():
            raise TypeError(f"{fname} requires a scalar output, but {_fun_name(fun)} returned "
                            f"an array of shape {oa.shape} ({oa.str_short()}); use vjp or "
                            f"jacrev for non-scalar outputs")
        if not _is_diff_dtype(oa.dtype):
            raise TypeError(f"{fname} requires a real- or complex-valued output, but "
                            f"{_fun_name(fun)} returned {oa.str_short()}")
        return [o] + list(aux_leaves), (1, aux_tree)

    r = _linearize_flat(flat, leaves, [True] * len(leaves), "rev")
    value = r.primal_outs[0]
    aux = tree_unflatten(r.extra, r.primal_outs[1:]) if has_aux else None
    oa = r.out_avals[0]
    if r.out_nz[0]:
        one = Literal(np.ones((), oa.dtype)[()], ShapedArray((), oa.dtype, oa.weak_type))
        T = transpose_linear(r.L, r.n_res, [one])
        cts = eval_jaxpr(T.jaxpr, T.consts, list(r.residuals))
    else:
        cts = [None] * len(r.lin_leaves)
    by_leaf = dict(zip(r.lin_leaves, cts))
    grads_flat = []
    for i, a in enumerate(r.in_avals):
        g = by_leaf.get(i)
        grads_flat.append(_zeros_value(a) if g is None else _as_array(g, a))
    g_tree = tree_unflatten(d_tree, grads_flat)
    return value, (g_tree[0] if single else g_tree), aux


def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False,
                   reduce_axes=()):
    """``(f(*args), df/dargs)`` (and ``aux`` with ``has_aux``: ``((value, aux), grad)``)."""
    _check_argnums_static(argnums)

    @functools.wraps(fun)
    def vg(*args, **kwargs):
        value, g, aux = _grad_core("value_and_grad", fun, argnums, has_aux, args, kwargs,
                                   allow_int)
        if has_aux:
            return (value, aux), g
        return value, g
    return vg


def grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False, reduce_axes=()):
    """The gradient of scalar-valued ``fun`` with respect to argument(s) ``argnums``."""
    _check_argnums_static(argnums)

    @functools.wraps(fun)
    def g(*args, **kwargs):
        value, gr, aux = _grad_core("grad", fun, argnums, has_aux, args, kwargs, allow_int)
        return (gr, aux) if has_aux else gr
    return g


def _check_argnums_static(argnums):
    if isinstance(argnums, int):
        return
    if not isinstance(argnums, (tuple, list)) or not all(isinstance(a, int) for a in argnums):
        raise TypeError(f"argnums must be an int or a tuple of ints, got {argnums!r}")


def _jvp_flat(fun, primals, tangents, has_aux, mode="fwd"):
    p_leaves, p_tree = tree_flatten(tuple(primals))
    t_leaves, t_tree = tree_flatten(tuple(tangents))
    if p_tree != t_tree:
        raise TypeError(f"jvp: primal and tangent arguments must have the same tree structure; "
                        f"got {p_tree} and {t_tree}")
    prepped = [_prep_leaf(x, f"jvp primal {i}") for i, x in enumerate(p_leaves)]
    leaves = [p[0] for p in prepped]
    avals = [p[1] for p in prepped]
    vals = [p[2] for p in prepped]
    for p, t, a in zip(p_leaves, t_leaves, avals):
        ta = np.dtype(float0) if getattr(t, "dtype", None) == float0 else \
            (core.aval_of_scalar(t).dtype if isinstance(t, (int, float, complex, bool))
             else lax.aval(t).dtype)
        tshape = np.shape(t) if isinstance(t, (np.ndarray, np.generic, int, float)) else \
            lax.aval(t).shape
        if tuple(tshape) != a.shape:
            raise ValueError(f"jvp: primal and tangent shapes must match, got primal "
                             f"{a.str_short()} and tangent of shape {tuple(tshape)}")
        if _is_diff_dtype(a.dtype):
            if ta != a.dtype and not (isinstance(t, (int, float))):
                raise TypeError(f"jvp: the tangent of a {a.dtype.name} primal must have dtype "
                                f"{a.dtype.name}, got {ta}")
        elif ta != float0 and not (isinstance(t, np.ndarray) and t.dtype == float0):
            raise TypeError(f"jvp: the tangent of an integer or boolean primal ({a.str_short()}) "
                            f"must have dtype float0, got {ta}")
    def flat(*xs):
        out = fun(*tree_unflatten(p_tree, xs))
        out, aux_leaves, aux_tree = _split_aux("jvp", fun, out, has_aux)
        o_leaves, o_tree = tree_flatten(out)
        return list(o_leaves) + list(aux_leaves), (len(o_leaves), (o_tree, aux_tree))

    closed, (n, extra), recorded = trace_flat(flat, leaves, avals, vals)
    nonzeros = [_is_diff_dtype(a.dtype) for a in avals]
    pmap: dict = {}
    n_all = len(closed.jaxpr.outvars)
    J, out_nz = jvp_jaxpr(closed, nonzeros, instantiate_out=[i < n for i in range(n_all)],
                          mode=mode, primal_map=pmap)
    tans = []
    for t, a, nz in zip(t_leaves, avals, nonzeros):
        if nz:
            if isinstance(t, (int, float)):
                t = np.asarray(t, a.dtype)
            if isinstance(t, np.ndarray):
                t = core.array_from_numpy(t)
            tans.append(t)
    env = _seed_env(pmap, recorded)
    outs = eval_jaxpr(J.jaxpr, J.consts, list(leaves) + tans, env)
    out_avals = closed.jaxpr.out_avals
    prim_outs = [_as_array(x, a) for x, a in zip(outs[:n_all], out_avals)]
    t_outs = [_as_array(x, a) for x, a in zip(outs[n_all:], out_avals)]
    o_tree, aux_tree = extra
    touts = []
    for i in range(n):
        a = out_avals[i]
        t = t_outs[i]
        if not _is_diff_dtype(a.dtype):
            t = np.zeros(a.shape, float0)
        touts.append(t)
    res = (tree_unflatten(o_tree, prim_outs[:n]), tree_unflatten(o_tree, touts))
    if has_aux:
        return res + (tree_unflatten(aux_tree, prim_outs[n:]),)
    return res


def jvp(fun, primals, tangents, has_aux=False):
    """``(fun(*primals), d fun(primals) . tangents)``; forward mode."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists, got "
                        f"{type(primals).__name__} and {type(tangents).__name__}")
    if len(primals) != len(tangents):
        raise TypeError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    return _jvp_flat(fun, primals, tangents, has_aux)


def linearize(fun, *primals, has_aux=False):
    """``(fun(*primals), f_jvp)``: the primal computation now, the linear one for later."""
    leaves, in_tree = tree_flatten(tuple(primals))

    def flat(*xs):
        out = fun(*tree_unflatten(in_tree, xs))
        out, aux_leaves, aux_tree = _split_aux("linearize", fun, out, has_aux)
        o_leaves, o_tree = tree_flatten(out)
        return list(o_leaves) + list(aux_leaves), (len(o_leaves), (o_tree, aux_tree))

    r = _linearize_flat(flat, leaves, [True] * len(leaves), "fwd")
    n = r.n_lin
    o_tree, aux_tree = r.extra
    leaf_avals = r.in_avals
    nonzeros = [_is_diff_dtype(a.dtype) for a in leaf_avals]
    out = tree_unflatten(o_tree, r.primal_outs[:n])

    def f_jvp(*tangents):
        t_leaves, t_tree = tree_flatten(tuple(tangents))
        if t_tree != in_tree:
            raise TypeError(f"linearize: tangents must have the structure of the primals "
                            f"({in_tree}), got {t_tree}")
        ts = []
        for t, a, nz in zip(t_leaves, leaf_avals, nonzeros):
            if nz:
                if isinstance(t, (int, float, np.ndarray, np.generic)):
                    t = core.array_from_numpy(np.asarray(t, a.dtype))
                ts.append(t)
        louts = eval_jaxpr(r.L, [], list(r.residuals) + ts)
        it = iter(louts)
        touts = []
        for i in range(n):
            a = r.out_avals[i]
            touts.append(_as_array(next(it), a) if r.out_nz[i] else _zeros_value(a))
        return tree_unflatten(o_tree, touts)

    if has_aux:
        return out, f_jvp, tree_unflatten(aux_tree, r.primal_outs[n:])
    return out, f_jvp


# --- Jacobians and Hessians ----------------------------------------------------------------

def _map_over_basis(fn, basis):
    """Stack ``fn(basis[i])`` over the rows of ``basis`` (a NumPy (n, m) array) with one
    ``vmap``: the per-basis-vector JVP/VJP is written once in the IR, with a batch
    dimension, rather than once per basis vector.  Returns the pytree of ``fn``'s output
    with every leaf stacked along a new leading axis."""
    from . import numpy as jnp
    from .batching import vmap
    from .tree_util import tree_map
    if basis.shape[0] == 0:
        raise ValueError("cannot take a Jacobian with respect to an input with no elements")
    n = basis.shape[0]

    def fn_(vec):
        # float0 leaves (cotangents of integer inputs) cannot be batched: replace them by
        # a marker and rebuild them after the vmap
        out = fn(vec)
        return tree_map(lambda x: _F0Leaf(np.shape(x)) if getattr(x, "dtype", None) == float0
                        else x, out)
    marks = {}

    def strip(vec):
        out = fn_(vec)
        leaves, tree = tree_flatten(out, is_leaf=lambda x: isinstance(x, _F0Leaf))
        marks["tree"] = tree
        marks["f0"] = {i: x.shape for i, x in enumerate(leaves) if isinstance(x, _F0Leaf)}
        return [x for x in leaves if not isinstance(x, _F0Leaf)]
    arrs = vmap(strip)(jnp.asarray(basis))
    it = iter(arrs)
    leaves = [np.zeros((n,) + marks["f0"][i], float0) if i in marks["f0"] else next(it)
              for i in range(marks["tree"].num_leaves)]
    return tree_unflatten(marks["tree"], leaves)


class _F0Leaf:
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = tuple(shape)


def _std_basis(avals):
    n = sum(a.size for a in avals)
    dt = dtypes.canonicalize(np.result_type(*[a.dtype for a in avals]))
    return np.eye(n, dtype=dt)


def _split_flat(vec, avals):
    """Split a flat vector into leaves of the given avals."""
    from . import numpy as jnp
    out, off = [], 0
    for a in avals:
        piece = vec[off:off + a.size]
        out.append(jnp.reshape(jnp.asarray(piece, a.dtype), a.shape))
        off += a.size
    return out


def _dyn_args(fname, args, argnums):
    single, nums = _check_argnums(fname, argnums, len(args))
    return single, nums


def jacfwd(fun, argnums=0, has_aux=False, holomorphic=False):
    """Jacobian by forward mode: one JVP per input element (stacked by ``_map_over_basis``)."""
    _check_argnums_static(argnums)

    def jacfun(*args, **kwargs):
        from . import numpy as jnp
        single, nums = _dyn_args("jacfwd", args, argnums)
        dyn = tuple(args[i] for i in nums)
        d_leaves, d_tree = tree_flatten(dyn)
        _check_inexact("jacfwd", d_leaves, f"argnums={argnums!r}")

        def f_dyn(*dyn_vals):
            full = list(args)
            for i, v in zip(nums, dyn_vals):
                full[i] = v
            return fun(*full, **kwargs)
        if has_aux:
            out, f_jvp, aux = linearize(f_dyn, *dyn, has_aux=True)
        else:
            out, f_jvp = linearize(f_dyn, *dyn)
            aux = None
        in_avals = [_prep_leaf(x, "jacfwd input")[1] for x in d_leaves]
        basis = _std_basis(in_avals)

        def push(vec):
            ts = _split_flat(vec, in_avals)
            return f_jvp(*tree_unflatten(d_tree, ts))
        stacked = _map_over_basis(push, basis)
        o_leaves, o_tree = tree_flatten(out)
        s_leaves = tree_flatten(stacked)[0]
        jac_leaves = []
        for o, s in zip(o_leaves, s_leaves):
            oshape = tuple(np.shape(o)) if not hasattr(o, "shape") else tuple(o.shape)
            per_in, off = [], 0
            for a in in_avals:
                piece = s[off:off + a.size]            # (size_in, *oshape)
                piece = jnp.moveaxis(piece, 0, -1)     # (*oshape, size_in)
                per_in.append(jnp.reshape(piece, oshape + a.shape))
                off += a.size
            t = tree_unflatten(d_tree, per_in)
            jac_leaves.append(t[0] if single else t)
        jac = tree_unflatten(o_tree, jac_leaves)
        return (jac, aux) if has_aux else jac
    return jacfun


def jacrev(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """Jacobian by reverse mode: one VJP per output element (stacked by ``_map_over_basis``)."""
    _check_argnums_static(argnums)

    def jacfun(*args, **kwargs):
        from . import numpy as jnp
        single, nums = _dyn_args("jacrev", args, argnums)
        dyn = tuple(args[i] for i in nums)
        d_leaves, d_tree = tree_flatten(dyn)
        _check_inexact("jacrev", d_leaves, f"argnums={argnums!r}", allow_int)

        def f_dyn(*dyn_vals):
            full = list(args)
            for i, v in zip(nums, dyn_vals):
                full[i] = v
            return fun(*full, **kwargs)
        if has_aux:
            out, pullback, aux = vjp(f_dyn, *dyn, has_aux=True)
        else:
            out, pullback = vjp(f_dyn, *dyn)
            aux = None
        o_leaves, o_tree = tree_flatten(out)
        out_avals = [lax.aval(o) if not isinstance(o, (int, float, complex, bool)) else
                     core.aval_of_scalar(o) for o in o_leaves]
        for a in out_avals:
            if not _is_diff_dtype(a.dtype):
                raise TypeError(f"jacrev requires real- or complex-valued outputs, got "
                                f"{a.str_short()}")
        basis = _std_basis(out_avals)

        def pull(vec):
            cts = _split_flat(vec, out_avals)
            return pullback(tree_unflatten(o_tree, cts))
        stacked = _map_over_basis(pull, basis)      # pytree of dyn args, leaves (n_out, *in)
        s_leaves = tree_flatten(stacked)[0]
        in_avals = [_prep_leaf(x, "jacrev input")[1] for x in d_leaves]
        jac_leaves = []
        off = 0
        for a_out in out_avals:
            per_in = []
            for s, a_in in zip(s_leaves, in_avals):
                piece = s[off:off + a_out.size]
                reshape = np.reshape if getattr(piece, "dtype", None) == float0 else jnp.reshape
                per_in.append(reshape(piece, a_out.shape + a_in.shape))
            off += a_out.size
            t = tree_unflatten(d_tree, per_in)
            jac_leaves.append(t[0] if single else t)
        jac = tree_unflatten(o_tree, jac_leaves)
        return (jac, aux) if has_aux else jac
    return jacfun


def hessian(fun, argnums=0, has_aux=False, holomorphic=False):
    """``jacfwd(jacrev(fun))``."""
    return jacfwd(jacrev(fun, argnums, has_aux=has_aux), argnums, has_aux=has_aux)


def stop_gradient(x):
    return lax.stop_gradient(x)


# --- control flow: cond / while / scan ------------------------------------------------------------
# JVP rules re-emit the control-flow op with JVP'd sub-jaxprs (loop carries get a tangent
# where a fixpoint says one can be nonzero).  Reverse mode: PARTIAL_EVAL splits a cond/scan
# equation into a known (primal) one that also returns residuals -- for scan, stacked per
# iteration as extra ys -- and an unknown (linear) one; TRANSPOSE of a linear cond is a cond
# of transposed branches, of a linear scan a reverse scan of the transposed body.

from primitives import control as _control   # noqa: E402


def _hoisted(closed: ClosedJaxpr):
    from .control_flow import hoist_consts
    return hoist_consts(closed)


def _permute(closed: ClosedJaxpr, in_perm=None, out_perm=None) -> ClosedJaxpr:
    """``closed`` with inputs/outputs reordered (``perm[k]`` = old index of new slot k)."""
    j = closed.jaxpr
    ins = list(j.invars) if in_perm is None else [j.invars[i] for i in in_perm]
    outs = list(j.outvars) if out_perm is None else [j.outvars[i] for i in out_perm]
    return ClosedJaxpr(Jaxpr(j.constvars, ins, j.eqns, outs), closed.consts)


def _trace_jaxpr(fn, avals) -> ClosedJaxpr:
    b = Builder()
    with trace_scope(b):
        args = [b.new_arg(a) for a in avals]
        outs = fn(*args)
        closed = b.to_jaxpr(list(outs))
    return passes.simplify(closed)


def _jvp_sub(closed, nonzeros, instantiate_out):
    """JVP of a consts-free sub-jaxpr; returns (ClosedJaxpr with consts hoisted, consts,
    out_nonzeros).  Inputs: primals, nonzero tangents; outputs: primals, nonzero tangents."""
    nonzeros = [bool(n) and _is_diff_dtype(a.dtype) for n, a in zip(nonzeros, closed.in_avals)]
    J, out_nz = jvp_jaxpr(closed, nonzeros, instantiate_out=instantiate_out, mode=_mode[0])
    J, consts = _hoisted(J)
    return J, consts, out_nz, nonzeros


def _carry_nz_fixpoint(body, n_before, nz_before, carry_nz, nz_after, n_carry_out):
    carry_nz = [bool(n) and _is_diff_dtype(a.dtype)
                for n, a in zip(carry_nz, body.in_avals[n_before:n_before + len(carry_nz)])]
    while True:
        _, out_nz = jvp_jaxpr(body, list(nz_before) + carry_nz + list(nz_after),
                              instantiate_out=False, mode=_mode[0])
        new = [a or b for a, b in zip(carry_nz, out_nz[:n_carry_out])]
        if new == carry_nz:
            return carry_nz
        carry_nz = new


def _nz(ts):
    return [type(t) is not Zero for t in ts]


def _cond_jvp(primals, tangents, *, branches):
    index, ops = primals[0], primals[1:]
    ts = tangents[1:]
    nz = [n and _is_diff_dtype(_aval(p).dtype) for n, p in zip(_nz(ts), ops)]
    out_nz = [False] * len(branches[0].out_avals)
    for br in branches:
        _, o = jvp_jaxpr(br, nz, instantiate_out=False, mode=_mode[0])
        out_nz = [a or b for a, b in zip(out_nz, o)]
    jv = [_jvp_sub(br, nz, out_nz) for br in branches]
    all_consts = [c for _, cs, _, _ in jv for c in cs]
    new = []
    for k, (J, cs, _, _) in enumerate(jv):
        pre = sum(len(c) for _, c, _, _ in jv[:k])
        post = sum(len(c) for _, c, _, _ in jv[k + 1:])
        j = J.jaxpr
        pad = [Var(_aval(c)) for c in all_consts[:pre]]
        pad2 = [Var(_aval(c)) for c in all_consts[pre + len(cs):]]
        assert len(pad2) == post
        from .control_flow import intern_jaxpr
        new.append(intern_jaxpr(Jaxpr([], pad + j.invars[:len(cs)] + pad2 + j.invars[len(cs):],
                                      j.eqns, j.outvars)))
    tin = [instantiate(t, _aval(p)) for t, p, n in zip(ts, ops, nz) if n]
    outs = bind(_control.cond, index, *all_consts, *ops, *tin, branches=tuple(new))
    n = len(out_nz)
    it = iter(outs[n:])
    touts = [next(it) if o else Zero(a) for o, a in zip(out_nz, branches[0].out_avals)]
    return outs[:n], touts


JVP[_control.cond] = _cond_jvp


def _scan_jvp(primals, tangents, *, jaxpr, length, reverse, num_consts, num_carry, unroll):
    nc, nk = num_consts, num_carry
    nz = [n and _is_diff_dtype(_aval(p).dtype) for n, p in zip(_nz(tangents), primals)]
    c_nz, k_nz, x_nz = nz[:nc], nz[nc:nc + nk], nz[nc + nk:]
    k_nz = _carry_nz_fixpoint(jaxpr, nc, c_nz, k_nz, x_nz, nk)
    n_ys = len(jaxpr.out_avals) - nk
    J, consts, out_nz, in_nz = _jvp_sub(jaxpr, c_nz + k_nz + x_nz, k_nz + [False] * n_ys)
    # J: [hoisted consts] + primals (c, k, x) + tangents (c, k, x nonzero) ->
    #    primal outs (k, y) + tangent outs (k nonzero, y nonzero)
    nh = len(consts)
    nx = len(primals) - nc - nk
    tc, tk, tx = sum(c_nz), sum(k_nz), sum(x_nz)
    P = nh + nc + nk + nx
    in_perm = (list(range(nh)) + list(range(nh, nh + nc)) + list(range(P, P + tc))
               + list(range(nh + nc, nh + nc + nk)) + list(range(P + tc, P + tc + tk))
               + list(range(nh + nc + nk, P)) + list(range(P + tc + tk, P + tc + tk + tx)))
    ty = sum(out_nz[nk:])
    no = nk + n_ys
    out_perm = (list(range(nk)) + list(range(no, no + tk)) + list(range(nk, no))
                + list(range(no + tk, no + tk + ty)))
    from .control_flow import intern_jaxpr
    Jp = _permute(J, in_perm, out_perm)
    new = intern_jaxpr(Jp.jaxpr)
    ps = primals
    tin = [instantiate(t, _aval(p)) for t, p, n in zip(tangents, ps, in_nz) if n]
    tcs, tks, txs = tin[:tc], tin[tc:tc + tk], tin[tc + tk:]
    outs = bind(_control.scan, *consts, *ps[:nc], *tcs, *ps[nc:nc + nk], *tks,
                *ps[nc + nk:], *txs, jaxpr=new, length=length, reverse=reverse,
                num_consts=nh + nc + tc, num_carry=nk + tk, unroll=unroll)
    k_out, tk_out = outs[:nk], outs[nk:nk + tk]
    y_out, ty_out = outs[nk + tk:nk + tk + n_ys], outs[nk + tk + n_ys:]
    out_avals = _control.scan.abstract_eval(*[_aval(p) for p in ps], jaxpr=jaxpr,
                                             length=length, reverse=reverse, num_consts=nc,
                                             num_carry=nk, unroll=unroll)
    it_k, it_y = iter(tk_out), iter(ty_out)
    touts = [next(it_k) if n else Zero(a) for n, a in zip(k_nz, out_avals[:nk])] + \
        [next(it_y) if n else Zero(a) for n, a in zip(out_nz[nk:], out_avals[nk:])]
    return list(k_out) + list(y_out), touts


JVP[_control.scan] = _scan_jvp


def _while_jvp(primals, tangents, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts,
               max_steps=None):
    ncc, nbc = cond_nconsts, body_nconsts
    nz = [n and _is_diff_dtype(_aval(p).dtype) for n, p in zip(_nz(tangents), primals)]
    b_nz, k_nz = nz[ncc:ncc + nbc], nz[ncc + nbc:]
    nk = len(k_nz)
    k_nz = _carry_nz_fixpoint(body_jaxpr, nbc, b_nz, k_nz, [], nk)
    J, consts, out_nz, in_nz = _jvp_sub(body_jaxpr, b_nz + k_nz, k_nz)
    nh = len(consts)
    tb, tk = sum(b_nz), sum(k_nz)
    P = nh + nbc + nk
    in_perm = (list(range(nh + nbc)) + list(range(P, P + tb)) + list(range(nh + nbc, P))
               + list(range(P + tb, P + tb + tk)))
    from .control_flow import intern_jaxpr
    body_new = intern_jaxpr(_permute(J, in_perm).jaxpr)
    cj = cond_jaxpr.jaxpr
    tk_avals = [a for a, n in zip(body_jaxpr.in_avals[nbc:], k_nz) if n]
    cond_new = intern_jaxpr(Jaxpr([], list(cj.invars) + [Var(a) for a in tk_avals],
                                  cj.eqns, cj.outvars))
    cc, bc, carry = primals[:ncc], primals[ncc:ncc + nbc], primals[ncc + nbc:]
    tin = [instantiate(t, _aval(p)) for t, p, n in zip(tangents[ncc:], primals[ncc:],
                                                      in_nz) if n]
    outs = bind(_control.while_, *cc, *consts, *bc, *tin[:tb], *carry, *tin[tb:],
                cond_jaxpr=cond_new, body_jaxpr=body_new, cond_nconsts=ncc,
                body_nconsts=nh + nbc + tb, max_steps=max_steps)
    it = iter(outs[nk:])
    touts = [next(it) if n else Zero(_aval(o)) for n, o in zip(k_nz, outs[:nk])]
    return outs[:nk], touts


JVP[_control.while_] = _while_jvp


# partial evaluation of control flow ---------------------------------------------------------------

def _pe_sub(closed: ClosedJaxpr, unknowns, force_unknown_outs=None):
    """Partial evaluation of a consts-free sub-jaxpr whose unknown inputs are anywhere:
    ``K``: known inputs (in order) -> known outputs + residuals; ``L`` (Jaxpr): residuals +
    unknown inputs (in order) -> unknown outputs."""
    perm = [i for i, u in enumerate(unknowns) if not u] + [i for i, u in enumerate(unknowns) if u]
    K, L, n_res, out_known = partial_eval(_permute(closed, perm), sum(not u for u in unknowns),
                                          force_unknown_outs)
    if K.consts:
        raise NotImplementedError("partial evaluation of a control-flow body created consts")
    return K, L, n_res, out_known


def _interned(closed: ClosedJaxpr) -> ClosedJaxpr:
    from .control_flow import intern_jaxpr
    if closed.consts:
        raise NotImplementedError("a control-flow sub-jaxpr built by autodiff has consts")
    return intern_jaxpr(closed.jaxpr)


def _scan_partial_eval(eqn, unknowns):
    p = eqn.params
    body, nc, nk = p["jaxpr"], p["num_consts"], p["num_carry"]
    length = p["length"]
    if all(unknowns):
        return [], [eqn]
    c_uk, k_uk, x_uk = unknowns[:nc], list(unknowns[nc:nc + nk]), unknowns[nc + nk:]
    n_ys = len(body.out_avals) - nk
    while True:
        _, _, _, ok = _pe_sub(body, c_uk + k_uk + x_uk)
        new = [u or not k for u, k in zip(k_uk, ok[:nk])]
        if new == k_uk:
            break
        k_uk = new
    uk = c_uk + k_uk + x_uk
    K, L, n_res, out_known = _pe_sub(body, uk, k_uk + [False] * n_ys)
    ins = list(eqn.invars)
    kc = [a for a, u in zip(ins[:nc], c_uk) if not u]
    kk = [a for a, u in zip(ins[nc:nc + nk], k_uk) if not u]
    kx = [a for a, u in zip(ins[nc + nk:], x_uk) if not u]
    n_kout = sum(out_known)
    # Residuals come in three kinds: loop-invariant ones (functions of the known consts
    # only: computed once, outside the loop, and passed to the linear scan as consts
    # instead of being stacked `length` times), known xs read unchanged (the linear scan
    # reads the original xs), and the rest, stacked per iteration as extra ys.
    kj = K.jaxpr
    invariant = _invariant_vars(kj, len(kc))
    x_pos = {v: i for i, v in enumerate(kj.invars[len(kc) + len(kk):])}
    res_out = kj.outvars[n_kout:]
    hoist_eqns, inv_atoms = _hoist_invariant(kj, kc, [r for r in res_out if r in invariant])
    inv_iter = iter(inv_atoms)
    res_in: list = []          # per residual: the atom the linear scan reads
    stacked: list = []         # (index in res_out) of residuals stacked as ys
    inv_idx = []
    for i, r in enumerate(res_out):
        if r in invariant:
            inv_idx.append(i)
            res_in.append(next(inv_iter))
        elif r in x_pos:
            res_in.append(kx[x_pos[r]])
        else:
            stacked.append(i)
            res_in.append(Var(ShapedArray((length,) + r.aval.shape, r.aval.dtype,
                                          r.aval.weak_type)))
    K = passes.dce(Jaxpr([], kj.invars, kj.eqns,
                         kj.outvars[:n_kout] + [res_out[i] for i in stacked]))
    k_outs = [v for v, k in zip(eqn.outvars, out_known) if k]
    known = Eqn(_control.scan, kc + kk + kx, k_outs + [res_in[i] for i in stacked],
                dict(p, jaxpr=_interned(ClosedJaxpr(K, [])), num_consts=len(kc),
                     num_carry=len(kk)),
                eqn.source)
    uc = [a for a, u in zip(ins[:nc], c_uk) if u]
    ukk = [a for a, u in zip(ins[nc:nc + nk], k_uk) if u]
    ux = [a for a, u in zip(ins[nc + nk:], x_uk) if u]
    li = L.invars
    nuc, nuk = len(uc), len(ukk)
    per_step = [i for i in range(n_res) if i not in set(inv_idx)]
    Lp = Jaxpr([], li[n_res:n_res + nuc] + [li[i] for i in inv_idx]
               + li[n_res + nuc:n_res + nuc + nuk] + [li[i] for i in per_step]
               + li[n_res + nuc + nuk:], L.eqns, L.outvars)
    u_outs = [v for v, k in zip(eqn.outvars, out_known) if not k]
    unknown = Eqn(_control.scan, uc + [res_in[i] for i in inv_idx] + ukk
                  + [res_in[i] for i in per_step] + ux, u_outs,
                  dict(p, jaxpr=_interned(ClosedJaxpr(Lp, [])), num_consts=nuc + len(inv_idx),
                       num_carry=nuk),
                  eqn.source)
    return hoist_eqns + [known], [unknown]


def _invariant_vars(j: Jaxpr, n_consts: int) -> set:
    """The variables of a scan body that depend on its first ``n_consts`` inputs only."""
    inv = set(j.invars[:n_consts])
    for e in j.eqns:
        if e.prim not in passes.EFFECTFUL and \
                all(type(a) is Literal or a in inv for a in e.invars):
            inv.update(e.outvars)
    return inv


def _hoist_invariant(j: Jaxpr, outer_consts, wanted):
    """Equations computing the loop-invariant body variables ``wanted`` from the scan's
    operands ``outer_consts`` (the body's first inputs), with fresh variables; returns
    (eqns, one atom per ``wanted``)."""
    h = passes.dce(Jaxpr([], j.invars[:len(outer_consts)], j.eqns, list(wanted)))
    return _inline(h, outer_consts)


PARTIAL_EVAL[_control.scan] = _scan_partial_eval


def _cond_partial_eval(eqn, unknowns):
    branches = eqn.params["branches"]
    if unknowns[0] or all(unknowns[1:]):
        return [], [eqn]
    uk = list(unknowns[1:])
    n_out = len(branches[0].out_avals)
    out_uk = [False] * n_out
    for br in branches:
        _, _, _, ok = _pe_sub(br, uk)
        out_uk = [a or not b for a, b in zip(out_uk, ok)]
    pes = [_pe_sub(br, uk, out_uk) for br in branches]
    all_res = [[v.aval for v in L.invars[:n]] for _, L, n, _ in pes]
    flat_res = [a for r in all_res for a in r]
    ops = list(eqn.invars[1:])
    k_ops = [a for a, u in zip(ops, uk) if not u]
    u_ops = [a for a, u in zip(ops, uk) if u]
    k_in_avals = [a.aval for a in k_ops]
    u_in_avals = [a.aval for a in u_ops]
    k_br, u_br = [], []
    for i, (K, L, n, _) in enumerate(pes):
        def kf(*xs, K=K, i=i):
            outs = eval_jaxpr(K.jaxpr, [], list(xs))
            nko = len(outs) - len(all_res[i])
            res = []
            for j, r in enumerate(all_res):
                res += outs[nko:] if j == i else [_zeros(a) for a in r]
            return outs[:nko] + res

        off = sum(len(r) for r in all_res[:i])

        def uf(*xs, L=L, n=n, off=off):
            return eval_jaxpr(L, [], list(xs[off:off + n]) + list(xs[len(flat_res):]))
        k_br.append(_interned(_trace_jaxpr(kf, k_in_avals)))
        u_br.append(_interned(_trace_jaxpr(uf, flat_res + u_in_avals)))
    res_vars = [Var(a) for a in flat_res]
    k_outs = [v for v, u in zip(eqn.outvars, out_uk) if not u]
    u_outs = [v for v, u in zip(eqn.outvars, out_uk) if u]
    index = eqn.invars[0]
    known = Eqn(_control.cond, [index] + k_ops, k_outs + res_vars,
                dict(branches=tuple(k_br)), eqn.source)
    unknown = Eqn(_control.cond, [index] + res_vars + u_ops, u_outs,
                  dict(branches=tuple(u_br)), eqn.source)
    return [known], [unknown]


PARTIAL_EVAL[_control.cond] = _cond_partial_eval


# transposition of control flow --------------------------------------------------------------------

def _merge_consts_branches(items):
    """``items``: (ClosedJaxpr taking own consts + inputs, own consts) per branch ->
    (branches all taking every branch's consts + inputs, all consts)."""
    from .control_flow import intern_jaxpr
    all_consts = [c for _, cs in items for c in cs]
    new, pre = [], 0
    for J, cs in items:
        j = J.jaxpr
        pad = [Var(_aval(c)) for c in all_consts[:pre]]
        pad2 = [Var(_aval(c)) for c in all_consts[pre + len(cs):]]
        new.append(intern_jaxpr(Jaxpr([], pad + j.invars[:len(cs)] + pad2 + j.invars[len(cs):],
                                      j.eqns, j.outvars)))
        pre += len(cs)
    return tuple(new), all_consts


def _cond_t(cts, index, *args, branches):
    if type(index) is LinearIn:
        raise NonDifferentiableError("internal error: a cond index is linear")
    lin = [type(a) is LinearIn for a in args]
    nl = [a for a in args if type(a) is not LinearIn]
    perm = [i for i, l in enumerate(lin) if not l] + [i for i, l in enumerate(lin) if l]
    items = []
    for br in branches:
        Lb = _permute(br, perm).jaxpr
        T = transpose_linear(Lb, len(nl), [a for a in br.out_avals])
        items.append(_hoisted(T))
    new, consts = _merge_consts_branches(items)
    cts = [instantiate(c, a) for c, a in zip(cts, branches[0].out_avals)]
    outs = bind(_control.cond, index, *consts, *nl, *cts, branches=new)
    it = iter(outs)
    return [None] + [next(it) if l else None for l in lin]


TRANSPOSE[_control.cond] = _cond_t


def _outer_products(T: Jaxpr, n_acc: int, invariant: set):
    """Which of the transposed scan body's first ``n_acc`` outputs (the per-step
    cotangents of loop-invariant linear inputs, summed over the loop in a carry) are sums
    of ``dot_general`` equations on per-step values whose operands are smaller than
    the product.

    The cotangent of ``W`` in a step that computes ``W @ x`` is the outer product of the
    step's output cotangent and ``x``: accumulating that in a ``W``-sized carry is a rank-1
    update per step.  Stacking the operands instead and contracting over the step axis
    after the loop is one matrix product.  Returns ``{output index: [dot eqn, ...]}``."""
    producer = {v: e for e in T.eqns for v in e.outvars}
    uses = passes.use_counts(T)
    add = ops.binary["add"]
    found = {}
    for i, out in enumerate(T.outvars[:n_acc]):
        dots, stack = [], [out]
        while stack:
            v = stack.pop()
            e = producer.get(v) if type(v) is Var else None
            if e is None or uses.get(v, 0) != 1:
                dots = None
                break
            if e.prim is add and _aval(e.invars[0]) == _aval(e.invars[1]) == _aval(v):
                stack.extend(e.invars)
            elif e.prim is ops.dot_general and all(
                    type(a) is Var and a not in invariant for a in e.invars) and \
                    sum(_aval(a).size for a in e.invars) < _aval(v).size:
                dots.append(e)
            else:
                dots = None
                break
        if dots:
            found[i] = dots
    return found


def _scan_t(cts, *args, jaxpr, length, reverse, num_consts, num_carry, unroll):
    nc, nk = num_consts, num_carry
    lin = [type(a) is LinearIn for a in args]
    # Every carry is transposed as linear.  One whose initial value is not a linear input
    # is a tangent that starts at a known constant (zeros: the loop's state did not depend
    # on the differentiated inputs at first, but does after a step); the loop is affine in
    # it, so the cotangents of the real linear inputs do not depend on its value, and its
    # own cotangent is dropped by the caller.
    c_lin, x_lin = lin[:nc], lin[nc + nk:]
    nl_c = [a for a, l in zip(args[:nc], c_lin) if not l]
    nl_x = [a for a, l in zip(args[nc + nk:], x_lin) if not l]
    idx_nlc = [i for i, l in enumerate(c_lin) if not l]
    idx_lc = [i for i, l in enumerate(c_lin) if l]
    idx_nlx = [nc + nk + i for i, l in enumerate(x_lin) if not l]
    idx_lx = [nc + nk + i for i, l in enumerate(x_lin) if l]
    perm = idx_nlc + idx_nlx + idx_lc + list(range(nc, nc + nk)) + idx_lx
    Lb = _permute(jaxpr, perm).jaxpr
    T = transpose_linear(Lb, len(nl_c) + len(nl_x), list(jaxpr.out_avals))
    T, t_consts = _hoisted(T)
    in_avals = jaxpr.in_avals
    out_avals = jaxpr.out_avals
    k_avals = list(in_avals[nc:nc + nk])
    nth, nnlc, nlc, nnlx = len(t_consts), len(nl_c), len(idx_lc), len(nl_x)
    ct_k = [instantiate(c, a) for c, a in zip(cts[:nk], out_avals[:nk])]
    y_avals = [ShapedArray((length,) + a.shape, a.dtype, a.weak_type) for a in out_avals[nk:]]
    ct_y = [instantiate(c, a) for c, a in zip(cts[nk:], y_avals)]

    # T's inputs: t_consts, nl_c (both loop-invariant), nl_x, ct_k, ct_y (per step).
    # Cotangents that are sums of outer-product-like dots leave the carry: their operands
    # become extra per-step outputs (or are read from the stacked xs they already are) and
    # are contracted over the step axis after the loop.
    Tj = T.jaxpr
    hoist = _outer_products(Tj, nlc, set(Tj.invars[:nth + nnlc]))
    stacked_in = {v: x for v, x in zip(Tj.invars[nth + nnlc:nth + nnlc + nnlx], nl_x)}
    stacked_in.update({v: y for v, y in zip(Tj.invars[nth + nnlc + nnlx + nk:], ct_y)})
    # Per weight, one contraction per operand pair, or (when its dots agree in form) a
    # single one of operands packed along a new axis after the step axis.
    sides = {i: _packed_sides(dots) for i, dots in hoist.items()}
    extra = []            # per extra ys: a body value, or a tuple of them packed
    for i, dots in hoist.items():
        if sides[i] is None:
            extra.extend(a for e in dots for a in e.invars
                         if a not in stacked_in and a not in extra)
            continue
        for side in sides[i]:
            if not any(a in stacked_in for a in side):
                if tuple(side) not in extra:
                    extra.append(tuple(side))
            else:
                extra.extend(a for a in side if a not in stacked_in and a not in extra)
    flat_extra = list(dict.fromkeys(a for item in extra
                                    for a in (item if type(item) is tuple else (item,))))
    keep = [i for i in range(nlc) if i not in hoist]
    if hoist:
        Tj = passes.dce(Jaxpr([], Tj.invars, Tj.eqns,
                              [Tj.outvars[i] for i in keep] + Tj.outvars[nlc:] + flat_extra))
    nacc = len(keep)
    n_rest = len(Tj.outvars) - nacc - len(flat_extra)
    lc_avals = [in_avals[idx_lc[i]] for i in keep]

    def body(*a):
        tc = a[:nth]
        nlc_ = a[nth:nth + nnlc]
        acc = a[nth + nnlc:nth + nnlc + nacc]
        ctk = a[nth + nnlc + nacc:nth + nnlc + nacc + nk]
        nlx_ = a[nth + nnlc + nacc + nk:nth + nnlc + nacc + nk + nnlx]
        cty = a[nth + nnlc + nacc + nk + nnlx:]
        outs = eval_jaxpr(Tj, [], list(tc) + list(nlc_) + list(nlx_) + list(ctk)
                          + list(cty))
        ct_lc, rest = outs[:nacc], outs[nacc:nacc + n_rest]
        val = dict(zip(flat_extra, outs[nacc + n_rest:]))
        ys = []
        for item in extra:
            if type(item) is tuple:
                parts = [bind(ops.reshape, val[v], new_sizes=(1,) + v.aval.shape)
                         for v in item]
                ys.append(bind(ops.concatenate, *parts, dimension=0))
            else:
                ys.append(val[item])
        return [bind(ops.binary["add"], x, y) for x, y in zip(acc, ct_lc)] + list(rest) + ys
    avals = ([_aval(c) for c in t_consts] + [in_avals[i] for i in idx_nlc] + lc_avals
             + k_avals + [in_avals[i] for i in idx_nlx] + list(out_avals[nk:]))
    TB = _interned(_trace_jaxpr(body, avals))
    zeros = [_zeros(a) for a in lc_avals]
    outs = bind(_control.scan, *t_consts, *nl_c, *zeros, *ct_k, *nl_x, *ct_y, jaxpr=TB,
                length=length, reverse=not reverse, num_consts=nth + nnlc,
                num_carry=nacc + nk, unroll=unroll)
    ct_acc, ct_init = outs[:nacc], outs[nacc:nacc + nk]
    ct_lx, stacks = outs[nacc + nk:nacc + nk + len(idx_lx)], outs[nacc + nk + len(idx_lx):]
    stacked = dict(stacked_in)
    stacked.update(zip(extra, stacks))
    ct_lc = [None] * nlc
    for i, c in zip(keep, ct_acc):
        ct_lc[i] = c
    for i, dots in hoist.items():
        ct_lc[i] = (_contract_packed(dots[0], sides[i], stacked, length) if sides[i]
                    else _contract_each(dots, stacked))
    res = [None] * len(args)
    for i, c in zip(idx_lc, ct_lc):
        res[i] = c
    for i in range(nk):
        res[nc + i] = ct_init[i]
    for i, c in zip(idx_lx, ct_lx):
        res[i] = c
    return res


def _packed_sides(dots):
    """When every ``dot_general`` of one weight's cotangent has the same parameters and
    operand types (the four ``g_i (x) x_i`` of an RK4 step), the operand lists of each
    side: the sum of the dots is then one contraction of operands stacked along a new
    axis, so the loop stacks each side once per step instead of once per dot."""
    if len(dots) < 2:
        return None
    e0 = dots[0]
    for e in dots[1:]:
        if e.params != e0.params or any(_aval(a) != _aval(b)
                                        for a, b in zip(e.invars, e0.invars)):
            return None
    return [[e.invars[0] for e in dots], [e.invars[1] for e in dots]]


def _stacked_side(side, stacked, length):
    """[length, len(side), ...]: a packed extra ys, or the per-operand stacks joined."""
    if tuple(side) in stacked:
        return stacked[tuple(side)]
    parts = [bind(ops.reshape, stacked[a], new_sizes=(length, 1) + _aval(a).shape)
             for a in side]
    return bind(ops.concatenate, *parts, dimension=1)


def _contract_packed(e, sides, stacked, length):
    """The sum over steps and over the packed dots, as one ``dot_general``: the packed
    [length, m, ...] operands are merged to [length * m, ...] first, so the product keeps
    the form of a single step-axis contraction (XLA then needs no transposing copy)."""
    lhs, rhs = (_stacked_side(side, stacked, length) for side in sides)
    lhs, rhs = (bind(ops.reshape, x, new_sizes=(x.aval.shape[0] * x.aval.shape[1],)
                     + x.aval.shape[2:]) for x in (lhs, rhs))
    return _over_steps(e, lhs, rhs)


def _contract_each(dots, stacked):
    total = None
    for e in dots:
        term = _over_steps(e, *(stacked[a] for a in e.invars))
        total = term if total is None else bind(ops.binary["add"], total, term)
    return total


def _over_steps(e, lhs, rhs):
    """``e`` (a per-step ``dot_general``) on operands with a leading step axis, summed
    over that axis."""
    (cu, cv), (bu, bv) = e.params["dimension_numbers"]
    shift = lambda d: tuple(k + 1 for k in d)
    dims = (((0,) + shift(cu), (0,) + shift(cv)), (shift(bu), shift(bv)))
    return bind(ops.dot_general, lhs, rhs, **dict(e.params, dimension_numbers=dims))


TRANSPOSE[_control.scan] = _scan_t


def _while_partial_eval(eqn, unknowns):
    """Reverse mode through ``while``: only with a ``max_steps`` bound.  The loop becomes
    ``ceil(max_steps / s)`` segments of ``s = ceil(sqrt(max_steps))`` steps, each a
    checkpointed scan; a step updates the carry only while the predicate holds and
    fewer than ``max_steps`` steps have run (a done-mask).  Splitting that stores one
    carry per segment, and the backward pass recomputes one segment at a time: about
    ``2 * sqrt(max_steps)`` carries' worth of memory instead of ``max_steps`` steps'
    residuals."""
    p = eqn.params
    ms = p["max_steps"]
    if ms is None:
        raise NonDifferentiableError(
            "reverse-mode differentiation (grad, vjp, jacrev) of lax.while_loop needs a bound "
            "on the trip count: pass max_steps=N to while_loop (an xform extension), or use "
            "lax.scan / lax.fori_loop with static bounds"
            f"{' (at ' + str(eqn.source) + ')' if eqn.source else ''}")
    J = _trace_jaxpr(_segmented_while(p), [a.aval for a in eqn.invars])
    eqns, _ = _inline(J.jaxpr, list(eqn.invars), list(eqn.outvars), eqn.source)
    known = {a for a, u in zip(eqn.invars, unknowns) if not u and type(a) is Var}
    return split_known_eqns(eqns, known)


def _segmented_while(p):
    """``while`` params -> a function of the loop's operands that runs it as checkpointed
    segments of a masked scan (see ``_while_partial_eval``)."""
    from .ad_checkpoint import checkpoint
    cj, bj, ms = p["cond_jaxpr"].jaxpr, p["body_jaxpr"].jaxpr, p["max_steps"]
    ncc, nbc = p["cond_nconsts"], p["body_nconsts"]
    seg = math.isqrt(ms - 1) + 1 if ms > 1 else 1
    n_seg = -(-ms // seg)

    def run(*a):
        cc, bc, carry = list(a[:ncc]), list(a[ncc:ncc + nbc]), list(a[ncc + nbc:])

        def step(state, _):
            i, c = state
            running = eval_jaxpr(cj, [], cc + c)[0]
            if n_seg * seg > ms:       # the last segment is padded: stop at max_steps
                running = bind(ops.binary["and"], running, bind(ops.compare["lt"], i, ms))
            new = eval_jaxpr(bj, [], bc + c)
            return (i + 1, [bind(ops.select_n, running, x, n) for x, n in zip(c, new)]), None

        def segment(state):
            return lax.scan(step, state, None, length=seg)[0]
        segment = checkpoint(segment, prevent_cse=False)
        (_, out), _ = lax.scan(lambda st, _: (segment(st), None),
                               (np.int32(0), carry), None, length=n_seg)
        return out
    return run


def _inline(j: Jaxpr, ins, outs=None, source=None):
    """``j``'s equations with its inputs renamed to the atoms ``ins`` and fresh variables
    elsewhere; returns (eqns, output atoms).  With ``outs`` (variables), the outputs are
    written to those instead (an output that is an input or a literal gets a copy)."""
    env = dict(zip(j.invars, ins))
    if outs is not None:
        env.update({o: n for o, n in zip(j.outvars, outs)
                    if type(o) is Var and o not in env})

    def read(a):
        return a if type(a) is Literal else env.setdefault(a, Var(a.aval))
    eqns = [Eqn(e.prim, [read(a) for a in e.invars], [read(v) for v in e.outvars],
                e.params, e.source or source) for e in j.eqns]
    if outs is None:
        return eqns, [read(a) for a in j.outvars]
    for o, n in zip(j.outvars, outs):
        if read(o) is not n:
            eqns.append(Eqn(ops.reshape, [read(o)], [n], {"new_sizes": n.aval.shape}, source))
    return eqns, list(outs)


PARTIAL_EVAL[_control.while_] = _while_partial_eval


# --- checkpoint / remat (primitives/remat.py) -----------------------------------------------------
# JVP: the JVP of the body, still inside a ``checkpoint``.  Reverse mode: the partial-evaluation
# rule splits the JVP'd body into a known ``checkpoint`` (primal outputs + the residuals the policy
# lets it save) and an unknown one (``differentiated=True``) that first recomputes, from those
# residuals and the body's primal inputs, every other primal value the linear part reads, then
# runs the linear part.  Transposing the unknown one transposes its body: the recomputation is
# evaluated forward inside the transposed body, which stays a ``checkpoint`` (so that its
# lowering keeps the optimization barrier).

from primitives import remat as _remat   # noqa: E402


def _checkpoint_jvp(primals, tangents, *, jaxpr, policy, prevent_cse, differentiated):
    nz = [n and _is_diff_dtype(_aval(p).dtype) for n, p in zip(_nz(tangents), primals)]
    J, consts, out_nz, in_nz = _jvp_sub(jaxpr, nz, False)
    tin = [instantiate(t, _aval(p)) for t, p, n in zip(tangents, primals, in_nz) if n]
    outs = bind(_remat.checkpoint, *consts, *primals, *tin, jaxpr=J, policy=policy,
                prevent_cse=prevent_cse, differentiated=differentiated)
    n = len(jaxpr.out_avals)
    it = iter(outs[n:])
    return outs[:n], [next(it) if o else Zero(a) for o, a in zip(out_nz, jaxpr.out_avals)]


JVP[_remat.checkpoint] = _checkpoint_jvp


def _saveable(policy, eqn) -> bool:
    """Whether ``policy`` lets the forward pass keep ``eqn``'s outputs for the backward pass."""
    if policy is None:
        return False
    ok = policy(eqn.prim, *[a.aval for a in eqn.invars], **eqn.params)
    if not isinstance(ok, (bool, np.bool_)):
        raise TypeError(f"checkpoint policy {getattr(policy, '__name__', policy)!r} returned "
                        f"{ok!r} for meta-operator {eqn.prim.name!r}; a policy must return a "
                        f"bool (True: save the value, False: recompute it)")
    return bool(ok)


def remat_split(body: Jaxpr, unknowns, policy):
    """Policy-aware partial evaluation of a checkpoint body (inputs known / unknown).

    Returns ``(K, L, saved_in, saved_mid, out_known)``: ``K`` (Jaxpr) maps the known
    inputs to the known outputs followed by the saved intermediates ``saved_mid`` (values
    ``policy`` allows to keep); ``L`` (Jaxpr) takes ``saved_in`` (known inputs that the
    backward pass reads) + ``saved_mid`` + the unknown inputs, recomputes every other known
    value the unknown equations need, and returns the unknown outputs.
    """
    known_in = [v for v, u in zip(body.invars, unknowns) if not u]
    known = set(known_in)
    k_eqns, u_eqns = split_known_eqns(body.eqns, known)
    out_known = [type(a) is Literal or a in known for a in body.outvars]
    u_outs = [a for a, k in zip(body.outvars, out_known) if not k]
    L0 = passes.dce(Jaxpr([], [], u_eqns, u_outs))
    producer = {v: e for e in k_eqns for v in e.outvars}
    verdict: dict = {}       # id(eqn) -> saveable?
    needed, recompute = set(), set()
    stack = [a for e in L0.eqns for a in e.invars if type(a) is Var and a in known]
    while stack:
        v = stack.pop()
        if v in needed:
            continue
        needed.add(v)
        e = producer.get(v)
        if e is None:
            continue          # a known input of the body
        if id(e) not in verdict:
            verdict[id(e)] = _saveable(policy, e)
        if not verdict[id(e)] and id(e) not in recompute:
            recompute.add(id(e))
            stack.extend(a for a in e.invars if type(a) is Var)
    saved_in = [v for v in known_in if v in needed]
    saved_mid = [v for e in k_eqns if verdict.get(id(e)) for v in e.outvars if v in needed]
    k_outs = [a for a, k in zip(body.outvars, out_known) if k]
    K = passes.dce(Jaxpr([], known_in, k_eqns, k_outs + saved_mid))
    unknown_in = [v for v, u in zip(body.invars, unknowns) if u]
    L = Jaxpr([], saved_in + saved_mid + unknown_in,
              [e for e in k_eqns if id(e) in recompute] + L0.eqns, u_outs)
    return K, L, saved_in, saved_mid, out_known


def _checkpoint_partial_eval(eqn, unknowns):
    p = eqn.params
    if all(unknowns):
        return [], [eqn]
    from .control_flow import intern_jaxpr
    body = p["jaxpr"].jaxpr
    K, L, saved_in, saved_mid, out_known = remat_split(body, unknowns, p["policy"])
    outer = dict(zip(body.invars, eqn.invars))
    mid_vars = [Var(v.aval) for v in saved_mid]
    k_outs = [v for v, k in zip(eqn.outvars, out_known) if k]
    known = []
    if k_outs or mid_vars:
        known.append(Eqn(_remat.checkpoint, [a for a, u in zip(eqn.invars, unknowns) if not u],
                         k_outs + mid_vars, dict(p, jaxpr=intern_jaxpr(K),
                                                 differentiated=False), eqn.source))
    u_ins = [outer[v] for v in saved_in] + mid_vars + \
        [a for a, u in zip(eqn.invars, unknowns) if u]
    unknown = Eqn(_remat.checkpoint, u_ins, [v for v, k in zip(eqn.outvars, out_known) if not k],
                  dict(p, jaxpr=intern_jaxpr(L), differentiated=True), eqn.source)
    return known, [unknown]


PARTIAL_EVAL[_remat.checkpoint] = _checkpoint_partial_eval


def _checkpoint_t(cts, *args, jaxpr, policy, prevent_cse, differentiated):
    lin = [type(a) is LinearIn for a in args]
    nonlin = [a for a in args if type(a) is not LinearIn]
    perm = [i for i, l in enumerate(lin) if not l] + [i for i, l in enumerate(lin) if l]
    T = transpose_linear(_permute(jaxpr, perm).jaxpr, len(nonlin), list(jaxpr.out_avals))
    T, consts = _hoisted(T)
    cts = [instantiate(c, a) for c, a in zip(cts, jaxpr.out_avals)]
    outs = bind(_remat.checkpoint, *consts, *nonlin, *cts, jaxpr=T, policy=policy,
                prevent_cse=prevent_cse, differentiated=True)
    it = iter(outs)
    return [next(it) if l else None for l in lin]


TRANSPOSE[_remat.checkpoint] = _checkpoint_t


def _name_jvp(primals, tangents, *, name):
    return [bind(_remat.name, primals[0], name=name)], [tangents[0]]   # the tangent is not named


JVP[_remat.name] = _name_jvp
TRANSPOSE[_remat.name] = lambda ct, x, *, name: [ct]

# --- linalg (primitives/linalg.py) -------------------------------------------------------------------
# JVP rules are composites: matrix products, triangular solves and the decompositions'
# own outputs (the standard matrix-calculus results).  triangular_solve is the only
# linalg op that is linear in an operand (b), so it alone has a transpose rule.
from primitives import linalg as _linalg_ops  # noqa: E402
from .lax import linalg as _la  # noqa: E402

_MM, _ADJ = _la.matmul, _la.adjoint


def _linalg_cast(x, like):
    """Real ``x`` in the (possibly complex) dtype of ``like``."""
    return lax.convert_element_type(x, _aval(like).dtype)


def _reciprocal_gaps(w):
    """``F[..., i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it."""
    n = _aval(w).shape[-1]
    gaps = S(_la.expand_last(w, n, -2), _la.expand_last(w, n, -1))
    eye = _la.eye_like(gaps)
    return S(D(_const(gaps, 1.0), A(gaps, eye)), eye)


def _cholesky_jvp(primals, tangents):
    a, = primals
    t, = tangents
    l = bind(_linalg_ops.cholesky, a)
    t = _la.hermitian_from_triangle(t, lower=True)   # the op reads the lower triangle only
    # dL = L phi(L^-1 dA L^-H), phi = lower triangle with the diagonal halved
    x = _la.triangular_solve(l, t, left_side=True, lower=True)
    x = _la.triangular_solve(l, x, left_side=False, lower=True, transpose_a=True,
                             conjugate_a=True)
    phi = S(_la.tril(x), M(_la.diagonal_matrix(_la.diagonal(x)), _const(x, 0.5)))
    return [l], [_MM(l, phi)]


def _op_a(x, transpose_a, conjugate_a):
    if conjugate_a and dtypes.is_complex(_aval(x).dtype):
        x = lax.conj(x)
    return _la.swap_last(x) if transpose_a else x


def _triangular_solve_jvp(primals, tangents, **params):
    a, b = primals
    ta, tb = tangents
    ts = _linalg_ops.triangular_solve
    x = bind(ts, a, b, **params)
    out = None if type(tb) is Zero else bind(ts, a, tb, **params)
    if type(ta) is not Zero:
        # d op(a)^-1 = -op(a)^-1 op(da) op(a)^-1, with da restricted to what the op reads
        lower = params["lower"]
        da = _la.tril(ta, -1 if params["unit_diagonal"] else 0) if lower else \
            _la.triu(ta, 1 if params["unit_diagonal"] else 0)
        op_da = _op_a(da, params["transpose_a"], params["conjugate_a"])
        rhs = _MM(op_da, x) if params["left_side"] else _MM(x, op_da)
        out = _add(out, NEG(bind(ts, a, rhs, **params)))
    return [x], [out]


def _triangular_solve_t(ct, a, b, *, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    if _lin(a):
        raise NonDifferentiableError("triangular_solve is not linear in its matrix a")
    # the transpose of op(a)^-1 is op(a)^-T: flip transpose_a, keep the conjugation
    return [None, bind(_linalg_ops.triangular_solve, a, ct, left_side=left_side, lower=lower,
                       transpose_a=not transpose_a, conjugate_a=conjugate_a,
                       unit_diagonal=unit_diagonal)]


def _lu_jvp(primals, tangents):
    a, = primals
    t, = tangents
    lu, pivots = bind(_linalg_ops.lu, a)
    *batch, m, n = _aval(a).shape
    k = min(m, n)
    perm = _la.lu_pivots_to_permutation(pivots, m)
    t = _MM(_la.permutation_matrix(perm, _aval(a).dtype), t)      # P dA
    # square unit-lower l (m x m) and upper u (n x n): the factors padded with identity
    l = _la.pad_to_square(A(_la.tril(_la.take_cols(lu, k), -1),
                            _la.eye_like(lu, (*batch, m, k))), lower=True)
    u = _la.pad_to_square(_la.triu(_la.take_rows(lu, k)), lower=False)
    x = _la.triangular_solve(l, t, left_side=True, lower=True, unit_diagonal=True)
    x = _la.triangular_solve(u, x, left_side=False, lower=False)   # l^-1 P dA u^-1
    dlu = A(_MM(l, _la.tril(x, -1)), _MM(_la.triu(x), u))
    return [lu, pivots], [dlu, Zero(_aval(pivots))]


def _qr_jvp(primals, tangents, *, full_matrices):
    a, = primals
    t, = tangents
    q, r = bind(_linalg_ops.qr, a, full_matrices=full_matrices)
    m, n = _aval(a).shape[-2:]
    if m < n:   # a = [x | y]: q, r_x = qr(x), r_y = q^H y
        dq, dr_x = _qr_tangents(q, _la.take_cols(r, m), _la.take_cols(t, m))
        dr_y = A(_MM(_ADJ(dq), _la.drop_cols(a, m)), _MM(_ADJ(q), _la.drop_cols(t, m)))
        return [q, r], [dq, lax.concatenate([dr_x, dr_y], _aval(a).ndim - 1)]
    if full_matrices and m > n:
        raise NotImplementedError(
            f"the derivative of qr with full_matrices=True (mode='complete') of a tall matrix "
            f"{_aval(a).str_short()} is not unique; use full_matrices=False (mode='reduced')"
            f"{_where_eqn()}")
    dq, dr = _qr_tangents(q, r, t)
    return [q, r], [dq, dr]


def _qr_tangents(q, r, t):
    """dq, dr of a = q r for square-or-tall a with invertible r."""
    dx_rinv = _la.triangular_solve(r, t, left_side=False, lower=False)    # dA r^-1
    qt_dx_rinv = _MM(_ADJ(q), dx_rinv)
    low = _la.tril(qt_dx_rinv, -1)
    omega = S(low, _ADJ(low))           # q^H dq: skew-Hermitian
    if dtypes.is_complex(_aval(t).dtype):   # ... whose diagonal is imaginary
        d = _la.diagonal(qt_dx_rinv)
        omega = A(omega, _la.diagonal_matrix(S(d, _linalg_cast(lax.real(d), d))))
    dq = A(_MM(q, S(omega, qt_dx_rinv)), dx_rinv)
    dr = _MM(S(qt_dx_rinv, omega), r)
    return dq, dr


def _eigh_jvp(primals, tangents, *, lower):
    a, = primals
    t, = tangents
    v, w = bind(_linalg_ops.eigh, a, lower=lower)
    t = _la.hermitian_from_triangle(t, lower=lower)
    vt_dt_v = _MM(_ADJ(v), _MM(t, v))
    dw = lax.real(_la.diagonal(vt_dt_v)) if dtypes.is_complex(_aval(a).dtype) else \
        _la.diagonal(vt_dt_v)
    dv = _MM(v, M(_linalg_cast(_reciprocal_gaps(w), v), vt_dt_v))
    return [v, w], [dv, dw]


def _svd_jvp(primals, tangents, *, full_matrices, compute_uv):
    a, = primals
    t, = tangents
    m, n = _aval(a).shape[-2:]
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError(
            f"the derivative of svd with full_matrices=True of a non-square matrix "
            f"{_aval(a).str_short()} is not defined (the extra singular vectors are not "
            f"unique); use full_matrices=False{_where_eqn()}")
    s, u, vh = bind(_linalg_ops.svd, a, full_matrices=False, compute_uv=True)
    v = _ADJ(vh)
    ds_mat = _MM(_ADJ(u), _MM(t, v))                  # u^H dA v
    ds = _la.diagonal(ds_mat)
    ds = lax.real(ds) if dtypes.is_complex(_aval(a).dtype) else ds
    if not compute_uv:
        return [s], [ds]
    k = _aval(s).shape[-1]
    s_row = _linalg_cast(_la.expand_last(s, k, -2), a)   # s[j] at [i, j]
    s_col = _la.swap_last(s_row)                         # s[i] at [i, j]
    f = _linalg_cast(_reciprocal_gaps(M(s, s)), a)      # 1 / (s_j^2 - s_i^2)
    s_safe_inv = _la.safe_reciprocal(s)
    # the imaginary diagonal of u^H du (complex only; zero for real matrices)
    du_diag = M(M(S(ds_mat, _ADJ(ds_mat)), _const(ds_mat, 0.5)),
                _la.diagonal_matrix(_linalg_cast(s_safe_inv, a)))
    du = _MM(u, A(M(f, A(M(ds_mat, s_row), _ADJ(M(ds_mat, s_row)))), du_diag))
    dv = _MM(v, M(f, A(M(s_col, ds_mat), _ADJ(M(s_col, ds_mat)))))
    if m > n:   # the part of dA outside u's span moves u
        dav = _MM(t, v)
        inv_rows = _linalg_cast(_la.expand_last(s_safe_inv, m, -2), a)
        du = A(du, M(S(dav, _MM(u, _MM(_ADJ(u), dav))), inv_rows))
    if n > m:
        dahu = _MM(_ADJ(t), u)
        inv_rows = _linalg_cast(_la.expand_last(s_safe_inv, n, -2), a)
        dv = A(dv, M(S(dahu, _MM(v, _MM(vh, dahu))), inv_rows))
    return [s, u, vh], [ds, du, _ADJ(dv)]


JVP[_linalg_ops.cholesky] = _cholesky_jvp
JVP[_linalg_ops.triangular_solve] = _triangular_solve_jvp
JVP[_linalg_ops.lu] = _lu_jvp
JVP[_linalg_ops.qr] = _qr_jvp
JVP[_linalg_ops.eigh] = _eigh_jvp
JVP[_linalg_ops.svd] = _svd_jvp
TRANSPOSE[_linalg_ops.triangular_solve] = _triangular_solve_t

# === fft (primitives/fft.py) =================================================================
# The DFT is linear: its JVP is the same transform of the tangent.  Transposes follow JAX's
# convention for complex values (the plain transpose, no conjugation):
#   FFT, IFFT: the DFT matrix is symmetric, so each is its own transpose;
#   RFFT = slice(FFT(complex(x))): transpose = real(FFT(zero-pad(ct)));
#   IRFFT(x) = Re(sum_j w_j/N e^{+2 pi i j.k/N} x_j) with Hermitian weights w_j (1 for the
#   zero and Nyquist frequencies of the last axis, 2 for the others): transpose =
#   conj(w/N * RFFT(ct)).
from primitives import fft as _fft  # noqa: E402

JVP[_fft.fft] = _linear_jvp(_fft.fft)


def _hermitian_weights(n: int, dtype):
    """Weights of the half spectrum's entries in the full one, along a last axis of n."""
    w = np.full(n // 2 + 1, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return w.astype(dtype)


def _fft_t(ct, x, *, fft_type, fft_lengths):
    def fft(v, kind):
        return bind(_fft.fft, v, fft_type=kind, fft_lengths=fft_lengths)
    if fft_type in ("FFT", "IFFT"):
        return [fft(ct, fft_type)]
    a = _aval(ct)
    n = fft_lengths[-1]
    if fft_type == "RFFT":
        cfg = [(0, 0, 0)] * (a.ndim - 1) + [(0, n - a.shape[-1], 0)]
        full = lax.pad(ct, np.zeros((), a.dtype), cfg)
        return [lax.real(fft(full, "FFT"))]
    half = fft(ct, "RFFT")
    h = _aval(half)
    w = _hermitian_weights(n, h.dtype) / math.prod(fft_lengths)
    w = bind(ops.broadcast_in_dim, w, shape=h.shape, broadcast_dimensions=(h.ndim - 1,))
    return [lax.conj(lax.mul(half, w))]


TRANSPOSE[_fft.fft] = _fft_t
# === end fft ===================================================================================
