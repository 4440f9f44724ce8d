"""``xform.config`` as JAX programs use it: environment variables, absl flags, the
context managers, and the options a traced program depends on (``jit`` must not reuse a
program traced under another setting)."""
import os
import subprocess
import sys
import textwrap
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def _run(code, *args, env=None):
    """Run ``code`` in a fresh interpreter (options are read at import)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_ENABLE")}
    full_env.update(env or {})
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
                         env=full_env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_environment_variables_set_the_options_as_in_jax():
    code = """
        import xform, xform.numpy as xnp
        print(xnp.zeros(2).dtype, xform.config.jax_default_matmul_precision,
              xform.config.jax_numpy_rank_promotion)
    """
    assert _run(code) == "float32 None allow"
    env = {"JAX_ENABLE_X64": "1", "JAX_DEFAULT_MATMUL_PRECISION": "highest",
           "JAX_NUMPY_RANK_PROMOTION": "raise"}
    assert _run(code, env=env) == "float64 highest raise"


def test_config_with_absl_reads_the_command_line():
    code = """
        import sys
        from absl import app
        import xform, xform.numpy as xnp

        def main(argv):
            print(xnp.ones(3).dtype, xform.config.jax_numpy_rank_promotion, argv[1:])

        xform.config.config_with_absl()
        app.run(main)
    """
    assert _run(code, "--jax_enable_x64", "--jax_numpy_rank_promotion=warn", "rest") == \
        "float64 warn ['rest']"
    assert _run(code) == "float32 allow []"


def test_parse_flags_with_absl_leaves_other_arguments():
    code = """
        import sys
        import xform, xform.numpy as xnp
        xform.config.parse_flags_with_absl()
        print(xnp.ones(3).dtype, xform.config.jax_disable_jit)
    """
    assert _run(code, "--jax_enable_x64=true", "--other=1") == "float64 False"


def test_absl_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "absl", None)
    with pytest.raises(ImportError, match="absl-py"):
        xform.config.config_with_absl()


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match="jax_numpy_rank_promotion must be one of"):
        xform.config.update("jax_numpy_rank_promotion", "sometimes")
    with pytest.raises(ValueError, match="jax_default_matmul_precision must be"):
        xform.config.update("jax_default_matmul_precision", "exact")
    with pytest.raises(AttributeError, match="unknown option 'jax_no_such'"):
        xform.config.update("jax_no_such", 1)


def test_default_matmul_precision_reaches_the_ir_and_jit_retraces():
    f = xform.jit(lambda a: a @ a)
    x = np.ones((2, 2), np.float32)
    assert "precision=None" in str(xform.make_jaxpr(lambda a: a @ a)(x))
    with xform.default_matmul_precision("highest"):
        assert "HIGHEST" in str(xform.make_jaxpr(lambda a: a @ a)(x))
        np.testing.assert_array_equal(f(x), x @ x)
    with jax.default_matmul_precision("highest"):    # JAX's switch is not ours
        assert "precision=None" in str(xform.make_jaxpr(lambda a: a @ a)(x))
    # an explicit precision wins over the default
    with xform.default_matmul_precision("highest"):
        jaxpr = xform.make_jaxpr(lambda a: xform.lax.dot(a, a, precision="default"))(x)
        assert "DEFAULT" in str(jaxpr)


def test_rank_promotion_raise_and_warn_as_jax():
    a, b = np.ones(3, np.float32), np.ones((2, 3), np.float32)
    f = xform.jit(lambda u, v: u * v)
    np.testing.assert_array_equal(f(a, b), b)       # traced with "allow"
    with xform.numpy_rank_promotion("raise"):
        with pytest.raises(ValueError, match=r"multiply: operands of shapes \(3,\), \(2, 3\)"):
            f(a, b)                                  # not the program traced before
        with jax.numpy_rank_promotion("raise"):
            with pytest.raises(ValueError):
                jnp.multiply(a, b)                   # JAX refuses the same program
        np.testing.assert_array_equal(f(np.float32(2), b), 2 * b)   # rank 0: allowed
        np.testing.assert_array_equal(f(b, b), b)
    with xform.numpy_rank_promotion("warn"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            np.testing.assert_array_equal(xnp.add(a, b), a + b)
        assert any("would be broadcast" in str(w.message) for w in caught)
    np.testing.assert_array_equal(f(a, b), b)


def test_enable_x64_context_and_disable_jit_option():
    f = xform.jit(lambda x: x + 1)
    assert f(np.float32(1)).dtype == np.float32
    with xform.enable_x64():
        assert xnp.zeros(2).dtype == np.float64
        assert f(1.0).dtype == np.float64
    assert f(1.0).dtype == np.float32
    calls = []

    @xform.jit
    def g(x):
        calls.append(type(x).__name__)
        return x * 2
    g(np.float32(1))
    xform.config.update("jax_disable_jit", True)
    try:
        assert float(g(np.float32(3))) == 6.0
    finally:
        xform.config.update("jax_disable_jit", False)
    assert calls == ["Tracer", "float32"]          # run as Python, on the argument itself
    g(np.float32(1))
    assert calls == ["Tracer", "float32"]          # the compiled program again


def test_named_scope_names_ops_in_xla_metadata():
    import re

    def f(x):
        with xform.named_scope("layer1"):
            y = xnp.sin(x) * 2
            with xform.named_scope('in"ner'):
                y = y + 1
        return (y * 3).sum()
    lowered = xform.jit(xform.grad(f)).lower(np.ones(3, np.float32))
    text = lowered.as_text()
    assert 'loc("layer1/cos")' in text          # sin's derivative keeps the scope
    names = set(re.findall(r'op_name="([^"]*)"', lowered.compile().as_text()))
    assert {"layer1/cos", "layer1/mul"} <= names
    fwd = xform.jit(f).lower(np.ones(3, np.float32)).as_text()
    assert 'loc("layer1/in\\"ner/add")' in fwd
    assert "loc(" not in xform.jit(lambda x: x * 2).lower(np.ones(3, np.float32)).as_text()

    @xform.named_scope("deco")
    def g(x):
        return x + 1
    assert 'loc("deco/add")' in xform.jit(g).lower(np.ones(3, np.float32)).as_text()
    np.testing.assert_allclose(xform.jit(f)(np.ones(3, np.float32)),
                               jax.jit(lambda x: (3 * (jnp.sin(x) * 2 + 1)).sum())(
                                   np.ones(3, np.float32)), rtol=1e-6)
    h = xform.named_call(lambda x: x * 5, name="scaled")
    assert 'loc("scaled/mul")' in xform.jit(h).lower(np.ones(3, np.float32)).as_text()
