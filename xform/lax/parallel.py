"""Collectives over named mapped axes: ``psum``, ``pmean``, ``pmax``, ``pmin``,
``all_gather``, ``axis_index``, ``ppermute``, ``psum_scatter``, ``all_to_all`` (as
``jax.lax``).

A name is bound by ``vmap(..., axis_name=name)`` while the mapped function is
traced (the *axis environment* below); using a name that no enclosing ``vmap``
binds is a ``NameError``.  Under ``vmap`` each collective is rewritten by its
batching rule (xform/higher_order/collectives.py) into ordinary operations over the
batch axis; inside ``shard_map`` it is lowered to a StableHLO collective.
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


def bound_axis_names() -> list:
    """The names of every enclosing named axis (vmap's axis_name, shard_map's axes)."""
    return [n for n, _ in _axis_env]


def axis_size_of(name) -> int:
    """Size of the innermost mapped axis called ``name``; NameError if unbound."""
    for n, size in reversed(_axis_env):
        if n == name:
            return size
    bound = bound_axis_names()
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
    _no_groups("psum", axis_index_groups)
    names = _names(axis_name)

    def one(leaf):
        if dtypes.is_bool(aval(leaf).dtype):
            leaf = convert_element_type(leaf, dtypes.int32)
        return bind(_coll.psum, _as_array(leaf), axis_name=names)
    return _tree_map(one, x)


def pmax(x, axis_name, *, axis_index_groups=None):
    _no_groups("pmax", axis_index_groups)
    names = _names(axis_name)
    return _tree_map(lambda l: bind(_coll.pmax, _as_array(l), axis_name=names), x)


def pmin(x, axis_name, *, axis_index_groups=None):
    _no_groups("pmin", axis_index_groups)
    names = _names(axis_name)
    return _tree_map(lambda l: bind(_coll.pmin, _as_array(l), axis_name=names), x)


def pmean(x, axis_name, *, axis_index_groups=None):
    """Mean of ``x`` over the named mapped axis (or axes)."""
    _no_groups("pmean", axis_index_groups)
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
    _no_groups("all_gather", axis_index_groups)
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


def _single(op, axis_name):
    names = _names(axis_name)
    if len(names) != 1:
        raise NotImplementedError(f"{op} over several axis names at once ({names}){where()}")
    return names, axis_size_of(names[0])


def _no_groups(op, axis_index_groups):
    if axis_index_groups is not None:
        raise NotImplementedError(f"{op}: axis_index_groups is not supported{where()}")


def _axis_arg(op, arg, value, ndim, shape):
    """``value`` as an axis of an operand of rank ``ndim`` (negative counts from the end)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}: {arg} must be an int, got {value!r}{where()}")
    ax = int(value) + ndim if value < 0 else int(value)
    if not 0 <= ax < ndim:
        raise ValueError(f"{op}: {arg}={value} is out of range for an operand of shape "
                         f"{shape}{where()}")
    return ax


def ppermute(x, axis_name, perm):
    """Position ``dst`` along the named axis receives ``x`` from position ``src``, for
    each ``(src, dst)`` pair of ``perm``; positions that no pair reaches get zeros."""
    names, size = _single("ppermute", axis_name)
    try:
        pairs = tuple((int(s), int(d)) for s, d in perm)
    except (TypeError, ValueError):
        raise TypeError(f"ppermute: perm must be a sequence of (source, destination) index "
                        f"pairs, got {perm!r}{where()}") from None
    for s, d in pairs:
        if not (0 <= s < size and 0 <= d < size):
            raise ValueError(f"ppermute: perm {list(pairs)} has a pair ({s}, {d}) outside "
                             f"the axis {names[0]!r} of size {size}{where()}")
    srcs, dsts = [s for s, _ in pairs], [d for _, d in pairs]
    if len(set(srcs)) != len(srcs) or len(set(dsts)) != len(dsts):
        raise ValueError(f"ppermute: perm {list(pairs)} is not a permutation: a source or a "
                         f"destination appears more than once{where()}")
    return _tree_map(lambda l: bind(_coll.ppermute, _as_array(l), axis_name=names,
                                    perm=pairs), x)


def psum_scatter(x, axis_name, *, scatter_dimension=0, axis_index_groups=None, tiled=False):
    """The sum of ``x`` over the named axis, scattered: position ``i`` keeps piece ``i``
    along ``scatter_dimension`` (``tiled=False``: that dimension must equal the axis
    size and is removed; ``tiled=True``: it must be divisible by it)."""
    _no_groups("psum_scatter", axis_index_groups)
    names, size = _single("psum_scatter", axis_name)

    def one(leaf):
        leaf = _as_array(leaf)
        a = aval(leaf)
        if dtypes.is_bool(a.dtype):
            leaf = convert_element_type(leaf, dtypes.int32)
        d = _axis_arg("psum_scatter", "scatter_dimension", scatter_dimension, a.ndim, a.shape)
        _check_split("psum_scatter", "scatter_dimension", d, a.shape, size, names[0], tiled)
        return bind(_coll.psum_scatter, leaf, axis_name=names, scatter_dimension=d,
                    tiled=bool(tiled), axis_size=size)
    return _tree_map(one, x)


def _check_split(op, arg, d, shape, size, name, tiled):
    """Dimension ``d`` (given as ``arg``) must split into ``size`` pieces (``tiled``) or
    be ``size`` long (not tiled), ``size`` being that of axis ``name``."""
    n = shape[d]
    if tiled and n % size:
        raise ValueError(f"{op}: {arg} {d} of an operand of shape {shape} has size {n}, not "
                         f"divisible by the size {size} of axis {name!r} (tiled=True){where()}")
    if not tiled and n != size:
        raise ValueError(f"{op}: {arg} {d} of an operand of shape {shape} has size {n}, but "
                         f"with tiled=False it must equal the size {size} of axis {name!r}"
                         f"{where()}")


def all_to_all(x, axis_name, split_axis, concat_axis, *, axis_index_groups=None, tiled=False):
    """Position ``i`` along the named axis receives piece ``i`` (along ``split_axis``) of
    every position's ``x``, concatenated in order along ``concat_axis``.  ``tiled=False``:
    ``split_axis`` must equal the axis size and is removed, and a new axis of that size
    is inserted at ``concat_axis`` (numbered in the result); ``tiled=True``: ``split_axis``
    is divided by the axis size and ``concat_axis`` multiplied by it."""
    _no_groups("all_to_all", axis_index_groups)
    names, size = _single("all_to_all", axis_name)

    def one(leaf):
        leaf = _as_array(leaf)
        a = aval(leaf)
        s = _axis_arg("all_to_all", "split_axis", split_axis, a.ndim, a.shape)
        c = _axis_arg("all_to_all", "concat_axis", concat_axis, a.ndim, a.shape)
        _check_split("all_to_all", "split_axis", s, a.shape, size, names[0], tiled)
        return bind(_coll.all_to_all, leaf, axis_name=names, split_axis=s, concat_axis=c,
                    axis_size=size, tiled=bool(tiled))
    return _tree_map(one, x)


def axis_size(axis_name) -> int:
    names = _names(axis_name)
    return int(np.prod([axis_size_of(a) for a in names]))


def _as_array(x):
    if type(x) in (int, float, complex, bool):
        a = aval_of_scalar(x)
        return array_from_numpy(np.asarray(x, a.dtype), weak_type=a.weak_type)
    return x


__all__ = ["psum", "pmean", "pmax", "pmin", "all_gather", "axis_index", "axis_size",
           "ppermute", "psum_scatter", "all_to_all"]
