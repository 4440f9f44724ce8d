"""``check_ir``: type-check the IR each transform and pass produces, when asked to.

``xform.config.update("xform_check_ir", True)`` (or ``XFORM_CHECK_IR=1`` in the
environment, read once at import) makes every transform (``jvp``, ``partial_eval``,
``transpose``, ``vmap``), the simplifier and ``jit`` (on the program it lowers) run
``primitives.check_jaxpr`` on what it produced before anyone uses it, so a transform
that writes a malformed program is named at once instead of surfacing as an XLA error
(or a wrong shape) somewhere later.  Off by default; when off, a call costs one
function call and one bool test.

It also holds the switches of ``debug_nans`` / ``debug_infs`` (``JAX_DEBUG_NANS`` /
``JAX_DEBUG_INFS`` in the environment, read once at import), which
``xform.core.nan_check`` acts on: ``special`` is the one flag the hot paths (every eager
op, every ``jit`` call) test.
"""
from __future__ import annotations

import os

from primitives.check import JaxprTypeError, check_jaxpr


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


_enabled = _env_flag("XFORM_CHECK_IR")
debug_nans = _env_flag("JAX_DEBUG_NANS")   # check floating outputs for NaN
debug_infs = _env_flag("JAX_DEBUG_INFS")   # ... and for +-Inf
special = debug_nans or debug_infs         # either: what the hot paths test


def set_debug(nans: bool | None = None, infs: bool | None = None) -> None:
    """Turn the NaN / Inf checks on or off (None: leave that one as it is)."""
    global debug_nans, debug_infs, special
    if nans is not None:
        debug_nans = bool(nans)
    if infs is not None:
        debug_infs = bool(infs)
    special = debug_nans or debug_infs


class IRCheckError(JaxprTypeError):
    """A transform or pass produced IR that ``check_jaxpr`` rejects (an xform bug)."""


def set_enabled(on: bool) -> None:
    global _enabled
    _enabled = bool(on)


def enabled() -> bool:
    return _enabled


def check_ir(jaxpr, after: str):
    """Type-check ``jaxpr`` (a ``Jaxpr`` or ``ClosedJaxpr``) if ``xform_check_ir`` is on;
    ``after`` names what produced it ("jvp", "partial_eval", "transpose", "vmap",
    "simplify", "jit"), which the error names.  Returns ``jaxpr``, so that a function
    can end with ``return check_ir(out, "simplify")``."""
    if not _enabled:
        return jaxpr
    try:
        check_jaxpr(jaxpr)
    except JaxprTypeError as e:
        raise IRCheckError(
            f"xform_check_ir: the IR produced by {after} is malformed (an xform bug; "
            f"please report it): {e}") from e
    return jaxpr
