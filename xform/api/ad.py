"""The differentiation API: ``vjp``, ``grad``, ``value_and_grad``, ``jvp``, ``linearize``,
``jacfwd``, ``jacrev``, ``hessian``.

Each traces the user's function (concretely outside ``jit``, so ``if x > 0:`` works under
``grad``), rewrites it with ``transforms.jvp``, splits it with ``transforms.partial_eval``
and runs the linear part backwards with ``transforms.transpose``; every result is an
ordinary jaxpr evaluated into the current trace, so the transforms nest."""
from __future__ import annotations

import functools

import numpy as np

from primitives import dtypes
from primitives.core import ClosedJaxpr, Jaxpr, Literal, ShapedArray

from ..core.pytree import LEAF, tree_flatten, tree_map, tree_unflatten
from ..core.trace import leaf_aval, prep_leaf, trace_flat
from ..transforms.ad_util import float0, is_diff_dtype
from ..transforms.jvp import jvp_jaxpr
from ..transforms.partial_eval import partial_eval
from ..transforms.transpose import transpose_linear
from .. import lax
from ..core import eval_jaxpr, trace as core, Tracer
from .vmap import vmap


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
    prepped = [prep_leaf(x, f"argument {i}") for i, x in enumerate(leaves)]
    leaves = [p[0] for p in prepped]
    avals = [p[1] for p in prepped]
    vals = [p[2] for p in prepped]
    closed, (n_lin, extra), recorded = trace_flat(fun, leaves, avals, vals)
    n_out = len(closed.jaxpr.outvars)
    nonzeros = [bool(m) and is_diff_dtype(a.dtype) for m, a in zip(diff_mask, avals)]
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
    if not is_diff_dtype(aval.dtype):
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
    for x in leaves:
        a = leaf_aval(x, f"{fname}: the differentiated argument ({argnums_desc})")
        if not is_diff_dtype(a.dtype) and not allow_int:
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


def _linearize_user(fname, fun, primals, has_aux, mode):
    """Trace the user's ``fun(*primals)`` (its output and aux flattened) and linearize it.
    Returns (leaves, in_tree, the _Linearized, number of outputs, output tree, aux tree)."""
    leaves, in_tree = tree_flatten(tuple(primals))

    def flat(*xs):
        out = fun(*tree_unflatten(in_tree, xs))
        out, aux_leaves, aux_tree = _split_aux(fname, fun, out, has_aux)
        o_leaves, o_tree = tree_flatten(out)
        return list(o_leaves) + list(aux_leaves), (len(o_leaves), (o_tree, aux_tree))

    r = _linearize_flat(flat, leaves, [True] * len(leaves), mode)
    o_tree, aux_tree = r.extra
    return leaves, in_tree, r, r.n_lin, o_tree, aux_tree


def linear_transpose(fun, *primals, reduce_axes=()):
    """The transpose of the linear function ``fun`` (``jax.linear_transpose``):
    ``linear_transpose(f, *primals)(ct)`` is the tuple of cotangents, one per primal,
    whose inner products with any tangents equal ``ct``'s with ``f`` of them.
    ``primals`` give only shapes and dtypes (arrays or ``ShapeDtypeStruct``s); ``fun``
    must be linear in them (it is transposed at zero)."""
    if reduce_axes:
        raise NotImplementedError("linear_transpose(reduce_axes=...) is not implemented")

    def zero(x):
        a = x.aval if hasattr(x, "aval") else leaf_aval(x, "linear_transpose: primal")
        return np.zeros(a.shape, a.dtype)
    _, pullback = vjp(fun, *tree_map(zero, primals))

    def transposed(out_cotangent):
        return pullback(out_cotangent)
    return transposed


def vjp(fun, *primals, has_aux=False):
    """``(primal_out, vjp_fn)`` or ``(primal_out, vjp_fn, aux)``; ``vjp_fn(ct)`` returns a
    tuple with one cotangent per primal."""
    leaves, in_tree, r, n, o_tree, aux_tree = _linearize_user("vjp", fun, primals, has_aux,
                                                               "rev")
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
        # a cotangent the transposed program gives as a literal has the literal's type
        by_leaf = dict(zip(r.lin_leaves, zip(in_cts, T.jaxpr.out_avals)))
        full = [_as_array(*by_leaf[i]) if i in by_leaf else _zeros_value(a)
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
        if not is_diff_dtype(oa.dtype):
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
        # a cotangent the transposed program gives as a literal has the literal's type
        by_leaf = dict(zip(r.lin_leaves, zip(cts, T.jaxpr.out_avals)))
    else:
        by_leaf = {}
    grads_flat = []
    for i, a in enumerate(r.in_avals):
        g = by_leaf.get(i)
        grads_flat.append(_zeros_value(a) if g is None else _as_array(*g))
    g_tree = tree_unflatten(d_tree, grads_flat)
    return value, (g_tree[0] if single else g_tree), aux


def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False,
                   reduce_axes=()):
    """``(f(*args), df/dargs)`` (and ``aux`` with ``has_aux``: ``((value, aux), grad)``)."""
    _check_argnums_static(argnums)
    _unsupported("value_and_grad", holomorphic=holomorphic, reduce_axes=reduce_axes)

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
    _unsupported("grad", holomorphic=holomorphic, reduce_axes=reduce_axes)

    @functools.wraps(fun)
    def g(*args, **kwargs):
        value, gr, aux = _grad_core("grad", fun, argnums, has_aux, args, kwargs, allow_int)
        return (gr, aux) if has_aux else gr
    return g


