"""``custom_jvp`` and ``custom_vjp``: user-supplied derivative rules.

A call of a decorated function inside a trace binds one meta-operator
(``custom_jvp_call`` / ``custom_vjp_call``, primitives/custom.py) that holds the
primal computation as a sub-jaxpr and the rule as a callable; xform/ad.py's JVP
rules for those meta-operators call the user's rule.  Outside any trace the
function simply runs.

Beyond JAX: a ``custom_vjp`` function may also be given a forward-mode rule with
``f.defjvp(jvp)``; then ``jvp``/``jacfwd``/``linearize`` use it (reverse mode still
uses fwd/bwd).  Without one, forward mode raises a clear error.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from primitives import custom as custom_ops
from primitives.core import ClosedJaxpr, Jaxpr, Literal

from ..core.pytree import (flatten_up_to, register_pytree_node, tree_flatten, tree_map,
                           tree_unflatten)
from ..core.trace import add_eqn_with_values, prep_leaf, trace_flat
from ..transforms.ad_util import aval_of, bcast_to, zeros_like_aval
from .. import lax
from ..core import trace as core


def _resolve_args(fun, sig, args, kwargs):
    """The positional arguments of a call, keywords bound and defaults filled in (as JAX:
    a nondiff argument may be left to its default)."""
    if not kwargs and (sig is None or len(args) >= len(sig.parameters)):
        return tuple(args)
    if sig is None:
        raise TypeError(f"{fun.__name__}: keyword arguments need an inspectable signature")
    ba = sig.bind(*args, **kwargs)
    ba.apply_defaults()
    if ba.kwargs:
        raise TypeError(f"{fun.__name__}: custom derivative functions do not accept **kwargs")
    return tuple(ba.args)


def _split_nondiff(args, nondiff_argnums):
    if nondiff_argnums and max(nondiff_argnums) >= len(args):
        raise TypeError(f"nondiff_argnums={nondiff_argnums} names argument "
                        f"{max(nondiff_argnums)}, but the function was called with "
                        f"{len(args)} arguments{core.where()}")
    nd = [args[i] for i in nondiff_argnums]
    dyn = [a for i, a in enumerate(args) if i not in nondiff_argnums]
    return nd, dyn


def _merge(nondiff_argnums, nd, dyn):
    out, nd_it, dyn_it = [], iter(nd), iter(dyn)
    n = len(nd) + len(dyn)
    for i in range(n):
        out.append(next(nd_it) if i in nondiff_argnums else next(dyn_it))
    return out


def _trace_primal(fun, dyn_leaves, in_tree):
    """Trace ``fun`` over flat leaves. Returns (call_jaxpr without consts, consts,
    out_tree, concrete output values or None)."""

    prepped = [prep_leaf(x, "argument") for x in dyn_leaves]
    leaves = [p[0] for p in prepped]

    def flat(*xs):
        out = fun(*tree_unflatten(in_tree, xs))
        o_leaves, o_tree = tree_flatten(out)
        return o_leaves, o_tree

    closed, out_tree, recorded = trace_flat(flat, leaves, [p[1] for p in prepped],
                                            [p[2] for p in prepped])
    j = closed.jaxpr
    call = ClosedJaxpr(Jaxpr([], list(j.constvars) + list(j.invars), j.eqns, j.outvars), [])
    out_vals = None
    if recorded is not None:
        out_vals = []
        for a in j.outvars:
            if type(a).__name__ == "Literal":
                out_vals.append(core.array_from_numpy(np.asarray(a.val, a.aval.dtype),
                                                      weak_type=a.aval.weak_type))
            else:
                v = recorded.get(a)
                if v is None:
                    # an output that is a constvar (closed-over value) or an input
                    idx = (list(j.constvars) + list(j.invars)).index(a)
                    src = (list(closed.consts) + leaves)[idx]
                    v = core.Builder.value_of(src) if type(src) is core.Tracer else src
                    if v is None:
                        out_vals = None
                        break
                out_vals.append(v)
    return call, list(closed.consts), leaves, out_tree, out_vals


def _flat_outputs(name, what, out, out_tree):
    leaves, tree = tree_flatten(out)
    if tree != out_tree:
        raise TypeError(f"{name}: the {what} has structure {tree}, but the primal output has "
                        f"structure {out_tree}")
    return leaves


def _tangent_leaves(name, tangent_out, out_tree, primal_leaves):
    if tangent_out is None:
        return [zeros_like_aval(aval_of(p)) for p in primal_leaves]
    leaves = flatten_up_to(out_tree, tangent_out) if out_tree.num_leaves else []
    out = []
    for t, p in zip(leaves, primal_leaves):
        pa = aval_of(p)
        if t is None:
            out.append(zeros_like_aval(pa))
            continue
        ta = aval_of(t) if not isinstance(t, (int, float)) else None
        if isinstance(t, (int, float)):
            t = lax.full_like(p, t) if hasattr(lax, "full_like") else \
                _bcast_value(t, pa)
        elif ta.shape != pa.shape:
            raise TypeError(f"{name}: the custom JVP rule returned a tangent of shape "
                            f"{ta.shape} for a primal output of shape {pa.shape}")
        elif ta.dtype != pa.dtype:
            t = lax.convert_element_type(t, pa.dtype)
        out.append(t)
    return out


def _bcast_value(v, aval):
    return bcast_to(lax.weak_literal(v, aval.dtype), aval.shape)


def _arrays(leaves):
    """Leaves as the user's rules may take them: a scalar the surface wrote inline in the
    IR (a Literal operand) becomes an array of its type, with ``dtype`` and ``shape``."""
    return [core.array_from_numpy(np.asarray(x.val, x.aval.dtype), weak_type=x.aval.weak_type)
            if type(x) is Literal else x for x in leaves]


def _user_jvp_flat(name, user_jvp, nd, in_tree, out_tree):
    """The user's ``jvp(*nondiff, primals, tangents)`` as a function of flat leaves."""
    def jvp_flat(primals, tangents):
        ps = tree_unflatten(in_tree, _arrays(primals))
        ts = tree_unflatten(in_tree, _arrays(tangents))
        res = user_jvp(*nd, tuple(ps), tuple(ts))
        if not (isinstance(res, (tuple, list)) and len(res) == 2):
            raise TypeError(f"the custom JVP rule of {name} must return a pair "
                            f"(primal_out, tangent_out), got {type(res).__name__}")
        p_out, t_out = res
        p_leaves = _flat_outputs(name, "primal output of its JVP rule", p_out, out_tree)
        return list(p_leaves), list(_tangent_leaves(name, t_out, out_tree, p_leaves))
    return jvp_flat


