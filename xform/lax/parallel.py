"""Collectives over named mapped axes: ``psum``, ``pmean``, ``pmax``, ``pmin``,
``all_gather``, ``axis_index`` (as ``jax.lax``).

A name is bound by ``vmap(..., axis_name=name)`` while the mapped function is
traced (the *axis environment* below); using a name that no enclosing ``vmap``
binds is a ``NameError``.  Under ``vmap`` each collective is rewritten by its
batching rule (xform/batching.py) into an ordinary reduction over the batch axis.
"""
from __future__ import annotations

import contextlib

import numpy as np

from primitives import collectives as _coll
from primitives import dtypes

from ..core import array_from_numpy, aval_of_scalar, bind, where
from ..core.pytree import tree_map
from .ops import aval, convert_element_type, div

# --- the axis environment: (name, size) of every enclosing named mapped axis -------------
_axis_env: list[tuple] = []


@contextlib.contextmanager
def axis_frame(name, size: int):
    """Bind ``name`` to a mapped axis of ``size`` while tracing (used by ``vmap``)."""
    if name is None:
        yield
        return
    _axis_env.append((name, int(size)))
    try:
        yield
    finally:
        _axis_env.pop()


def _bound_names():
    return [n for n, _ in _axis_env]


def axis_size_of(name) -> int:
    """Size of the innermost mapped axis called ``name``; NameError if unbound."""
    for n, size in reversed(_axis_env):
        if n == name:
            return size
    bound = _bound_names()
    raise NameError(
        f"unbound axis name: {name!r}. Collectives need an enclosing "
        f"vmap(..., axis_name={name!r}) (or shard_map) that binds it; "
        + (f"the axis names bound here are {bound}" if bound else
           "no axis name is bound here") + where())


def _names(axis_name) -> tuple:
    names = tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)
    if not names:
        raise ValueError("collectives need at least one axis name")
    for n in names:
        axis_size_of(n)
    return names


def _tree_map(f, x):
    return tree_map(f, x)


def psum(x, axis_name, *, axis_index_groups=None):
    """Sum of ``x`` over the named mapped axis (or axes); ``x`` may be a pytree."""
    if axis_index_groups is not None:
        raise NotImplementedError("psum: axis_index_groups is not supported")
    names = _names(axis_name)

    def one(leaf):
        if dtypes.is_bool(aval(leaf).dtype):
            leaf = convert_element_type(leaf, dtypes.int32)
        return bind(_coll.psum, _as_array(leaf), axis_name=names)
    return _tree_map(one, x)


def pmax(x, axis_name, *, axis_index_groups=None):
    names = _names(axis_name)
    return _tree_map(lambda l: bind(_coll.pmax, _as_array(l), axis_name=names), x)


def pmin(x, axis_name, *, axis_index_groups=None):
    names = _names(axis_name)
    return _tree_map(lambda l: bind(_coll.pmin, _as_array(l), axis_name=names), x)


def pmean(x, axis_name, *, axis_index_groups=None):
    """Mean of ``x`` over the named mapped axis (or axes)."""
    names = _names(axis_name)
    n = int(np.prod([axis_size_of(a) for a in names]))

    def one(leaf):
        leaf = _as_array(leaf)
        if not dtypes.is_inexact(aval(leaf).dtype):
            leaf = convert_element_type(leaf, dtypes.canonicalize(np.float32))
        return div(bind(_coll.psum, leaf, axis_name=names), n)
    return _tree_map(one, x)


def all_gather(x, axis_name, *, axis_index_groups=None, axis=0, tiled=False):
    """Stack (``tiled``: concatenate) ``x`` from every position along the named axis."""
    names = _names(axis_name)
    if len(names) != 1:
        raise NotImplementedError("all_gather over several axis names at once")
    size = axis_size_of(names[0])

    def one(leaf):
        leaf = _as_array(leaf)
        nd = aval(leaf).ndim + (0 if tiled else 1)
        ax = axis + nd if axis < 0 else axis
        if not 0 <= ax < max(nd, 1):
            raise ValueError(f"all_gather: axis {axis} out of range for an operand of shape "
                             f"{aval(leaf).shape} (tiled={tiled}){where()}")
        return bind(_coll.all_gather, leaf, axis_name=names, axis=int(ax), tiled=bool(tiled),
                    axis_size=size)
    return _tree_map(one, x)


def axis_index(axis_name):
    """The position (int32) along the named mapped axis."""
    names = _names(axis_name)
    if len(names) != 1:
        raise NotImplementedError("axis_index over several axis names at once")
    return bind(_coll.axis_index, axis_name=names)


def axis_size(axis_name) -> int:
    names = _names(axis_name)
    return int(np.prod([axis_size_of(a) for a in names]))


def _as_array(x):
    if type(x) in (int, float, complex, bool):
        a = aval_of_scalar(x)
        return array_from_numpy(np.asarray(x, a.dtype), weak_type=a.weak_type)
    return x


__all__ = ["psum", "pmean", "pmax", "pmin", "all_gather", "axis_index", "axis_size"]
