"""The ``checkify`` family: a run-time assertion, ``check``.

* ``check[msg, fmt_tree, debug]  pred, *fmt_leaves -> ()``
    Fails when ``pred`` (bool) is False somewhere.  ``msg`` is a ``str.format`` string;
    ``fmt_tree`` rebuilds ``(args, kwargs)`` for it from the ``fmt_leaves``, which are
    formatted with their run-time values.  ``pred`` is a scalar as the user writes it;
    under ``vmap`` it gains the batch dimensions, which every ``fmt_leaves`` operand then
    has in front too (``pred.shape`` is a prefix of each one's shape).  ``debug=True``
    (``debug_check``) is a no-op unless ``checkify`` turns it into an error value.

It has an effect ("unordered": passes never drop it; it has no results to use) and no
lowering: applied eagerly it raises ``JaxRuntimeError`` at once (``host_impl``), and
inside a staged program (``jit``, a loop body) it must first be functionalized by the
``checkify`` transform (xform/transforms/checkify.py), which turns it into an update of
an error value; lowering one that was not refuses with ``CheckNotFunctionalizedError``
(lowering/rules/checkify.py).  Rules under the other transforms:
xform/higher_order/checkify.py.
"""
from __future__ import annotations

import numpy as np

from . import dtypes
from .ops import _define, _fail


class JaxRuntimeError(ValueError):
    """A ``checkify.check`` failed (raised eagerly, or by ``Error.throw()``)."""


class CheckNotFunctionalizedError(NotImplementedError, ValueError):
    """A ``check`` reached a compiled program without going through ``checkify``."""


def first_failure(pred) -> tuple | None:
    """The index (into ``pred``'s shape) of the first False entry, or None."""
    bad = ~np.asarray(pred, bool)
    if not bad.any():
        return None
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(bad.ravel())), bad.shape))


def format_check(msg: str, fmt_tree, leaves) -> str:
    """``msg`` formatted with the (host) values of its arguments."""
    vals = [np.asarray(v) for v in leaves]
    vals = [v[()] if v.ndim == 0 else v for v in vals]
    if fmt_tree is None:
        return msg
    args, kwargs = fmt_tree.unflatten(vals)
    return msg.format(*args, **kwargs)


def _check_rule(pred, *leaves, msg, fmt_tree, debug):
    if pred.dtype != dtypes.bool_:
        _fail("check", f"the predicate must be bool, got {pred.str_short()}")
    for x in leaves:
        if x.shape[:pred.ndim] != pred.shape:
            _fail("check", f"a format argument {x.str_short()} does not start with the "
                  f"predicate's batch shape {pred.str_short()}")
    if not isinstance(msg, str):
        _fail("check", f"msg must be a str, got {type(msg).__name__}")
    return []


def _check_host(pred, *leaves, msg, fmt_tree, debug):
    """Eagerly: raise at once if ``pred`` is False anywhere (the first such element)."""
    if debug:
        return []
    at = first_failure(pred)
    if at is None:
        return []
    vals = [np.asarray(v)[at] for v in leaves]
    where = f"at mapped index {', '.join(map(str, at))}: " if at else ""
    raise JaxRuntimeError(f"{where}{format_check(msg, fmt_tree, vals)} (`check` failed)")


check = _define(
    "check", "checkify", _check_rule, ("msg", "fmt_tree", "debug"),
    "fails with msg.format(*fmt args) where pred is False; functionalized by checkify",
    multiple_results=True, host_impl=_check_host, effect=lambda **_: "unordered")

checkify = {"check": check}