class _CustomFunction:
    """What ``custom_jvp`` and ``custom_vjp`` share: the wrapped function, its
    non-differentiable arguments, and the call, which runs ``fun`` as it is when nothing
    is traced and otherwise traces it into one ``custom_*_call`` equation that carries
    the user's rules (``_bind``, one per subclass)."""

    kind = ""          # "custom_jvp" / "custom_vjp", for messages

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp = None
        try:
            self._sig = inspect.signature(fun)
        except (TypeError, ValueError):
            self._sig = None

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def _missing_rule(self, name):
        """An error if the rule this kind needs was never defined, else None."""
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        name = getattr(self.fun, "__name__", f"{self.kind} function")
        self._missing_rule(name)
        args = _resolve_args(self.fun, self._sig, args, kwargs)
        nd, dyn = _split_nondiff(args, self.nondiff_argnums)
        if not core._stack:
            return self.fun(*args)
        dyn_leaves, in_tree = tree_flatten(tuple(dyn))
        fun, nondiff_argnums = self.fun, self.nondiff_argnums

        def primal(*dyn_args):
            return fun(*_merge(nondiff_argnums, nd, dyn_args))
        call, consts, leaves, out_tree, out_vals = _trace_primal(primal, dyn_leaves, in_tree)
        prim, rules = self._bind(name, nd, dyn, leaves, in_tree, out_tree)
        outs = add_eqn_with_values(prim, list(consts) + list(leaves),
                                   dict(call_jaxpr=call, **rules, num_consts=len(consts),
                                        name=name), out_vals)
        return tree_unflatten(out_tree, outs)


