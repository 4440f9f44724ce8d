"""Transposition: run the linear part of a JVP backwards (``transpose_linear``).

One transpose rule per *linear* first-order meta-operator (the ``TRANSPOSE`` table):
``rule(ct, *args, **params) -> one cotangent (or None) per argument``; a linear argument
is a ``LinearIn`` (its value is what we transpose with respect to)."""
from __future__ import annotations

import itertools

import numpy as np

from primitives import ops, sharding as _sharding
from primitives.core import ClosedJaxpr, Jaxpr, Literal, ShapedArray, Var, has_effects
from primitives.ops import (
    ConvDimensionNumbers, ScatterDimensionNumbers)

from ..core.checks import check_ir
from ..core.trace import with_sources
from .. import lax, passes
from ..core import bind, Builder, trace_scope
from .ad_util import (
    ad_state, add_tangents, aval_of, D, gather_scattered_windows, index_bounds, instantiate,
    keep_dims_bcast, M, NEG, NonDifferentiableError, S, unbroadcast, Zero, zeros_like_aval)


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
    return [unbroadcast(ct, x.aval) if _lin(x) else None,
            unbroadcast(ct, y.aval) if _lin(y) else None]


def _sub_t(ct, x, y):
    return [unbroadcast(ct, x.aval) if _lin(x) else None,
            unbroadcast(NEG(ct), y.aval) if _lin(y) else None]


def _mul_t(ct, x, y):
    if _lin(x) and _lin(y):
        raise TypeError("mul of two tangents is not linear")
    if _lin(x):
        return [unbroadcast(M(ct, y), x.aval), None]
    return [None, unbroadcast(M(x, ct), y.aval)]


def _div_t(ct, x, y):
    assert _lin(x) and not _lin(y)
    return [unbroadcast(D(ct, y), x.aval), None]


TRANSPOSE[ops.unary["neg"]] = _neg_t
TRANSPOSE[ops.binary["add"]] = _add_t
TRANSPOSE[ops.binary["sub"]] = _sub_t
TRANSPOSE[ops.binary["mul"]] = _mul_t
TRANSPOSE[ops.binary["div"]] = _div_t
TRANSPOSE[ops.unary["real"]] = lambda ct, x: [lax.complex(ct, zeros_like_aval(aval_of(ct)))]
TRANSPOSE[ops.unary["imag"]] = lambda ct, x: [lax.complex(zeros_like_aval(aval_of(ct)), NEG(ct))]
TRANSPOSE[ops.unary["conj"]] = lambda ct, x: [lax.conj(ct)]
TRANSPOSE[ops.unary["reduce_precision"]] = \
    lambda ct, x, **p: [bind(ops.unary["reduce_precision"], ct, **p)]


def _complex_t(ct, x, y):
    return [unbroadcast(lax.real(ct), x.aval) if _lin(x) else None,
            unbroadcast(NEG(lax.imag(ct)), y.aval) if _lin(y) else None]


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
            z = zeros_like_aval(aval_of(ct))
        args = [z] * len(cases)
        args[i] = ct
        out.append(bind(ops.select_n, pred, *args))
    return out


TRANSPOSE[ops.select_n] = _select_n_t


def _reduce_sum_t(ct, x, *, axes):
    return [keep_dims_bcast(ct, x.aval.shape, axes)]


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
    out_shape = aval_of(ct).shape
    if 0 in out_shape:
        return [zeros_like_aval(x.aval)]
    cfg = []
    for n, lo, m, st in zip(in_shape, start_indices, out_shape, strides):
        real_hi = lo + (m - 1) * st + 1
        cfg.append((lo, n - real_hi, st - 1))
    zero = Literal(np.zeros((), x.aval.dtype)[()], ShapedArray((), x.aval.dtype))
    return [bind(ops.pad, ct, zero, padding_config=tuple(cfg))]


TRANSPOSE[ops.slice] = _slice_t


def _pad_t(ct, x, v, *, padding_config):
    a = aval_of(ct)
    lo, hi, interior = zip(*padding_config) if padding_config else ((), (), ())
    zero = Literal(np.zeros((), a.dtype)[()], ShapedArray((), a.dtype))
    unpadded = bind(ops.pad, ct, zero,
                    padding_config=tuple((-l, -h, 0) for l, h in zip(lo, hi)))
    ua = aval_of(unpadded)
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
    a = aval_of(ct)
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
    return [bind(ops.dynamic_update_slice, zeros_like_aval(x.aval), ct, *idx)] + [None] * len(idx)


