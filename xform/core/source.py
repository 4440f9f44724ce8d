"""Where in the user's code: the innermost frame outside the library (``user_frame``),
the lazy per-equation positions tracing records (``LazySource``, and ``ScopedSource``
inside ``named_scope``), `` (at file:line)`` for messages (``where``), and the
annotation of errors that leave a trace (``locate_error``).  Split from ``trace`` (which
records positions on its hot path) so each module stays readable."""
from __future__ import annotations

import os
import sys
import sysconfig

from primitives.core import SourceInfo
from primitives.lru import LRU
from lowering import _jaxlib

_LIB_DIRS = tuple(os.path.dirname(os.path.abspath(m)) + os.sep for m in (
    os.path.dirname(os.path.abspath(__file__)),   # the xform package (this is xform/core/)
    sys.modules["primitives"].__file__,
    sys.modules["lowering"].__file__,
))


_is_library_lru = LRU("is library code")   # code object -> bool
_is_library_code = _is_library_lru.data


def _is_lib(code) -> bool:
    lib = _is_library_code.get(code)
    if lib is None:
        fn = code.co_filename
        lib = _is_library_lru.put(code, fn.startswith(_LIB_DIRS) or fn.startswith("<frozen"))
    return lib


def user_frame() -> SourceInfo | None:
    """The innermost stack frame outside xform's own packages."""
    f = sys._getframe(1)
    while f is not None:
        code = f.f_code
        if not _is_lib(code):
            return SourceInfo(code.co_filename, f.f_lineno, code.co_name)
        f = f.f_back
    return None


class _Position:
    """What a source position answers once ``resolve()``-d (a ``SourceInfo`` or None)."""
    __slots__ = ()

    def __bool__(self):
        return self.resolve() is not None

    filename = property(lambda self: self.resolve().filename)
    lineno = property(lambda self: self.resolve().lineno)
    function = property(lambda self: self.resolve().function)

    def __str__(self):
        return str(self.resolve())


class LazySource(_Position):
    """Where an equation was written, resolved only when someone asks (an error, a
    printout).  Every traced equation records one: jaxlib's C++ traceback costs well
    under a microsecond, while walking Python frames at trace time made each
    ``f_back`` allocate a frame object and cost several microseconds per equation."""

    __slots__ = ("_tb", "_info")

    def __init__(self, tb):
        self._tb = tb
        self._info = False   # False: not resolved yet; None: no user frame

    def resolve(self) -> SourceInfo | None:
        if self._info is False:
            info = None
            codes, lastis = self._tb.raw_frames()
            for code, lasti in zip(codes, lastis):
                if not _is_lib(code):
                    info = SourceInfo(code.co_filename, _jaxlib.code_line(code, lasti),
                                      code.co_name)
                    break
            self._info, self._tb = info, None
        return self._info


class ScopedSource(_Position):
    """An equation's source inside ``named_scope`` blocks: the position, plus the scope
    path ("layer1/attention") that the lowering writes as the op's name for XLA's
    metadata (profiles and HLO dumps show it), as JAX's name stack does."""

    __slots__ = ("_src", "scope")

    def __init__(self, src, scope: str):
        self._src, self.scope = src, scope

    def resolve(self) -> SourceInfo | None:
        src = self._src
        return src.resolve() if isinstance(src, LazySource) else src


def where(source: SourceInfo | None = None) -> str:
    source = source or user_frame()
    return f" (at {source.filename}:{source.lineno})" if source else ""


# Errors meant for the user that a trace annotates with the user's line when the message
# lacks it: Python's own errors raised inside the library (``int("abc")``, a wrong keyword
# to an internal helper) and library messages written without ``where()``.
_PYTHON_DIRS = tuple({p + os.sep for p in (sysconfig.get_paths()["stdlib"],
                                             sysconfig.get_paths()["purelib"],
                                             sysconfig.get_paths()["platlib"])})
_LOCATED_TYPES = (TypeError, ValueError, IndexError, NotImplementedError, ArithmeticError)


def locate_error(e: BaseException) -> None:
    """Make an error raised while tracing name the user's file:line (issue 15).

    Called as the error leaves a trace scope.  The innermost user frame of its traceback
    is the line of the user's function that called into the library; if the error was
    raised by the user's own line (a Python error in the user's code) or its message
    already names that line, nothing changes.  A plain one-string error gets
    `` (at file:line)`` appended, as the library's own messages do; others get a note."""
    if not isinstance(e, _LOCATED_TYPES) or getattr(e, "_xform_located", False):
        return
    user, user_is_last = None, False
    tb = e.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        user_is_last = False
        if not _is_lib(code) and not code.co_filename.startswith(_PYTHON_DIRS):
            user, user_is_last = SourceInfo(code.co_filename, tb.tb_lineno, code.co_name), True
        tb = tb.tb_next
    if user is None:   # raised by a nested trace of library code: an outer scope will tell
        return
    try:
        e._xform_located = True
    except AttributeError:   # an exception type without a __dict__
        return
    if user_is_last:
        return
    here = f"{user.filename}:{user.lineno}"
    text = " ".join([str(e)] + list(getattr(e, "__notes__", ())))
    if here in text:
        return
    if type(e).__module__ == "builtins" and len(e.args) == 1 and isinstance(e.args[0], str):
        e.args = (f"{e.args[0]} (at {here})",)
    else:
        e.add_note(f"(at {here}, in {user.function})")


def named(fn, name: str, doc: str | None = None):
    """``fn``, made by a factory, under the public ``name``: Python's own errors (a wrong
    argument count, an unknown keyword) then say ``sin()``, not ``_unary.<locals>.f()``."""
    fn.__code__ = fn.__code__.replace(co_name=name, co_qualname=name)
    fn.__name__ = fn.__qualname__ = name
    if doc is not None:
        fn.__doc__ = doc
    return fn


