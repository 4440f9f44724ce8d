"""Calling Python from traced and compiled code: ``pure_callback``, ``io_callback``,
``debug.callback``, ``debug.print`` and ``effects_barrier``, with JAX's signatures.

Each flattens its arguments, binds one host-callback meta-operator
(primitives/callback.py) and hands it a flat function that rebuilds the user's
arguments, calls the user's function and flattens what it returns.  Leaves that are
not arrays (strings, ``None``, objects) are static: kept in the flat function, never
traced.  The user's function receives xform ``Array``\\ s (``debug.print`` formats NumPy
values, which print as JAX's do).  Eagerly the function is called at once; under
``jit`` the compiled program calls it, and the call returns once it has run (see
``lowering.compile.Executable``), so an exception the function raises is raised by
the call, as itself."""
from __future__ import annotations

import string

import numpy as np

from primitives import callback as _cb
from primitives import dtypes
from primitives.core import ShapedArray

from ..core.array import array_from_numpy
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import Tracer, bind, user_frame
from ..core import Array

_DYNAMIC = (Array, Tracer, np.ndarray, np.generic, int, float, complex, bool)


def _split(args, kwargs):
    """(dynamic leaves, a function of their host values -> (args, kwargs))."""
    leaves, tree = tree_flatten((tuple(args), dict(kwargs)))
    dyn_idx = [i for i, x in enumerate(leaves) if isinstance(x, _DYNAMIC)]
    dyn = [leaves[i] for i in dyn_idx]

    def rebuild(vals):
        full = list(leaves)
        for i, v in zip(dyn_idx, vals):
            full[i] = v
        return tree_unflatten(tree, full)
    return dyn, rebuild


def _result_avals(what, result_shape_dtypes):
    leaves, tree = tree_flatten(result_shape_dtypes)
    avals = []
    for x in leaves:
        if not (hasattr(x, "shape") and hasattr(x, "dtype")):
            raise TypeError(f"{what}: result_shape_dtypes must be a pytree of objects with "
                            f"shape and dtype (ShapeDtypeStruct or arrays), got "
                            f"{type(x).__name__} {x!r:.60}")
        avals.append(ShapedArray(tuple(x.shape), dtypes.canonicalize(np.dtype(x.dtype))))
    return tuple(avals), tree


def _as_arrays(vals, avals):
    return [array_from_numpy(v, weak_type=a.weak_type) for v, a in zip(vals, avals)]


def _host_function(what, callback, rebuild, in_avals, out_tree, to_arrays=True):
    """The flat function the meta-operator calls: host values -> flat results."""
    def flat(*vals):
        vals = _as_arrays(vals, in_avals) if to_arrays else vals
        a, kw = rebuild(vals)
        out = callback(*a, **kw)
        if out_tree is None:
            return ()
        leaves, tree = tree_flatten(out)
        if tree != out_tree:
            raise _cb.CallbackError(
                f"{what} {getattr(callback, '__name__', callback)!r} returned a value of "
                f"structure {tree}, but result_shape_dtypes has structure {out_tree}")
        return [np.asarray(x) for x in leaves]
    return flat


def _avals_of(dyn):
    out = []
    for x in dyn:
        if isinstance(x, (Array, Tracer)):
            out.append(x.aval)
        elif isinstance(x, (np.ndarray, np.generic)):
            out.append(ShapedArray(np.shape(x), dtypes.canonicalize(x.dtype)))
        else:
            out.append(ShapedArray((), dtypes.python_scalar_dtype(x), not isinstance(x, bool)))
    return out


def _fn_name(f) -> str:
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or type(f).__name__


def _no_sharding(what, sharding):
    if sharding is not None:
        raise NotImplementedError(f"{what}(sharding=...) is not supported yet: callbacks run "
                                  f"on the host of the program's device")


