"""``check_ir``: type-check the IR each transform and pass produces, when asked to.

``xform.config.update("xform_check_ir", True)`` (or ``XFORM_CHECK_IR=1`` in the
environment, read once at import) makes every transform (``jvp``, ``partial_eval``,
``transpose``, ``vmap``), the simplifier and ``jit`` (on the program it lowers) run
``primitives.check_jaxpr`` on what it produced before anyone uses it, so a transform
that writes a malformed program is named at once instead of surfacing as an XLA error
(or a wrong shape) somewhere later.  Off by default; when off, a call costs one
function call and one bool test.
"""
from __future__ import annotations

import os

from primitives.check import JaxprTypeError, check_jaxpr

_enabled = os.environ.get("XFORM_CHECK_IR", "").strip().lower() in ("1", "true", "yes", "on")


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