def _unsupported(fname, **options):
    """Arguments JAX accepts that xform does not implement yet: refuse them by name
    rather than ignore them (a falsy value is the default and is fine)."""
    for k, v in options.items():
        if v:
            raise NotImplementedError(f"{fname}({k}={v!r}) is not implemented in xform yet")


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
    prepped = [prep_leaf(x, f"jvp primal {i}") for i, x in enumerate(p_leaves)]
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
        if is_diff_dtype(a.dtype):
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
    nonzeros = [is_diff_dtype(a.dtype) for a in avals]
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
        # as JAX: an output's tangent is as weakly typed as the output itself
        t = np.zeros(a.shape, float0) if not is_diff_dtype(a.dtype) else _like(t, a)
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
    leaves, in_tree, r, n, o_tree, aux_tree = _linearize_user("linearize", fun, primals,
                                                               has_aux, "fwd")
    leaf_avals = r.in_avals
    nonzeros = [is_diff_dtype(a.dtype) for a in leaf_avals]
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

def _map_over_basis(fn, basis, fixed=False):
    """Stack ``fn(basis[i])`` over the rows of ``basis`` (a NumPy (n, m) array) with one
    ``vmap``: the per-basis-vector JVP/VJP is written once in the IR, with a batch
    dimension, rather than once per basis vector.  Returns the pytree of ``fn``'s output
    with every leaf stacked along a new leading axis; with ``fixed``, ``fn`` returns
    ``(unbatched, mapped)`` and so does this (``unbatched`` as it is, not stacked)."""
    if basis.shape[0] == 0:
        raise ValueError("cannot take a Jacobian with respect to an input with no elements")
    n = basis.shape[0]
    marks = {}

    def strip(vec):
        # float0 leaves (cotangents of integer inputs) cannot be batched: replace them by
        # a marker and rebuild them after the vmap
        unbatched, out = fn(vec) if fixed else (None, fn(vec))
        out = tree_map(lambda x: _F0Leaf(np.shape(x)) if getattr(x, "dtype", None) == float0
                       else x, out)
        leaves, tree = tree_flatten(out, is_leaf=lambda x: isinstance(x, _F0Leaf))
        marks["tree"] = tree
        marks["f0"] = {i: x.shape for i, x in enumerate(leaves) if isinstance(x, _F0Leaf)}
        return unbatched, [x for x in leaves if not isinstance(x, _F0Leaf)]
    unbatched, arrs = vmap(strip, out_axes=(None, 0))(core.array_from_numpy(basis))
    it = iter(arrs)
    leaves = [np.zeros((n,) + marks["f0"][i], float0) if i in marks["f0"] else next(it)
              for i in range(marks["tree"].num_leaves)]
    stacked = tree_unflatten(marks["tree"], leaves)
    return (unbatched, stacked) if fixed else stacked


class _F0Leaf:
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = tuple(shape)


def _std_basis(avals):
    n = sum(a.size for a in avals)
    dt = dtypes.canonicalize(np.result_type(*[a.dtype for a in avals]))
    return np.eye(n, dtype=dt)


def _rows(x, start, size, shape):
    """Rows ``start:start+size`` of ``x``'s leading axis, reshaped to ``shape``."""
    if getattr(x, "dtype", None) == float0:
        return np.reshape(x[start:start + size], shape)
    return lax.reshape(lax.slice_in_dim(x, start, start + size, axis=0), shape)


def _like(x, aval):
    """``x`` with ``aval``'s dtype and weak type, as JAX casts basis vectors and Jacobian
    blocks (a weak input's block is weak)."""
    if getattr(x, "dtype", None) == float0:
        return x
    return lax.convert_element_type(x, aval.dtype, weak_type=aval.weak_type)


