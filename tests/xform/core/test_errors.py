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


def test_pythons_own_errors_inside_the_library_name_the_users_line():
    def f(x):
        return jnp.bartlett("abc") * x   # PYERR
    for transform in (xform.jit, xform.grad, xform.vmap):
        with pytest.raises(TypeError) as e:
            transform(f)(jnp.ones(()) if transform is not xform.vmap else jnp.ones(2))
        assert f"{__file__}:{_line_of('# PYERR')}" in str(e.value), (transform, e.value)


def test_a_jitted_library_function_called_wrongly_names_the_users_line():
    def f(x):
        return xform.nn.celu(x, axis=0)   # WRONGKW
    with pytest.raises(TypeError, match=rf"celu\(\).*'axis'.*{HERE}:{_line_of('# WRONGKW')}"):
        xform.jit(f)(1.0)


def test_the_users_own_errors_are_left_alone():
    def f(x):
        raise ValueError("mine")
    with pytest.raises(ValueError) as e:
        xform.jit(f)(1.0)
    assert str(e.value) == "mine" and not getattr(e.value, "__notes__", None)


def test_a_bad_output_names_the_function_and_where_it_is_defined():
    def returns_text(x):   # BADOUT
        return "text"
    with pytest.raises(TypeError, match=rf"`returns_text` \(defined at .*{HERE}:"
                                        rf"{_line_of('# BADOUT')}\) returned a str"):
        xform.jit(returns_text)(1.0)


def test_an_error_that_is_not_a_plain_message_gets_a_note():
    class Custom(ValueError):
        pass

    def lib_raise():
        raise Custom("custom", 1)
    import xform.core.source as tr
    e = Custom("custom", 1)
    try:
        lib_raise()
    except Custom as caught:
        e = caught
    # a frame of the "library" after the user's: pretend this file's helper is library code
    code = lib_raise.__code__
    tr._is_library_lru.put(code, True)
    try:
        tr.locate_error(e)
    finally:
        tr._is_library_code.pop(code, None)
    assert str(e) == "('custom', 1)"
    assert any(f"{HERE}:" in n for n in e.__notes__), e.__notes__


def test_item_assignment_points_to_at_set():
    x = jnp.ones(3)
    with pytest.raises(TypeError, match=r"immutable.*x\[1:3\] = y.*x = x\.at\[1:3\]\.set\(y\)"):
        x[1:3] = 0.0
    with pytest.raises(TypeError, match=r"x = x\.at\[0\]\.set\(y\)"):
        xform.jit(lambda x: x.__setitem__(0, 1.0))(x)


def test_messages_name_the_transform_the_user_called():
    """grad has no static arguments to suggest; a value branched on under vmap is abstract
    because of vmap, not jit; a fori_loop's carry error speaks of init_val and body_fun."""
    with pytest.raises(TypeError) as e:
        xform.grad(lambda x: x * 2.0)("3.0")
    assert "static_argnums" not in str(e.value) and "grad" in str(e.value)
    with pytest.raises(ConcretizationError) as e:
        xform.vmap(lambda x: x if x > 0 else -x)(jnp.ones(3))
    assert "Inside vmap" in str(e.value) and "jit" not in str(e.value)
    with pytest.raises(TypeError, match=r"(?s)fori_loop: init_val and body_fun's result.*f32\[2\]"):
        xform.lax.fori_loop(0, 3, lambda i, c: c + jnp.ones(2), 0.0)
