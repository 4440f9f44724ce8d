"""``checkify``: run-time errors as values that survive ``jit``, ``vmap``, ``grad`` and loops,
with JAX's API (``jax.experimental.checkify``; public face: ``xform.experimental.checkify``).

``check(pred, msg, *fmt_args, **fmt_kwargs)`` binds the ``check`` meta-operator
(primitives/checkify.py): applied eagerly it raises ``JaxRuntimeError`` at once; staged
(``jit``, a loop) it must be functionalized.  ``checkify(f, errors=...)`` does that: it traces
``f`` (abstractly, as JAX) and rewrites the program with the ``checkify`` transform
(xform/transforms/checkify.py), which also adds the automatic checks of the enabled error
categories, and returns ``(Error, out)``.  ``Error`` is a pytree (an int32 code and payload
arrays, with the table of failure sites as static data), so it crosses ``jit`` and ``vmap``
boundaries; ``err.get()`` formats the first failure's message from its payload (under
``vmap``, one line per failing element), ``err.throw()`` raises it.
"""
from __future__ import annotations

import functools

import numpy as np

from primitives import checkify as _checkify
from primitives.checkify import JaxRuntimeError

from ..core.array import array_from_numpy
from ..core.pytree import register_pytree_node, tree_flatten, tree_unflatten
from ..core.trace import leaf_aval, trace_to_jaxpr
from ..transforms import checkify as _transform
from ..transforms.checkify import sorted_sigs
from .. import passes
from ..core import Array, ConcretizationError, Tracer, bind, find_builder

__all__ = ["Error", "JaxRuntimeError", "JaxException", "FailedCheckError", "NaNError",
           "OOBError", "DivisionByZeroError", "BatchedError", "user_checks", "nan_checks",
           "index_checks", "div_checks", "float_checks", "automatic_checks", "all_checks",
           "checkify", "check", "check_error", "debug_check", "init_error"]


# --- error categories --------------------------------------------------------------------------

class JaxException(Exception):
    """A failure found by ``checkify`` (what ``Error.get_exception()`` returns)."""
    _kind = None


class FailedCheckError(JaxException):
    """A ``check`` whose predicate was False."""
    _kind = _transform.USER


class NaNError(JaxException):
    """An operation made a NaN from inputs without one."""
    _kind = _transform.NAN


class OOBError(JaxException):
    """An index out of the bounds of the array it indexes."""
    _kind = _transform.INDEX


class DivisionByZeroError(JaxException):
    """A division (or integer remainder) by zero."""
    _kind = _transform.DIV


class BatchedError(JaxException):
    """Failures of several elements of a ``vmap``-ed ``Error``: ``error_mapping`` maps each
    failing index to its exception."""

    def __init__(self, error_mapping: dict):
        self.error_mapping = error_mapping
        super().__init__("\n".join(f"at mapped index {', '.join(map(str, idx))}: {e}"
                                   for idx, e in error_mapping.items()))


_CATEGORY = {c._kind: c for c in (FailedCheckError, NaNError, OOBError, DivisionByZeroError)}

user_checks = frozenset({FailedCheckError})
nan_checks = frozenset({NaNError})
index_checks = frozenset({OOBError})
div_checks = frozenset({DivisionByZeroError})
float_checks = nan_checks | div_checks
automatic_checks = float_checks | index_checks
all_checks = automatic_checks | user_checks


def _kinds(errors) -> frozenset:
    try:
        items = list(errors)
    except TypeError:
        items = [errors]
    kinds = set()
    for e in items:
        k = getattr(e, "_kind", None)
        if k is None:
            raise TypeError(
                f"checkify(errors=...) takes a set of error categories (checkify.user_checks, "
                f"nan_checks, div_checks, index_checks, float_checks, automatic_checks, "
                f"all_checks, combined with | and -), got {e!r}")
        kinds.add(k)
    return frozenset(kinds)


# --- the error value -----------------------------------------------------------------------------

class Error:
    """The result of a checkified function: no failure, or the first one (per element
    under ``vmap``).  A pytree: its leaves are the code and the payload arrays."""

    __slots__ = ("_code", "_payload", "_sites", "_sigs")

    def __init__(self, code, payload, sites, sigs):
        self._code, self._payload = code, tuple(payload)
        self._sites, self._sigs = tuple(sites), tuple(sigs)

    def get(self) -> str | None:
        """The error message, or None if nothing failed."""
        exc = self.get_exception()
        return None if exc is None else str(exc)

    def get_exception(self) -> JaxException | None:
        """The failure as an exception (``BatchedError`` for a batched error), or None."""
        if isinstance(self._code, Tracer):
            raise ConcretizationError(
                "checkify.Error.get() / get_exception() / throw() need the error's value, but "
                "it is traced here (inside jit, vmap or grad): return the Error from the "
                "transformed function and call them outside it")
        code = np.asarray(self._code)
        if code.ndim == 0:
            return self._exception_at(code, ())
        mapping = {}
        for idx in np.ndindex(*code.shape):
            e = self._exception_at(code, idx)
            if e is not None:
                mapping[idx] = e
        return BatchedError(mapping) if mapping else None

    def throw(self) -> None:
        """Raise ``JaxRuntimeError`` with the message if something failed."""
        exc = self.get_exception()
        if exc is not None:
            raise JaxRuntimeError(str(exc)) from exc

    def _exception_at(self, code, idx):
        k = int(code[idx])
        if k == 0:
            return None
        site = self._sites[k - 1]
        at = 0
        for s in self._sigs:
            if s == site.sig:
                break
            at += len(s)
        payload = [np.asarray(p)[idx] for p in self._payload[at:at + len(site.sig)]]
        return _CATEGORY[site.kind](site.message(payload))

    def __str__(self):
        if isinstance(self._code, Tracer):
            return "Error(<traced>)"
        if not isinstance(self._code, (Array, np.ndarray, np.generic, int)):
            return f"Error({self._code!r})"   # (eval_shape: ShapeDtypeStructs)
        return f"Error({self.get()})"

    __repr__ = __str__


