"""``vmap``: trace on per-example avals, rewrite with ``transforms.batching``."""
from __future__ import annotations

import functools
import inspect
from typing import Callable

import numpy as np

from primitives.core import Literal

from ..core.array import Array
from ..core.pytree import REGISTRY, tree_flatten, tree_unflatten
from ..lax.parallel import axis_frame
from ..transforms.batching import batch_jaxpr, unbatched_aval
from ..core import eval_jaxpr, Tracer, where
from ..core.array import array_from_numpy
from ..core.trace import _PY_SCALARS, aval_of_scalar, leaf_aval, trace_to_jaxpr


# --- vmap ---------------------------------------------------------------------------------------

def _children(x):
    """(children, keys) of a pytree node, or None for a leaf."""
    if x is None:
        return None
    level = REGISTRY.flatten_one_level(x)
    if level is None:
        return None
    children, aux = list(level[0]), level[1]
    if type(x) is dict:
        keys = [f"[{k!r}]" for k in aux]
    elif hasattr(x, "_fields"):
        keys = [f".{f}" for f in x._fields]
    else:
        keys = [f"[{i}]" for i in range(len(children))]
    return children, keys


def _leaves_with_paths(tree, path, out):
    c = _children(tree)
    if c is None:
        if tree is not None:
            out.append((path, tree))
        return
    for child, key in zip(*c):
        _leaves_with_paths(child, path + key, out)


def _broadcast_prefix(prefix, tree, path, what, out):
    """Append (path, leaf, axis) for every leaf of ``tree`` under the axis spec ``prefix``."""
    if prefix is None or isinstance(prefix, (int, np.integer)) and not isinstance(prefix, bool):
        leaves: list = []
        _leaves_with_paths(tree, path, leaves)
        ax = None if prefix is None else int(prefix)
        out.extend((p, leaf, ax) for p, leaf in leaves)
        return
    pc = _children(prefix)
    if pc is None:
        raise ValueError(f"vmap {what} must be made of ints, None and containers; at "
                         f"{path or 'the top level'} it is {prefix!r} ({type(prefix).__name__})")
    tc = _children(tree)
    if tc is None or type(tree) is not type(prefix) or len(tc[0]) != len(pc[0]) or \
            tc[1] != pc[1]:
        kind = type(tree).__name__ if tree is not None else "None"
        n = "" if tc is None else f" with {len(tc[0])} entries {tc[1]}"
        raise ValueError(
            f"vmap {what} specification must be a tree prefix of the corresponding value: "
            f"at {path or 'the top level'}, {what} is a {type(prefix).__name__} with "
            f"{len(pc[0])} entries {pc[1]}, but the value is a {kind}{n}")
    for pchild, tchild, key in zip(pc[0], tc[0], tc[1]):
        _broadcast_prefix(pchild, tchild, path + key, what, out)


def _shape_of(x):
    a = getattr(x, "aval", None)
    if a is not None:
        return tuple(a.shape)
    return tuple(np.shape(x))


def _per_example_aval(x, axis, what):
    a = leaf_aval(x, what)
    return unbatched_aval(a, axis)


