"""A jaxpr prints as JAX prints one (issue 16): the header, parameters and the outputs
tuple, for programs whose equations are the same in both libraries.  Layout aside: JAX
fits short programs on one line (equations joined by "; "), xform prints one equation
per line, so the texts are compared with whitespace and those separators normalised."""
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp

X = np.ones(3, np.float32)

PROGRAMS = [   # (xform function, JAX function, arguments)
    (lambda x: xnp.sin(x) * 2.0, lambda x: jnp.sin(x) * 2.0, (X,)),
    (lambda x, y: (xnp.sin(x) * y + 1.0, x), lambda x, y: (jnp.sin(x) * y + 1.0, x), (X, 2.0)),
    (lambda x: x.astype(np.int32), lambda x: x.astype(np.int32), (X,)),
    (lambda x: xnp.exp(-x) + x, lambda x: jnp.exp(-x) + x, (X,)),
    (lambda: xnp.float32(1.0), lambda: jnp.float32(1.0), ()),
]


def _norm(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"(?<=\S); (?=[a-z_]+:)", " ", text)   # "sin a; c:f32[3] = ..." -> "sin a c:..."


@pytest.mark.parametrize("fx, fj, args", PROGRAMS)
def test_prints_as_jax(fx, fj, args):
    assert _norm(str(xform.make_jaxpr(fx)(*args))) == _norm(str(jax.make_jaxpr(fj)(*args)))


def test_constants_are_declared_before_the_semicolon():
    c = xnp.ones(3)
    text = str(xform.make_jaxpr(lambda x: x * c)(X))
    assert text.splitlines()[0] == "{ lambda a:f32[3]; b:f32[3]. let"
    assert text.splitlines()[-1] == "  in (c,) }"