register_pytree_node(
    Error, lambda e: ((e._code, *e._payload), (e._sites, e._sigs)),
    lambda aux, leaves: Error(leaves[0], leaves[1:], *aux))

init_error = Error(np.int32(0), (), (), ())


def _as_array(x):
    """An output as an Array; a constant stays a scalar inside a trace (a literal there)."""
    if isinstance(x, (Array, Tracer)) or find_builder() is not None and np.ndim(x) == 0:
        return x
    return array_from_numpy(np.asarray(x))


# --- checkify, check -----------------------------------------------------------------------------

_TRACED = (Array, Tracer, np.ndarray, np.generic)


def checkify(f, errors=user_checks):
    """``checkify(f, errors)(*args) -> (Error, f(*args))``: ``check``\\ s in ``f`` and the
    automatic checks of ``errors`` (default: ``user_checks`` only) become an error value
    instead of an exception.  Arrays are traced (abstractly: use ``lax.cond`` for value-
    dependent control flow); other arguments, Python scalars included, are passed to ``f``
    as they are, as JAX does."""
    if not callable(f):
        raise TypeError(f"checkify: expected a callable, got {type(f).__name__}")
    kinds = _kinds(errors)

    @functools.wraps(f)
    def checked(*args, **kwargs):
        leaves, in_tree = tree_flatten((args, kwargs))
        dyn = [i for i, x in enumerate(leaves) if isinstance(x, _TRACED)]

        def call(*vals):
            full = list(leaves)
            for i, v in zip(dyn, vals):
                full[i] = v
            a, k = tree_unflatten(in_tree, full)
            return f(*a, **k)
        avals = [leaf_aval(leaves[i], f"checkify: argument leaf {i}") for i in dyn]
        _, tree = tree_flatten((tuple(range(len(dyn))), {}))
        closed, out_tree = trace_to_jaxpr(call, avals, tree)
        closed = passes.simplify(closed)
        err, outs = _transform.checkify_jaxpr(closed, [leaves[i] for i in dyn], kinds)
        sigs = sorted_sigs(err.slots)
        payload = [_as_array(x) for s in sigs for x in err.slots[s]]
        error = Error(_as_array(err.code), payload, err.sites.list, sigs)
        return error, tree_unflatten(out_tree, [_as_array(o) for o in outs])
    return checked


def _is_scalar_bool(p) -> bool:
    if isinstance(p, (bool, np.bool_)):
        return True
    a = getattr(p, "aval", None)
    if a is None and isinstance(p, np.ndarray):
        return p.shape == () and p.dtype == np.bool_
    return a is not None and a.shape == () and a.dtype == np.bool_


def _check(pred, msg, debug, fmt_args, fmt_kwargs):
    name = "debug_check" if debug else "check"
    if not _is_scalar_bool(pred):
        raise TypeError(f"{name} takes a scalar bool pred as argument, got {pred!r:.80}")
    if not isinstance(msg, str):
        raise TypeError(f"{name}: msg must be a str, got {type(msg).__name__}")
    leaves, tree = tree_flatten((tuple(fmt_args), dict(fmt_kwargs)))
    for x in leaves:
        if not isinstance(x, _TRACED):
            raise TypeError(f"Formatting arguments to checkify.{name} need to be pytrees of "
                            f"arrays, but got {x!r:.60} of type {type(x).__name__}")
    bind(_checkify.check, pred, *leaves, msg=msg, fmt_tree=tree, debug=debug)


def check(pred, msg: str, *fmt_args, **fmt_kwargs) -> None:
    """Fail with ``msg.format(*fmt_args, **fmt_kwargs)`` (formatted with the run-time values)
    where the scalar bool ``pred`` is False.  Eagerly it raises ``JaxRuntimeError`` at once;
    in a staged program (``jit``, a loop) the function must be wrapped in ``checkify``."""
    _check(pred, msg, False, fmt_args, fmt_kwargs)


def debug_check(pred, msg: str, *fmt_args, **fmt_kwargs) -> None:
    """``check`` that does nothing unless the function is transformed by ``checkify``."""
    _check(pred, msg, True, fmt_args, fmt_kwargs)


def check_error(error: Error) -> None:
    """Raise ``JaxRuntimeError`` if ``error`` holds a failure (as ``error.throw()``).  Inside
    ``checkify`` or ``jit`` (a traced error) it is not implemented yet."""
    if not isinstance(error, Error):
        raise TypeError(f"check_error takes an Error as argument, got {type(error).__name__}")
    if any(isinstance(x, Tracer) for x in (error._code, *error._payload)):
        raise NotImplementedError(
            "checkify.check_error of a traced Error (inside jit or checkify) is not "
            "implemented yet: return the Error and call check_error (or err.throw()) outside")
    error.throw()