def _dynamic_update_slice_t(ct, x, u, *idx):
    ua = u.aval if _lin(u) else aval_of(u)
    ct_x = bind(ops.dynamic_update_slice, ct, zeros_like_aval(ua), *idx) if _lin(x) else None
    ct_u = bind(ops.dynamic_slice, ct, *idx, slice_sizes=ua.shape) if _lin(u) else None
    return [ct_x, ct_u] + [None] * len(idx)


TRANSPOSE[ops.dynamic_slice] = _dynamic_slice_t
TRANSPOSE[ops.dynamic_update_slice] = _dynamic_update_slice_t


def _gather_t(ct, x, idx, *, dimension_numbers, slice_sizes, indices_are_sorted=False,
              unique_indices=False):
    dn = dimension_numbers
    a = x.aval
    # gather clamps out-of-bounds starts, scatter drops them: clamp explicitly first
    clamped, _ = index_bounds(idx, a.shape, slice_sizes, dn.start_index_map)
    sdn = ScatterDimensionNumbers(
        update_window_dims=dn.offset_dims, inserted_window_dims=dn.collapsed_slice_dims,
        scatter_dims_to_operand_dims=dn.start_index_map,
        operand_batching_dims=dn.operand_batching_dims,
        scatter_indices_batching_dims=dn.start_indices_batching_dims)
    return [bind(ops.scatter["scatter_add"], zeros_like_aval(a), clamped, ct, dimension_numbers=sdn,
                 indices_are_sorted=indices_are_sorted, unique_indices=unique_indices), None]


TRANSPOSE[ops.gather] = _gather_t


def _scatter_add_t(ct, x, idx, u, *, dimension_numbers, **params):
    ct_x = ct if _lin(x) else None
    ct_u = None
    if _lin(u):
        ct_u = gather_scattered_windows(ct, idx, u.aval, aval_of(ct).shape, dimension_numbers, **params)
    return [ct_x, None, ct_u]


def _scatter_t(ct, x, idx, u, *, dimension_numbers, **params):
    ua = u.aval if _lin(u) else aval_of(u)
    ct_x = bind(ops.scatter["scatter"], ct, idx, zeros_like_aval(ua), dimension_numbers=dimension_numbers,
                **params) if _lin(x) else None
    ct_u = gather_scattered_windows(ct, idx, ua, aval_of(ct).shape, dimension_numbers, **params) \
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
    pads = _conv_vjp_lhs_padding(in_shape, window_dimensions, window_strides, aval_of(ct).shape,
                                 padding, base_dilation, window_dilation)
    cfg = [(lo, hi, st - 1) for (lo, hi), st in zip(pads, window_strides)]
    zero = Literal(np.zeros((), x.aval.dtype)[()], ShapedArray((), x.aval.dtype))
    padded = bind(ops.pad, ct, zero, padding_config=tuple(cfg))
    n = len(in_shape)
    r = bind(ops.reduce_window["reduce_window_sum"], padded,
             window_dimensions=tuple(window_dimensions), window_strides=tuple(base_dilation),
             padding=((0, 0),) * n, base_dilation=(1,) * n, window_dilation=tuple(window_dilation))
    assert aval_of(r).shape == tuple(in_shape), (aval_of(r).shape, in_shape)
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


