"""Every public function of xform.numpy / nn / lax / random, called with inputs it cannot
take, raises an error meant for the user (TypeError / ValueError / IndexError /
NotImplementedError), never a library-internal one (an assert, a KeyError, an
AttributeError, a NameError, ...) and never an IndexError from indexing the library's own
tuples (issue 15, "errors where the user is")."""
import warnings

import numpy as np
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
