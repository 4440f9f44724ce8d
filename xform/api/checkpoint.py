"""``checkpoint`` / ``remat``: trade memory for recomputation in reverse mode (as ``jax.checkpoint``).

``checkpoint(f)`` traces ``f`` into one ``checkpoint`` meta-operator (primitives/remat.py)
holding ``f``'s jaxpr and a *policy*.  Evaluating it just runs ``f``; under ``grad``/``vjp``
the rule in xform/ad.py keeps for the backward pass only the intermediates the policy
allows and recomputes every other one there.  A policy is any callable
``policy(prim, *in_avals, **params) -> bool`` (True: the equation's outputs may be
saved); ``checkpoint_policies`` holds JAX's named ones, and ``checkpoint_name(x, "a")``
names a value for ``save_only_these_names("a")`` / ``save_any_names_but_these``.

Beyond JAX: ``checkpoint_scan`` is ``lax.scan`` whose reverse mode stores O(sqrt(n))
carries instead of n (a scan of checkpointed scans); ``saved_residuals`` lists what the
forward pass of ``f`` keeps for its backward pass (JAX has it as
``jax.ad_checkpoint.saved_residuals``).
"""
from __future__ import annotations

import dataclasses
import functools
import math
import types

from primitives import ops, remat as remat_ops
from primitives.core import Literal

from ..core.pytree import tree_flatten, tree_map, tree_unflatten
from ..core.trace import leaf_aval, trace_to_jaxpr
from ..transforms.ad_util import is_diff_dtype
from .. import lax
from ..core import trace as core
from ..lax import remat as lax_remat
from . import ad


__all__ = ["checkpoint", "remat", "checkpoint_name", "checkpoint_policies", "checkpoint_scan",
           "saved_residuals", "print_saved_residuals"]


# --- policies ------------------------------------------------------------------------------

def everything_saveable(*_, **__) -> bool:
    """Save every intermediate: as if there were no checkpoint."""
    return True


def nothing_saveable(*_, **__) -> bool:
    """Save nothing but the checkpointed function's inputs (the default)."""
    return False


@dataclasses.dataclass(frozen=True)
class _DotsSaveable:
    only_if_no_batch_dims: bool

    def __call__(self, prim, *avals, **params) -> bool:
        if prim is ops.dot_general:
            (_, _), (lhs_batch, rhs_batch) = params["dimension_numbers"]
            return not self.only_if_no_batch_dims or (not lhs_batch and not rhs_batch)
        return prim is ops.conv_general_dilated and not self.only_if_no_batch_dims


dots_saveable = _DotsSaveable(False)
dots_with_no_batch_dims_saveable = _DotsSaveable(True)


def _names(fname, names) -> frozenset:
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"checkpoint_policies.{fname}: names must be strings (as given to "
                            f"checkpoint_name), got {type(n).__name__} {n!r}")
    return frozenset(names)


@dataclasses.dataclass(frozen=True)
class _SaveOnlyTheseNames:
    names: frozenset

    def __call__(self, prim, *avals, **params) -> bool:
        return prim is remat_ops.name and params["name"] in self.names


@dataclasses.dataclass(frozen=True)
class _SaveAnyNamesButThese:
    names: frozenset

    def __call__(self, prim, *avals, **params) -> bool:
        return prim is remat_ops.name and params["name"] not in self.names


def save_only_these_names(*names):
    """Save only values named with ``checkpoint_name`` by one of ``names``."""
    return _SaveOnlyTheseNames(_names("save_only_these_names", names))


def save_any_names_but_these(*names):
    """Save every value named with ``checkpoint_name`` except those named ``names``."""
    return _SaveAnyNamesButThese(_names("save_any_names_but_these", names))


@dataclasses.dataclass(frozen=True)
class _Either:
    first: object
    second: object

    def __call__(self, prim, *avals, **params) -> bool:
        return bool(self.first(prim, *avals, **params)) or \
            bool(self.second(prim, *avals, **params))


def save_from_both_policies(policy_1, policy_2):
    """Save a value if either policy saves it."""
    for p in (policy_1, policy_2):
        _check_policy("checkpoint_policies.save_from_both_policies", p)
    return _Either(policy_1, policy_2)


