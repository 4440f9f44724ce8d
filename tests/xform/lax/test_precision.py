"""``precision=`` reaches XLA (issue 16): on every contraction that takes it, through its
derivatives, and a bad value is refused by name.  (On CPU every precision computes exact
float32, so the values cannot show it; the lowered program does.)"""
import numpy as np
import pytest

import xform
import xform.numpy as jnp
from xform import lax

A = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
B = np.linspace(0, 2, 12, dtype=np.float32).reshape(3, 4)
V = np.linspace(0, 1, 3, dtype=np.float32)


def _levels(f, *args):
    text = xform.jit(f).lower(*args).as_text()
    return [line.split("precision_config = ")[1] for line in text.splitlines()
            if "precision_config" in line]


@pytest.mark.parametrize("name,f,args", [
    ("matmul", lambda a, b: jnp.matmul(a, b, precision=lax.Precision.HIGHEST), (A, B)),
    ("dot", lambda a, b: jnp.dot(a, b, precision="highest"), (A, B)),
    ("einsum", lambda a, b: jnp.einsum("ij,jk->ik", a, b, precision="float32"), (A, B)),
    ("tensordot", lambda a, b: jnp.tensordot(a, b, 1, precision="highest"), (A, B)),
    ("inner", lambda a, v: jnp.inner(a, v, precision="highest"), (A, V)),
    ("vdot", lambda a, v: jnp.vdot(a[0], v, precision="highest"), (A, V)),
    ("lax.dot_general", lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ())),
                                                      precision=lax.Precision.HIGHEST), (A, B)),
    ("convolve", lambda a, v: jnp.convolve(a[0], v, precision="highest"), (A, V)),
])
def test_precision_is_lowered_and_kept_by_the_gradient(name, f, args):
    assert _levels(f, *args) and all("HIGHEST" in lv and "DEFAULT" not in lv
                                     for lv in _levels(f, *args)), name
    grads = xform.grad(lambda *a: jnp.sum(f(*a)), tuple(range(len(args))))
    levels = _levels(grads, *args)
    assert levels and all("HIGHEST" in lv for lv in levels), (name, levels)
    want = xform.grad(lambda *a: jnp.sum(f(*a) * 1.0), tuple(range(len(args))))(*args)
    for g, w in zip(grads(*args), want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)


def test_a_pair_of_precisions_follows_its_operands_through_the_transpose():
    f = lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ())),   # noqa: E731
                                     precision=("high", "highest"))
    assert _levels(f, A, B) == ["[#stablehlo<precision HIGH>, #stablehlo<precision HIGHEST>]} "
                                ": (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>"]
    assert lax.Precision("tensorfloat32") is lax.Precision.HIGH


def test_a_bad_precision_is_named():
    with pytest.raises(ValueError, match=r"dot_general: precision must be.*'bogus'"):
        jnp.matmul(A, B, precision="bogus")
