"""Every public function of xform.numpy / nn / lax / random, called with inputs it cannot
take, raises an error meant for the user (TypeError / ValueError / IndexError /
NotImplementedError), never a library-internal one (an assert, a KeyError, an
AttributeError, a NameError, ...) and never an IndexError from indexing the library's own
tuples (issue 15, "errors where the user is")."""
import warnings

import pytest

import xform
import xform.numpy as jnp
from xform import lax, nn, random

INTERNAL = (AssertionError, KeyError, AttributeError, UnboundLocalError, NameError,
            RecursionError, StopIteration, ZeroDivisionError, SystemError)


def _bad_inputs():
    m = jnp.ones((2, 3))
    return {
        "str": (("abc",), {}),
        "None": ((None,), {}),
        "ragged": (([[1, 2], [3]],), {}),
        "dict": (({"a": 1},), {}),
        "object": ((object(),), {}),
        "axis out of range": ((m,), {"axis": 5}),
        "mismatched pair": ((m, jnp.ones((4, 5))), {}),
    }


def _public(module):
    for name in sorted(getattr(module, "__all__", dir(module))):
        f = getattr(module, name)
        if name.startswith("_") or isinstance(f, type) or not callable(f) or \
                getattr(f, "__module__", "").startswith(("numpy", "builtins")):
            continue
        yield name, f


def _sweep(module):
    bad = []
    for name, f in _public(module):
        for tag, (args, kw) in _bad_inputs().items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    f(*args, **kw)
            except NameError as e:   # JAX's error for a collective outside its axis
                if not str(e).startswith("unbound axis name"):
                    bad.append(f"{name}({tag}): NameError: {e}")
            except INTERNAL as e:
                bad.append(f"{name}({tag}): {type(e).__name__}: {e}")
            except IndexError as e:
                if "index out of range" in str(e):
                    bad.append(f"{name}({tag}): IndexError: {e}")
            except Exception:   # noqa: BLE001 - any other error is meant for the user
                pass
    return bad


@pytest.mark.parametrize("module", [jnp, nn, lax, random, jnp.linalg, jnp.fft],
                         ids=["numpy", "nn", "lax", "random", "linalg", "fft"])
def test_bad_inputs_raise_user_errors(module):
    bad = _sweep(module)
    assert not bad, "internal errors reached the user:\n" + "\n".join(bad)


def _raised_at_the_call(e):
    """Python raised it at the user's own call (a wrong argument count or keyword): the
    traceback's last frame is the user's line."""
    tb = e.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename == __file__


@pytest.mark.parametrize("module", [jnp, nn, lax, random, jnp.linalg, jnp.fft],
                         ids=["numpy", "nn", "lax", "random", "linalg", "fft"])
def test_errors_while_tracing_name_the_users_line(module):
    """Under jit, whatever a public function raises for a bad input names the line of the
    user's function that called it (the library's own messages and Python's errors raised
    inside the library alike), or, for a bad output, the function's definition."""
    unlocated = []
    for name, f in _public(module):
        for tag in ("str", "axis out of range", "mismatched pair"):
            args, kw = _bad_inputs()[tag]

            def user(m):
                return f(*args, **kw)   # THE CALL
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    xform.jit(user)(1.0)
            except Exception as e:   # noqa: BLE001 - checking every error's message
                text = " ".join([str(e)] + getattr(e, "__notes__", []))
                if f"{__file__}:{_CALL_LINE}" not in text and not _raised_at_the_call(e) \
                        and f"`user` (defined at {__file__}:{_CALL_LINE - 1})" not in text:
                    unlocated.append(f"{name}({tag}): {type(e).__name__}: {text[:150]}")
    assert not unlocated, "errors without the user's line:\n" + "\n".join(unlocated)


with open(__file__) as _fh:
    _CALL_LINE = next(i for i, line in enumerate(_fh, 1) if line.rstrip().endswith("# THE CALL"))
