"""Errors raised while tracing name the user's line, and, for a leaked tracer, the line
where it was created."""
import re

import pytest

import xform
import xform.numpy as jnp
from xform import UnexpectedTracerError, ConcretizationError

HERE = __file__.rsplit("/", 1)[-1]


def _leak():
    box = []

    @xform.jit
    def f(x):
        y = jnp.sin(x)   # LEAK
        box.append(y)
        return y
    f(1.0)
    return box[0]


def _line_of(marker):
    with open(__file__) as fh:
        return next(i for i, line in enumerate(fh, 1) if marker in line)


@pytest.mark.parametrize("use", [
    lambda t: jnp.cos(t),
    lambda t: xform.jit(lambda x: t + x)(1.0),
    lambda t: xform.grad(lambda x: t * x)(1.0),
    lambda t: float(t),
])
def test_leaked_tracer_names_where_it_was_made_and_used(use):
    t = _leak()
    with pytest.raises(UnexpectedTracerError) as e:
        use(t)
    msg = str(e.value)
    assert f"created at {__file__}:{_line_of('# LEAK')}" in msg, msg
    assert re.search(rf"at {re.escape(__file__)}:\d+\)", msg), msg


def test_python_control_flow_on_a_traced_value_names_the_line():
    @xform.jit
    def g(x):
        if x > 0:   # BRANCH
            return x
        return -x
    with pytest.raises(ConcretizationError, match=rf"(?s){HERE}:{_line_of('# BRANCH')}.*lax.cond"):
        g(1.0)


def test_shape_errors_name_the_op_the_shapes_and_the_line():
    with pytest.raises(TypeError, match=rf"matmul.*\(3, 4\).*\(5, 6\).*{HERE}:\d+"):
        xform.jit(lambda a, b: a @ b)(jnp.ones((3, 4)), jnp.ones((5, 6)))