checkpoint_policies = types.SimpleNamespace(
    everything_saveable=everything_saveable,
    nothing_saveable=nothing_saveable,
    dots_saveable=dots_saveable,
    checkpoint_dots=dots_saveable,
    dots_with_no_batch_dims_saveable=dots_with_no_batch_dims_saveable,
    checkpoint_dots_with_no_batch_dims=dots_with_no_batch_dims_saveable,
    save_only_these_names=save_only_these_names,
    save_any_names_but_these=save_any_names_but_these,
    save_from_both_policies=save_from_both_policies,
)


def _check_policy(fname, policy):
    if policy is not None and not callable(policy):
        raise TypeError(
            f"{fname}: policy must be None or a callable policy(prim, *avals, **params) -> bool "
            f"such as xform.checkpoint_policies.dots_saveable, got {type(policy).__name__} "
            f"{policy!r:.60}")


# --- checkpoint_name ---------------------------------------------------------------------------

def checkpoint_name(x, name):
    """``x`` unchanged, with every leaf named ``name`` for checkpoint policies."""
    if not isinstance(name, str):
        raise TypeError(f"checkpoint_name: name must be a str, got {type(name).__name__} "
                        f"{name!r:.60}{core.where()}")
    if not core._stack:
        return x
    return tree_map(lambda leaf: core.bind(remat_ops.name, leaf, name=name), x)


# --- checkpoint / remat --------------------------------------------------------------------------

def _static_positions(fname, static_argnums, nargs):
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    out = set()
    for i in static_argnums:
        if not isinstance(i, int) or not -nargs <= i < nargs:
            raise ValueError(f"{fname}: static_argnums={static_argnums!r} does not name a "
                             f"positional argument of a call with {nargs} of them")
        out.add(i % nargs)
    return out


def checkpoint(fun, *, prevent_cse=True, policy=None, static_argnums=()):
    """``fun`` whose reverse mode saves only what ``policy`` allows (default: nothing but
    its inputs) and recomputes the rest during the backward pass.

    ``fun`` is traced abstractly, as under ``jit``: Python control flow on the values of
    arguments needs ``static_argnums``.  ``prevent_cse=False`` drops the optimization
    barrier that keeps XLA from merging the recomputation with the forward pass (safe,
    and sometimes faster, inside ``scan`` bodies).
    """
    if not callable(fun):
        raise TypeError(f"checkpoint: fun must be callable, got {type(fun).__name__}")
    _check_policy("checkpoint", policy)
    if not isinstance(prevent_cse, (bool, int)):
        raise TypeError(f"checkpoint: prevent_cse must be a bool, got "
                        f"{type(prevent_cse).__name__} (per-argument tuples are not supported)")
    if not isinstance(static_argnums, (int, tuple, list)):
        raise TypeError(f"checkpoint: static_argnums must be an int or a tuple of ints, got "
                        f"{static_argnums!r}")

    @functools.wraps(fun)
    def fun_remat(*args, **kwargs):
        static = _static_positions("checkpoint", static_argnums, len(args))
        dyn = tuple(a for i, a in enumerate(args) if i not in static)

        def dyn_fun(*dyn_args, **kw):
            it = iter(dyn_args)
            return fun(*[a if i in static else next(it) for i, a in enumerate(args)], **kw)
        leaves, in_tree = tree_flatten((dyn, kwargs))
        outs, out_tree = lax_remat.checkpoint_call(dyn_fun, leaves, in_tree, policy,
                                                   bool(prevent_cse))
        return tree_unflatten(out_tree, outs)
    return fun_remat


remat = checkpoint


# --- what the forward pass saves --------------------------------------------------------------------

def _producer_description(jaxpr, v, describe_input) -> str:
    if type(v) is Literal:
        return "a literal"
    if v in jaxpr.invars:
        return describe_input(v)
    for e in jaxpr.eqns:
        if v not in e.outvars:
            continue
        if e.prim is remat_ops.name:
            return f"named {e.params['name']!r}"
        if e.prim is remat_ops.checkpoint:   # look inside the checkpoint's body
            body = e.params["jaxpr"].jaxpr
            outer = dict(zip(body.invars, e.invars))
            inner = body.outvars[e.outvars.index(v)]
            return _producer_description(
                body, inner, lambda w: _producer_description(jaxpr, outer[w], describe_input))
        where = f" at {e.source}" if e.source else ""
        return f"output of {e.prim.name}{where}"
    return "a closed-over value"