class custom_jvp(_CustomFunction):
    """Give ``fun`` a custom JVP rule: ``@custom_jvp`` then ``@f.defjvp``."""

    kind = "custom_jvp"

    def defjvp(self, jvp, symbolic_zeros=False):
        """``jvp(*nondiff_args, primals, tangents) -> (primal_out, tangent_out)``."""
        if symbolic_zeros:
            raise NotImplementedError("custom_jvp.defjvp(symbolic_zeros=True) is not "
                                      "implemented in xform yet")
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps):
        """One rule per (differentiable) argument: ``jvp_i(t_i, primal_out, *primals)``;
        ``None`` for an argument without a derivative.  Contributions are summed."""
        def jvp(*args):
            primals, tangents = args[-2], args[-1]
            nd = args[:-2]
            out = self.fun(*_merge(self.nondiff_argnums, nd, primals))
            total = None
            for f, t in zip(jvps, tangents):
                if f is None:
                    continue
                c = f(t, out, *primals)
                total = c if total is None else tree_map(lambda a, b: a + b, total, c)
            if total is None:
                total = tree_map(lambda o: o * 0, out)
            return out, total
        self.defjvp(jvp)
        return jvps

    def _missing_rule(self, name):
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {name} using defjvp.")

    def _bind(self, name, nd, dyn, leaves, in_tree, out_tree):
        return custom_ops.custom_jvp_call, dict(
            jvp=_user_jvp_flat(name, self.jvp, nd, in_tree, out_tree))


class custom_vjp(_CustomFunction):
    """Give ``fun`` a custom VJP: ``f.defvjp(fwd, bwd)``; optionally ``f.defjvp(jvp)`` too."""

    kind = "custom_vjp"

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd, symbolic_zeros=False, optimize_remat=False):
        """``fwd(*args) -> (out, residuals)``; ``bwd(*nondiff_args, residuals, ct) ->``
        a tuple with one cotangent per differentiable argument."""
        if symbolic_zeros or optimize_remat:
            raise NotImplementedError(
                "custom_vjp.defvjp(symbolic_zeros=True / optimize_remat=True) is not "
                "implemented in xform yet")
        self.fwd, self.bwd = fwd, bwd

    def defjvp(self, jvp):
        """A forward-mode rule, ``jvp(*nondiff_args, primals, tangents)`` (xform extension)."""
        self.jvp = jvp
        return jvp

    def _missing_rule(self, name):
        if self.fwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {name} using defvjp.")

    def _bind(self, name, nd, dyn, leaves, in_tree, out_tree):
        user_fwd, user_bwd, nondiff_argnums = self.fwd, self.bwd, self.nondiff_argnums
        res_tree = None

        def fwd_flat(primals):
            nonlocal res_tree
            ps = tree_unflatten(in_tree, _arrays(primals))
            res = user_fwd(*_merge(nondiff_argnums, nd, ps))
            if not (isinstance(res, (tuple, list)) and len(res) == 2):
                raise TypeError(f"the fwd rule of custom_vjp function {name} must return a pair "
                                f"(output, residuals), got {type(res).__name__}")
            out, r = res
            o_leaves = _flat_outputs(name, "output of its fwd rule", out, out_tree)
            r_leaves, res_tree = tree_flatten(r)
            return list(o_leaves), list(r_leaves)

        def bwd_flat(res, cts):
            r = tree_unflatten(res_tree, res)
            ct = tree_unflatten(out_tree, cts)
            out = user_bwd(*nd, r, ct)
            if not isinstance(out, (tuple, list)):
                raise TypeError(f"the bwd rule of custom_vjp function {name} must return a tuple "
                                f"with one cotangent per differentiable argument, got "
                                f"{type(out).__name__}")
            if len(out) != len(dyn):
                raise TypeError(f"the bwd rule of custom_vjp function {name} returned "
                                f"{len(out)} cotangents for {len(dyn)} differentiable arguments")
            flat = []
            for o, a in zip(out, dyn):
                a_leaves, a_tree = tree_flatten(a)
                if o is None:
                    flat.extend([None] * len(a_leaves))
                else:
                    flat.extend(flatten_up_to(a_tree, o))
            result = []
            for c, x in zip(flat, leaves):
                if c is not None and isinstance(c, (int, float)):
                    c = _bcast_value(c, aval_of(x))
                result.append(c)
            return result

        jvp_flat = None if self.jvp is None else \
            _user_jvp_flat(name, self.jvp, nd, in_tree, out_tree)
        return custom_ops.custom_vjp_call, dict(fwd=fwd_flat, bwd=bwd_flat, jvp=jvp_flat)