def _dot_t_lhs(g, x_aval, y, *, dimension_numbers, preferred_element_type, precision=None,
               swap_ans=False):
    (x_contract, y_contract), (x_batch, y_batch) = dimension_numbers
    x_ndim = x_aval.ndim
    y_ndim = aval_of(y).ndim
    x_kept = _remaining(range(x_ndim), x_contract, x_batch)
    y_kept = _remaining(range(y_ndim), y_contract, y_batch)
    if swap_ans:
        ans_batch, ans_y, _ = _ranges_like(x_batch, y_kept, x_kept)
    else:
        ans_batch, _, ans_y = _ranges_like(x_batch, x_kept, y_kept)
    dims = ((tuple(ans_y), tuple(y_kept)), (tuple(ans_batch), tuple(y_batch)))
    x_contract_sorted_by_y = [int(i) for i in np.take(x_contract, np.argsort(y_contract))] \
        if x_contract else []
    g_dt, y_dt = aval_of(g).dtype, aval_of(y).dtype
    if g_dt != y_dt:   # a product accumulated wider (preferred_element_type): the
        wide = np.promote_types(g_dt, y_dt)   # cotangent meets the operand at the wider type
        if g_dt != wide:
            g = bind(ops.convert_element_type, g, new_dtype=wide, weak_type=False)
        if y_dt != wide:
            y = bind(ops.convert_element_type, y, new_dtype=wide, weak_type=False)
    # dot_general(g, y) yields x's dims in the order batch, kept, contracted; when that
    # needs a transpose but dot_general(y, g) (batch, contracted, kept) does not, emit
    # the latter: the transpose would otherwise cost XLA a kernel and a copy (the
    # weight gradient of ``x @ w`` under vmap is the common case).
    unsorted = list(x_batch) + x_kept + x_contract_sorted_by_y
    flipped = list(x_batch) + x_contract_sorted_by_y + x_kept
    if unsorted != sorted(unsorted) and flipped == sorted(flipped):
        (g_con, y_con), (g_bat, y_bat) = dims
        r = bind(ops.dot_general, y, g, dimension_numbers=((y_con, g_con), (y_bat, g_bat)),
                 precision=precision and precision[::-1],
                 preferred_element_type=preferred_element_type)
    else:
        out_axes = tuple(int(i) for i in np.argsort(unsorted))
        r = bind(ops.dot_general, g, y, dimension_numbers=dims, precision=precision,
                 preferred_element_type=preferred_element_type)
        r = lax.transpose(r, out_axes)
    if aval_of(r).dtype != x_aval.dtype:
        r = bind(ops.convert_element_type, r, new_dtype=x_aval.dtype, weak_type=x_aval.weak_type)
    return r


def _dot_general_t(ct, x, y, *, dimension_numbers, precision=None, preferred_element_type=None):
    (xc, yc), (xb, yb) = dimension_numbers
    if _lin(x) and _lin(y):
        raise TypeError("dot_general of two tangents is not linear")
    if _lin(x):
        return [_dot_t_lhs(ct, x.aval, y, dimension_numbers=dimension_numbers,
                           precision=precision,
                           preferred_element_type=preferred_element_type), None]
    swapped = ((yc, xc), (yb, xb))
    return [None, _dot_t_lhs(ct, y.aval, x, dimension_numbers=swapped,
                             precision=precision and precision[::-1],
                             preferred_element_type=preferred_element_type, swap_ans=True)]


TRANSPOSE[ops.dot_general] = _dot_general_t


def _conv_t(ct, lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
            dimension_numbers, feature_group_count=1, batch_group_count=1, precision=None,
            preferred_element_type=None):
    dn = dimension_numbers
    lhs_spec, rhs_spec, out_spec = dn
    g_shape = aval_of(ct).shape
    if _lin(lhs) and _lin(rhs):
        raise TypeError("conv_general_dilated of two tangents is not linear")
    if _lin(lhs):
        lhs_shape = lhs.aval.shape
        rhs_shape = aval_of(rhs).shape
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
                   precision=precision, preferred_element_type=preferred_element_type)
        if batch_group_count > 1:
            out = lax.reshape_axis_out_of(lhs_spec[1], batch_group_count, out)
            out = lax.reshape_axis_into(lhs_spec[1], lhs_spec[0], out)
        if aval_of(out).dtype != lhs.aval.dtype:
            out = bind(ops.convert_element_type, out, new_dtype=lhs.aval.dtype, weak_type=False)
        return [out, None]
    lhs_shape = aval_of(lhs).shape
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
               precision=precision, preferred_element_type=preferred_element_type)
    if aval_of(out).dtype != rhs.aval.dtype:
        out = bind(ops.convert_element_type, out, new_dtype=rhs.aval.dtype, weak_type=False)
    return [None, out]


TRANSPOSE[ops.conv_general_dilated] = _conv_t


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
    for eqn in with_sources(L.eqns):
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
            ct_env[v] = add_tangents(ct_env.get(v), ct)
    for eqn in with_sources(reversed(lin_eqns)):   # cotangents keep the source
        cts_out = [ct_env.pop(v, None) for v in eqn.outvars]
        if all(c is None for c in cts_out) and not has_effects(eqn):
            continue   # (an effect on a tangent is never skipped silently: its rule decides)
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
        ad_state.eqn = eqn
        try:
            cts_in = rule(ct_arg, *args, **eqn.params)
        finally:
            ad_state.eqn = None
        for a, c in zip(eqn.invars, cts_in):
            if c is not None and type(c) is not Zero and type(a) is Var and a in lin:
                ct_env[a] = add_tangents(ct_env.get(a), c)
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
    T = passes.simplify(T)
    check_ir(T, "transpose")
    return T

TRANSPOSE[_sharding.sharding_constraint] = lambda ct, x, *, sharding: [
    bind(_sharding.sharding_constraint, ct, sharding=sharding)]
