"""Lowering of ``check`` (primitives/checkify.py): there is none.  A compiled program cannot
raise a Python exception, so a ``check`` must be functionalized by ``checkify`` before it is
staged (``checkify`` turns it into an update of an error value that the program returns).
A ``debug_check`` (``debug=True``) is dropped: outside ``checkify`` it does nothing."""
from __future__ import annotations

from primitives import checkify as _checkify

from ..emitter import RULES


def _check_lower(ctx, eqn, args):
    p = eqn.params
    if p["debug"]:
        return []
    src = eqn.source
    at = f" (at {src.filename}:{src.lineno})" if src else ""
    raise _checkify.CheckNotFunctionalizedError(
        f"checkify.check{at} with message {p['msg']!r} was staged (jit, a loop or a cond) "
        f"without being functionalized: a compiled program cannot raise it.  Wrap the "
        f"function in xform.experimental.checkify.checkify (e.g. "
        f"jit(checkify.checkify(f))) and call err.throw() on the error it returns")


RULES[_checkify.check] = _check_lower
