"""The ``callback`` family: calls from a running program back into Python on the host.

* ``pure_callback``: ``outs = f(*args)`` for a function without side effects.  It is a
  pure function of its operands as far as the IR knows: passes may drop it when its
  results are unused, or merge two identical calls.
* ``io_callback``: a call for its effect (printing, logging, writing a file) that may
  also return values.  Never dropped or merged (``effect``); ``ordered=True`` calls run
  in program order, across loop steps and across calls of compiled programs.
  ``debug.print`` and ``debug.callback`` are ``io_callback``\\ s with no results.

``callback`` is a ``HostCallback``: the Python function, flat (numpy arrays in, a
sequence of numpy arrays out), with the name and source line used in messages.
``result_avals`` are the declared results; the host checks what the function returns
against them (``check_results``).  Lowered as XLA's Python host-callback custom call
(lowering/rules/callback.py); applied eagerly, they run directly in Python
(``host_impl``).  Rules under each transform: xform/higher_order/callbacks.py.
"""
from __future__ import annotations

import numpy as np

from . import dtypes
from .core import ShapedArray
from .ops import _define, _fail


class HostCallback:
    """A Python function a program calls on the host; hashed and compared by identity.

    ``fn(*numpy arrays) -> sequence of numpy arrays``.  ``name`` and ``source`` (where the
    user asked for the call) go into messages; ``kind`` says what made it (``"pure"``,
    ``"io"``, ``"debug"``)."""

    __slots__ = ("fn", "name", "source", "kind", "__weakref__")

    def __init__(self, fn, name: str, source=None, kind: str = "io"):
        self.fn = fn
        self.name = name
        self.source = source
        self.kind = kind

    def __repr__(self):
        return self.name

    def where(self) -> str:
        return f" (called at {self.source})" if self.source else ""

    def host_call(self, result_avals, ordered: bool):
        """The function handed to XLA: it checks the results, and remembers an exception
        (``pop_failure``) so that the caller of the program can raise it as itself.
        An ordered call also takes and returns XLA's token (first)."""
        def call(*args):
            try:
                return check_results(self, self.fn(*args), result_avals)
            except BaseException as e:   # noqa: BLE001 - handed back to the caller as is
                _note_failure(self, e)
                raise

        if not ordered:
            return call
        return lambda token, *args: (token, *call(*args))


_failure: list = []


def _note_failure(cb: HostCallback, e: BaseException) -> None:
    if not isinstance(e, CallbackError):
        e.add_note(f"(raised by the host callback {cb.name}{cb.where()}, which a compiled "
                   f"program called)")
    _failure[:] = [e]


def pop_failure() -> BaseException | None:
    """The exception the last failing host callback raised (once), or None."""
    return _failure.pop() if _failure else None


class CallbackError(RuntimeError):
    """A host callback raised, or returned something other than what it declared."""


def check_results(cb: HostCallback, outs, result_avals) -> tuple:
    """``outs`` as a tuple of numpy arrays matching ``result_avals``, or a clear error."""
    if outs is None:
        outs = ()
    elif not isinstance(outs, (tuple, list)):
        outs = (outs,)
    if len(outs) != len(result_avals):
        raise CallbackError(
            f"{cb.kind}_callback {cb.name}{cb.where()} returned {len(outs)} value"
            f"{'s' if len(outs) != 1 else ''}, but result_shape_dtypes declares "
            f"{len(result_avals)}")
    fixed = []
    for i, (o, a) in enumerate(zip(outs, result_avals)):
        arr = np.asarray(o)
        if arr.shape != a.shape:
            raise CallbackError(
                f"{cb.kind}_callback {cb.name}{cb.where()}: result {i} has shape "
                f"{arr.shape}, but result_shape_dtypes declares {a.shape}")
        if arr.dtype != a.dtype:
            if dtypes.canonicalize(arr.dtype) != a.dtype:
                raise CallbackError(
                    f"{cb.kind}_callback {cb.name}{cb.where()}: result {i} has dtype "
                    f"{arr.dtype}, but result_shape_dtypes declares {a.dtype}")
            arr = arr.astype(a.dtype)
        fixed.append(np.asarray(arr, order="C"))   # (ascontiguousarray makes 0-d 1-d)
    return tuple(fixed)


def _check_avals(op, result_avals):
    if not isinstance(result_avals, tuple) or \
            not all(type(a) is ShapedArray for a in result_avals):
        _fail(op, f"result_avals must be a tuple of ShapedArrays, got {result_avals!r}")


def _pure_rule(*args, callback, result_avals, vmap_method):
    _check_avals("pure_callback", result_avals)
    return list(result_avals)


def _io_rule(*args, callback, result_avals, ordered):
    _check_avals("io_callback", result_avals)
    return list(result_avals)


def run_host(*args, callback, result_avals, **_):
    """Call ``callback`` on numpy operands; the checked results."""
    return check_results(callback, callback.fn(*args), result_avals)


pure_callback = _define(
    "pure_callback", "callback", _pure_rule, ("callback", "result_avals", "vmap_method"),
    "outs = callback(*args) on the host; a pure function (may be dropped or merged)",
    multiple_results=True, host_impl=run_host)

io_callback = _define(
    "io_callback", "callback", _io_rule, ("callback", "result_avals", "ordered"),
    "outs = callback(*args) on the host, for its effect; never dropped; ordered=True "
    "keeps program order", multiple_results=True, host_impl=run_host,
    effect=lambda ordered, **_: "ordered" if ordered else "unordered")