def _normalize_in_axes(in_axes):
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if not (in_axes is None or type(in_axes) is int or isinstance(in_axes, tuple)):
        raise TypeError(f"vmap in_axes must be an int, None, or a tuple of entries corresponding "
                        f"to the positional arguments passed to the function, but got "
                        f"{in_axes!r}")
    return in_axes


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_size=None, axis_name=None,
         spmd_axis_name=None) -> Callable:
    """Vectorise ``fun`` over a new leading (or ``in_axes``) axis of its arguments.

    ``in_axes``: an int, ``None`` (not mapped) or a tuple (one entry per positional
    argument) whose entries may be pytree prefixes of the arguments; keyword
    arguments are always mapped over axis 0.  ``out_axes``: the same for the
    outputs.  ``axis_size`` gives the size when no argument is mapped.
    ``axis_name`` names the mapped axis for collectives (``lax.psum``, ...).
    ``spmd_axis_name`` (laying the mapped axis out over a mesh axis inside sharding
    constraints and ``shard_map``) is not implemented: given, it raises.
    """
    if not callable(fun):
        raise TypeError(f"vmap: expected a callable, got {type(fun).__name__}")
    if spmd_axis_name is not None:
        raise NotImplementedError(
            f"vmap(spmd_axis_name={spmd_axis_name!r}) is not implemented: the mapped axis is "
            f"never split over a mesh axis inside sharding constraints (leave it unset, and "
            f"shard the batched arguments with device_put or jit in_shardings)")
    in_axes = _normalize_in_axes(in_axes)
    if isinstance(out_axes, list):
        out_axes = tuple(out_axes)
    name = getattr(fun, "__name__", type(fun).__name__)
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        params = []

    def arg_name(i):
        if i < len(params) and params[i].kind in (params[i].POSITIONAL_ONLY,
                                                   params[i].POSITIONAL_OR_KEYWORD):
            return params[i].name
        return f"args[{i}]"

    @functools.wraps(fun)
    def vmapped(*args, **kwargs):
        # 1. which axis of which leaf is mapped
        if isinstance(in_axes, tuple):
            if len(in_axes) != len(args):
                raise ValueError(
                    f"vmap in_axes must be an int, None, or a tuple of entries corresponding to "
                    f"the positional arguments passed to the function, but got "
                    f"len(in_axes)={len(in_axes)}, len(args)={len(args)} (vmap of {name})")
            specs = in_axes
        else:
            specs = (in_axes,) * len(args)
        entries = []   # (path, leaf, axis)
        for i, (spec, arg) in enumerate(zip(specs, args)):
            _broadcast_prefix(spec, arg, arg_name(i), "in_axes", entries)
        for k in sorted(kwargs):
            _broadcast_prefix(0, kwargs[k], k, "in_axes", entries)
        leaves, in_tree = tree_flatten((args, kwargs))
        assert len(leaves) == len(entries), (len(leaves), len(entries))
        # 2. check axes and sizes
        in_dims, sizes = [], []
        for path, leaf, a in entries:
            if a is None:
                in_dims.append(None)
                continue
            shape = _shape_of(leaf)
            nd = len(shape)
            if not -nd <= a < nd:
                raise ValueError(
                    f"vmap was requested to map argument {path} (of shape {shape}) along axis "
                    f"{a}, which is out of range for its rank {nd} (vmap of {name}){where()}")
            a = a % nd
            in_dims.append(a)
            sizes.append((path, shape, a, shape[a]))
        distinct = {s for *_, s in sizes}
        if axis_size is not None:
            distinct.add(int(axis_size))
        if len(distinct) > 1:
            lines = [f"  argument {p} of shape {s} has size {n} along axis {a}"
                     for p, s, a, n in sizes]
            if axis_size is not None:
                lines.append(f"  axis_size={axis_size}")
            raise ValueError("vmap got inconsistent sizes for the array axes to be mapped:\n"
                             + "\n".join(lines))
        if not distinct:
            raise ValueError(f"vmap must have at least one non-None value in in_axes, or be "
                             f"given axis_size (vmap of {name})")
        size = distinct.pop()
        # 3. trace fun on per-example values.  As in JAX, an unmapped Python scalar
        # (in_axes None) reaches fun as it is, not as a traced value: `if flag:` and
        # `jnp.zeros(n)` work on it.
        passed = [d is None and type(leaf) in _PY_SCALARS for leaf, d in zip(leaves, in_dims)]
        traced_fun, trace_tree = fun, in_tree
        if any(passed):
            traced_fun, trace_tree = _with_fixed_leaves(fun, in_tree, leaves, passed)
            entries = [e for e, p in zip(entries, passed) if not p]
            in_dims = [d for d, p in zip(in_dims, passed) if not p]
            leaves = [x for x, p in zip(leaves, passed) if not p]
        avals = [_per_example_aval(leaf, d, f"vmap({name}): argument {path}")
                 for (path, leaf, _), d in zip(entries, in_dims)]
        with axis_frame(axis_name, size):
            closed, out_tree = trace_to_jaxpr(traced_fun, avals, trace_tree,
                                               context="vmap")
        # 4. where each output's batch axis goes
        out_avals = closed.out_avals
        out_dims = _out_dims(out_axes, out_tree, out_avals, name)
        batched, _ = batch_jaxpr(closed, in_dims, size, axis_name, out_dims)
        outs = eval_jaxpr(batched.jaxpr, batched.consts, leaves)
        outs = [_as_array(o, a) for o, a in zip(outs, out_avals)]
        return tree_unflatten(out_tree, outs)

    return vmapped


def _with_fixed_leaves(fun, in_tree, leaves, fixed):
    """``fun`` as a function of the leaves not marked in ``fixed`` (flattened as a tuple);
    the marked ones are passed to ``fun`` as the Python values they are."""
    values = list(leaves)

    def call(*free):
        it = iter(free)
        full = [v if f else next(it) for v, f in zip(values, fixed)]
        args, kwargs = tree_unflatten(in_tree, full)
        return fun(*args, **kwargs)
    _, tree = tree_flatten((tuple(range(len(fixed) - sum(fixed))), {}))
    return call, tree


def _out_dims(out_axes, out_tree, out_avals, name):
    placeholder = tree_unflatten(out_tree, list(range(len(out_avals))))
    entries: list = []
    _broadcast_prefix(out_axes, placeholder, "out", "out_axes", entries)
    dims = [None] * len(out_avals)
    for path, i, a in entries:
        if a is None:
            dims[i] = None
            continue
        nd = out_avals[i].ndim + 1
        if not -nd <= a < nd:
            raise ValueError(f"vmap out_axes={a} is out of range for output {path} of "
                             f"per-example shape {out_avals[i].shape} (batched rank {nd}) "
                             f"(vmap of {name})")
        dims[i] = a % nd
    return dims


def _as_array(x, out_aval=None):
    if type(x) in (Tracer, Array):
        return x
    if type(x) is Literal:
        x = x.val
    if out_aval is not None:   # a constant output (a scalar const): the traced type
        return array_from_numpy(np.asarray(x, out_aval.dtype), weak_type=out_aval.weak_type)
    a = aval_of_scalar(x) if type(x) in (int, float, complex, bool) else None
    if a is None:
        return array_from_numpy(x)
    return array_from_numpy(np.asarray(x, a.dtype), weak_type=a.weak_type)