def pure_callback(callback, result_shape_dtypes, *args, sharding=None, vmap_method=None,
                  **kwargs):
    """Call ``callback(*args, **kwargs)`` on the host, from traced or compiled code, as
    ``jax.pure_callback``: it must be a pure function (it may be called any number of
    times, or not at all if its results are unused) returning arrays of the shapes and
    dtypes ``result_shape_dtypes`` declares.  ``vmap_method`` says how it batches."""
    _no_sharding("pure_callback", sharding)
    allowed = (None, "sequential", "sequential_unrolled", "expand_dims", "broadcast_all",
               "legacy_vectorized")
    if vmap_method not in allowed:
        raise ValueError(f"pure_callback: vmap_method must be one of {allowed}, got "
                         f"{vmap_method!r}")
    result_avals, out_tree = _result_avals("pure_callback", result_shape_dtypes)
    dyn, rebuild = _split(args, kwargs)
    fn = _host_function("pure_callback", callback, rebuild, _avals_of(dyn), out_tree)
    cb = _cb.HostCallback(fn, _fn_name(callback), user_frame(), "pure")
    outs = bind(_cb.pure_callback, *dyn, callback=cb, result_avals=result_avals,
                vmap_method=vmap_method)
    return tree_unflatten(out_tree, list(outs))


def io_callback(callback, result_shape_dtypes, *args, sharding=None, ordered=False, **kwargs):
    """Call ``callback(*args, **kwargs)`` on the host for its effect, as
    ``jax.experimental.io_callback``: it is never dropped or merged, and with
    ``ordered=True`` calls run in program order (across loop steps and calls too).
    Its results have no derivative."""
    _no_sharding("io_callback", sharding)
    if result_shape_dtypes is None:
        result_avals, out_tree = (), None
    else:
        result_avals, out_tree = _result_avals("io_callback", result_shape_dtypes)
    dyn, rebuild = _split(args, kwargs)
    fn = _host_function("io_callback", callback, rebuild, _avals_of(dyn), out_tree)
    cb = _cb.HostCallback(fn, _fn_name(callback), user_frame(), "io")
    outs = bind(_cb.io_callback, *dyn, callback=cb, result_avals=result_avals,
                ordered=bool(ordered))
    return None if out_tree is None else tree_unflatten(out_tree, list(outs))


def debug_callback(callback, *args, ordered=False, partitioned=False, **kwargs):
    """``debug.callback``: call ``callback(*args, **kwargs)`` on the host with the values
    of its array arguments, wherever the surrounding code runs (eagerly, under ``jit``,
    in loops, under ``grad`` with primal values, once per element under ``vmap``).
    Returns None."""
    if partitioned:
        raise NotImplementedError("debug.callback(partitioned=True) is not supported yet")
    dyn, rebuild = _split(args, kwargs)
    fn = _host_function("debug.callback", callback, rebuild, _avals_of(dyn), None)
    cb = _cb.HostCallback(fn, _fn_name(callback), user_frame(), "debug")
    bind(_cb.io_callback, *dyn, callback=cb, result_avals=(), ordered=bool(ordered))


def _check_format(fmt: str, args, kwargs):
    """Raise now, at the user's line, if ``fmt`` names arguments that were not given."""
    try:
        string.Formatter().vformat(fmt, [_Blank()] * len(args),
                                   {k: _Blank() for k in kwargs})
    except (IndexError, KeyError) as e:
        raise ValueError(f"debug.print: the format string {fmt!r} refers to {e} but was "
                         f"given {len(args)} positional and {sorted(kwargs)} keyword "
                         f"arguments") from None


class _Blank:
    def __format__(self, spec):
        return ""

    def __getattr__(self, name):
        return self

    def __getitem__(self, key):
        return self


def debug_print(fmt: str, *args, ordered=False, **kwargs):
    """``debug.print(fmt, *args, **kwargs)``: print ``fmt.format(*args, **kwargs)`` with
    the runtime values of the arguments, wherever the code runs (see
    ``debug_callback``)."""
    if not isinstance(fmt, str):
        raise TypeError(f"debug.print: the format must be a str, got {type(fmt).__name__}")
    _check_format(fmt, args, kwargs)
    options = np.get_printoptions()

    def show(*a, **kw):   # a 0-d value as a NumPy scalar: f32 0.47942555, not a float64
        a = [x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x for x in a]
        kw = {k: x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x
              for k, x in kw.items()}
        with np.printoptions(**options):
            print(fmt.format(*a, **kw))
    dyn, rebuild = _split(args, kwargs)
    fn = _host_function("debug.print", show, rebuild, _avals_of(dyn), None, to_arrays=False)
    cb = _cb.HostCallback(fn, "debug.print", user_frame(), "debug")
    bind(_cb.io_callback, *dyn, callback=cb, result_avals=(), ordered=bool(ordered))


def effects_barrier() -> None:
    """Wait until every host callback issued so far has run (``jax.effects_barrier``).
    A program that calls back into Python runs to completion before its call returns,
    so by the time this is reached they all have: there is nothing left to wait for."""