def saved_residuals(f, *args, **kwargs) -> list:
    """``[(aval, description)]``: the values the forward pass of ``vjp(f, *args)`` keeps for
    the backward pass (its residuals), each with where it comes from (an argument, a
    ``checkpoint_name``, or the meta-operator and line that computes it)."""
    leaves, in_tree = tree_flatten((args, kwargs))
    avals = [leaf_aval(x, f"saved_residuals: argument leaf {i}") for i, x in enumerate(leaves)]

    def flat(*a, **k):
        return tree_flatten(f(*a, **k))[0]
    closed, _ = trace_to_jaxpr(flat, avals, in_tree)
    nonzeros = [is_diff_dtype(a.dtype) for a in avals]
    J, _ = ad.jvp_jaxpr(closed, nonzeros, instantiate_out=False)
    K, _, n_res, _ = ad.partial_eval(J, len(avals))
    k = K.jaxpr
    res = k.outvars[len(k.outvars) - n_res:]
    arg_names = {v: f"from argument leaf {i} {a.str_short()}"
                 for i, (v, a) in enumerate(zip(k.invars, avals))}
    return [(v.aval, _producer_description(k, v, arg_names.__getitem__)) for v in res]


def print_saved_residuals(f, *args, **kwargs) -> None:
    for aval, what in saved_residuals(f, *args, **kwargs):
        print(f"{aval.str_short()} {what}")


# --- checkpointed scan --------------------------------------------------------------------------------

def checkpoint_scan(f, init, xs=None, length=None, reverse=False, unroll=1, *,
                    segment_length=None, prevent_cse=False):
    """``lax.scan(f, init, xs, length, reverse, unroll)`` whose reverse mode keeps one carry
    per segment of ``segment_length`` steps (default ``ceil(sqrt(length))``) and recomputes
    each segment's steps during the backward pass: about ``2 * sqrt(length)`` stored carries
    instead of ``length``, for one extra forward pass.  Same values and gradients as
    ``lax.scan``.  (An xform extension; see docs/differences.md.)"""
    x_leaves, x_tree = tree_flatten(xs)
    if length is None:
        if not x_leaves:
            raise ValueError(f"checkpoint_scan: with xs=None (no leaves), pass length="
                             f"{core.where()}")
        length = lax.aval(x_leaves[0]).shape[0] if lax.aval(x_leaves[0]).ndim else 0
    n = int(length)
    lens = {lax.aval(x).shape[0] if lax.aval(x).ndim else None for x in x_leaves}
    if lens - {n}:
        raise ValueError(f"checkpoint_scan: every leaf of xs needs leading dimension length="
                         f"{n}, got leading dimensions {sorted(lens, key=str)}{core.where()}")
    if segment_length is None:
        seg = max(1, math.isqrt(n - 1) + 1) if n > 1 else 1
    elif isinstance(segment_length, int) and segment_length >= 1:
        seg = segment_length
    else:
        raise ValueError(f"checkpoint_scan: segment_length must be a positive int, got "
                         f"{segment_length!r}{core.where()}")
    n_outer, rem = divmod(n, seg)

    def segment(steps):
        def run(c, x_seg):
            return lax.scan(f, c, x_seg, length=steps, reverse=reverse, unroll=unroll)
        return checkpoint(run, prevent_cse=prevent_cse)
    if n <= seg:
        return segment(n)(init, xs)

    def part(start, stop, shape):
        return tree_map(lambda x: lax.reshape(lax.slice_in_dim(x, start, stop, axis=0),
                                              shape + tuple(lax.aval(x).shape[1:])), xs)
    main_xs = part(0, n_outer * seg, (n_outer, seg))
    rem_xs = part(n_outer * seg, n, (rem,))
    carry, ys_main, ys_rem = init, None, None
    order = ["rem", "main"] if reverse else ["main", "rem"]
    for which in order:
        if which == "main" and n_outer:
            carry, ys_main = lax.scan(segment(seg), carry, main_xs, length=n_outer,
                                      reverse=reverse)
            ys_main = tree_map(lambda y: lax.reshape(y, (n_outer * seg,) + y.shape[2:]),
                               ys_main)
        elif which == "rem" and rem:
            carry, ys_rem = segment(rem)(carry, rem_xs)
    if not rem:
        return carry, ys_main
    return carry, tree_map(lambda a, b: lax.concatenate([a, b], 0), ys_main, ys_rem)