def _split_flat(vec, avals):
    """Split a flat vector into leaves of the given avals."""
    out, off = [], 0
    for a in avals:
        out.append(_like(_rows(vec, off, a.size, a.shape), a))
        off += a.size
    return out


def _jacobian(fname, fun, argnums, has_aux, allow_int, forward: bool):
    """The one Jacobian builder.  Forward (``jacfwd``): push each input basis vector
    through ``jvp`` (as JAX; unlike ``linearize`` it needs no partial evaluation, so it
    works through ``while_loop``); reverse (``jacrev``): pull each output basis vector back
    through the VJP.  Both stack the basis with one ``vmap`` and return, for every output
    leaf, the pytree of ``argnums`` with leaves of shape ``out.shape + in.shape``."""
    _check_argnums_static(argnums)

    def jacfun(*args, **kwargs):
        single, nums = _check_argnums(fname, argnums, len(args))
        dyn = tuple(args[i] for i in nums)
        d_leaves, d_tree = tree_flatten(dyn)
        _check_inexact(fname, d_leaves, f"argnums={argnums!r}", allow_int)

        def f_dyn(*dyn_vals):
            full = list(args)
            for i, v in zip(nums, dyn_vals):
                full[i] = v
            return fun(*full, **kwargs)
        in_avals = [prep_leaf(x, f"{fname} input")[1] for x in d_leaves]
        if forward:   # push the input basis through one vmap of jvp; the primal is unbatched
            def push(vec):
                res = jvp(f_dyn, dyn, tree_unflatten(d_tree, _split_flat(vec, in_avals)),
                          has_aux=has_aux)
                return (res[0], res[2] if has_aux else None), res[1]
            (out, aux), stacked = _map_over_basis(push, _std_basis(in_avals), fixed=True)
            o_leaves, o_tree = tree_flatten(out)
            out_avals = [prep_leaf(o, f"{fname} output")[1] for o in o_leaves]
        else:         # pull the output basis back through one vmap of the vjp
            res = vjp(f_dyn, *dyn, has_aux=has_aux)
            out, f_lin, aux = res if has_aux else (res + (None,))
            o_leaves, o_tree = tree_flatten(out)
            out_avals = [prep_leaf(o, f"{fname} output")[1] for o in o_leaves]
            for a in out_avals:
                if not is_diff_dtype(a.dtype):
                    raise TypeError(f"jacrev requires real- or complex-valued outputs, got "
                                    f"{a.str_short()}")
            stacked = _map_over_basis(
                lambda vec: f_lin(tree_unflatten(o_tree, _split_flat(vec, out_avals))),
                _std_basis(out_avals))
        s_leaves = tree_flatten(stacked)[0]
        jac_leaves = []
        if forward:      # s_leaves: one per output, (n_in, *out)
            for a_out, s in zip(out_avals, s_leaves):
                nd = len(a_out.shape)
                s = lax.transpose(s, tuple(range(1, nd + 1)) + (0,))   # (*out, n_in)
                per_in, off = [], 0
                for a in in_avals:
                    piece = lax.slice_in_dim(s, off, off + a.size, axis=nd)
                    per_in.append(_like(lax.reshape(piece, a_out.shape + a.shape), a_out))
                    off += a.size
                t = tree_unflatten(d_tree, per_in)
                jac_leaves.append(t[0] if single else t)
        else:            # s_leaves: one per input, (n_out, *in)
            off = 0
            for a_out in out_avals:
                per_in = [_like(_rows(s, off, a_out.size, a_out.shape + a_in.shape), a_in)
                          for s, a_in in zip(s_leaves, in_avals)]
                off += a_out.size
                t = tree_unflatten(d_tree, per_in)
                jac_leaves.append(t[0] if single else t)
        jac = tree_unflatten(o_tree, jac_leaves)
        return (jac, aux) if has_aux else jac
    return jacfun


def jacfwd(fun, argnums=0, has_aux=False, holomorphic=False):
    """Jacobian by forward mode: one JVP per input element, stacked with one ``vmap``."""
    _unsupported("jacfwd", holomorphic=holomorphic)
    return _jacobian("jacfwd", fun, argnums, has_aux, False, forward=True)


def jacrev(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """Jacobian by reverse mode: one VJP per output element, stacked with one ``vmap``."""
    _unsupported("jacrev", holomorphic=holomorphic)
    return _jacobian("jacrev", fun, argnums, has_aux, allow_int, forward=False)


jacobian = jacrev   # as jax.jacobian


def hessian(fun, argnums=0, has_aux=False, holomorphic=False):
    """``jacfwd(jacrev(fun))``."""
    _unsupported("hessian", holomorphic=holomorphic)
    return jacfwd(jacrev(fun, argnums, has_aux=has_aux), argnums, has_aux=has_aux)