def closure_convert(fun, *example_args):
    """``(converted, consts)`` with ``converted(*args, *consts) == fun(*args)`` for
    arguments shaped like ``example_args``: the values ``fun`` closes over (traced ones
    included) become explicit arguments, as ``jax.closure_convert``.  Used where a rule
    must not close over traced values (``custom_vjp`` residuals, solvers)."""
    leaves, in_tree = tree_flatten((example_args, {}))
    avals = [core.leaf_aval(v, "closure_convert: argument") for v in leaves]
    closed, out_tree = core.trace_to_jaxpr(fun, avals, in_tree, context="closure_convert")
    jaxpr, consts = closed.jaxpr, list(closed.consts)

    def converted(*args):
        split = len(args) - len(consts)
        flat, tree = tree_flatten((tuple(args[:split]), {}))
        if split < 0 or tree != in_tree:
            raise TypeError(f"closure_convert: the converted function takes arguments "
                            f"structured as {in_tree} followed by {len(consts)} constants, "
                            f"got {len(args)} arguments{core.where()}")
        return tree_unflatten(out_tree, core.eval_jaxpr(jaxpr, list(args[split:]), flat))
    return converted, consts


class _GradientRule:
    """The residuals of a ``custom_gradient`` call: the values its rule closes over as
    leaves, the traced rule itself as static data (so it travels from fwd to bwd)."""

    def __init__(self, rule, consts):
        self.rule, self.consts = rule, consts


register_pytree_node(_GradientRule, lambda r: (r.consts, r.rule),
                     lambda rule, consts: _GradientRule(rule, list(consts)))


def custom_gradient(fun):
    """``fun(*args) -> (value, vjp_rule)``, where ``vjp_rule(ct)`` returns one cotangent per
    argument (a tuple; a single value for one argument): the function whose reverse-mode
    derivative is that rule, as ``jax.custom_gradient``.  The rule may close over values
    computed for ``value``; it is traced once, in the forward pass."""
    def call(args):
        out = fun(*args)
        if not (isinstance(out, (tuple, list)) and len(out) == 2 and callable(out[1])):
            raise TypeError(f"custom_gradient: {getattr(fun, '__name__', 'fun')} must return "
                            f"a pair (value, vjp_rule), got {type(out).__name__}{core.where()}")
        return out

    @custom_vjp
    @functools.wraps(fun)
    def wrapped(*args):
        return call(args)[0]

    def fwd(*args):
        value, rule = call(args)
        converted, consts = closure_convert(rule, value)
        return value, _GradientRule(converted, consts)

    def bwd(res, ct):
        cts = res.rule(ct, *res.consts)
        return cts if isinstance(cts, tuple) else (cts,)
    wrapped.defvjp(fwd, bwd)
    return wrapped
