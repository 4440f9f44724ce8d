"""``debug_nans`` / ``debug_infs`` (xform/core/nan_check.py): a NaN or Inf made by an eager
op or inside a jitted program raises ``FloatingPointError`` naming the meta-operator,
its types and the user's line, in the forward and the backward pass; off, nothing is
checked.  JAX 0.10.2 is the oracle for which eager ops raise."""
import inspect
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jjnp
import numpy as np
import pytest

import xform
import xform.numpy as jnp
from xform import lax
from xform.core import checks, nan_check

HERE = os.path.basename(__file__)
ROOT = pathlib.Path(__file__).resolve().parents[3]


def _line(offset=1) -> int:
    """The line ``offset`` lines below the caller's."""
    return inspect.currentframe().f_back.f_lineno + offset


def _at(line) -> str:
    return rf"{HERE}:{line}\b"


@pytest.fixture(autouse=True)
def _checks_off_afterwards():
    yield
    xform.config.update("jax_debug_nans", False)
    xform.config.update("jax_debug_infs", False)


def test_off_by_default_nothing_is_checked(monkeypatch):
    assert xform.config.read("jax_debug_nans") is False
    assert xform.config.read("jax_debug_infs") is False
    assert checks.special is False

    def boom(*a, **k):
        raise AssertionError("checked although the switches are off")
    monkeypatch.setattr(nan_check, "kind_of", boom)
    f = xform.jit(lambda x: jnp.log(x))
    assert np.isnan(np.asarray(jnp.log(-1.0)))
    assert np.isnan(np.asarray(f(jnp.array(-1.0))))
    assert np.isnan(np.asarray(f(jnp.array(-1.0))))   # the fast path
    assert np.isinf(np.asarray(xform.grad(jnp.sqrt)(0.0)))


def test_eager_op_names_the_op_its_types_and_line():
    with xform.debug_nans(True):
        line = _line(3)
        with pytest.raises(FloatingPointError, match=r"invalid value \(nan\) encountered in "
                           r"log: \(f32\[2\]\) -> \(f32\[2\]\) \(at .*" + _at(line)):
            jnp.log(jnp.array([1.0, -1.0]))
    assert np.isnan(np.asarray(jnp.log(-1.0)))   # restored


def test_jit_forward_names_the_op_and_the_line_inside_the_function():
    def f(x):
        y = jnp.sin(x) + 1.0
        line = _line()
        return jnp.log(y - 3.0) * 2.0, line
    line = f(1.0)[1]
    g = xform.jit(lambda x: f(x)[0])
    assert np.isnan(np.asarray(g(jnp.ones(3)))).all()   # off: no check
    with xform.debug_nans(True):
        with pytest.raises(FloatingPointError, match=r"encountered in log: \(f32\[3\]\) -> "
                           r"\(f32\[3\]\) \(at .*" + _at(line) + r".*found by running "
                           r"jit\(<lambda>\) op by op"):
            g(jnp.ones(3))
        np.testing.assert_allclose(np.asarray(xform.jit(jnp.cos)(jnp.zeros(2))), [1, 1])


def test_backward_pass_points_at_the_forward_line():
    def f(x):
        y = x * 2.0
        line = _line()
        z = jnp.sqrt(y)
        return z * 0.0, line     # d/dx = 0 * (1 / sqrt(0)) = nan in the backward pass
    line = f(1.0)[1]
    loss = lambda x: f(x)[0]
    assert np.isnan(np.asarray(xform.grad(loss)(0.0)))
    with xform.debug_nans(True):
        for g in (xform.grad(loss), xform.jit(xform.grad(loss))):
            with pytest.raises(FloatingPointError, match=r"invalid value \(nan\) encountered "
                               r"in \w+: .*\(at .*" + _at(line)):
                g(0.0)
        # the forward pass alone is fine
        np.testing.assert_allclose(np.asarray(xform.jit(loss)(0.0)), 0.0)


def test_debug_infs_in_the_backward_pass_as_jax():
    # JAX: grad(sqrt)(0.) under debug_infs raises "invalid value (inf) encountered in div"
    with jax.debug_infs(True):
        with pytest.raises(FloatingPointError, match=r"\(inf\) encountered in div"):
            jax.grad(jjnp.sqrt)(0.0)

    def h(x):
        line = _line()
        return jnp.sqrt(x), line
    line = h(1.0)[1]
    with xform.debug_infs(True):
        for g in (xform.grad(lambda x: h(x)[0]), xform.jit(xform.grad(lambda x: h(x)[0]))):
            with pytest.raises(FloatingPointError,
                               match=r"invalid value \(inf\) encountered in \w+.*" + _at(line)):
                g(0.0)
    with xform.debug_nans(True):   # an inf is not a nan
        assert np.isinf(np.asarray(xform.grad(jnp.sqrt)(0.0)))


def test_debug_infs_eager_and_jit():
    with xform.debug_infs(True):
        with pytest.raises(FloatingPointError, match=r"\(inf\) encountered in div"):
            jnp.ones(2) / 0.0
        with pytest.raises(FloatingPointError, match=r"\(inf\) encountered in exp"):
            xform.jit(lambda x: jnp.exp(x) + 1.0)(jnp.array([1.0, 1000.0]))
        assert np.isnan(np.asarray(jnp.log(-1.0)))   # a nan is not an inf


@pytest.mark.parametrize("name", ["log(-1)", "0/0", "nan operand", "int division by 0",
                                  "isnan", "masked nan"])
def test_eager_ops_raise_where_jax_raises(name):
    nan_arr = {}
    cases = {
        "log(-1)": lambda np_: np_.log(-1.0),
        "0/0": lambda np_: np_.zeros(2) / 0.0,
        "nan operand": lambda np_: nan_arr[np_] + 1.0,    # an input that already holds nan
        "int division by 0": lambda np_: np_.array(1) // 0,
        "isnan": lambda np_: np_.isnan(nan_arr[np_]),      # bool outputs are not checked
        "masked nan": lambda np_: np_.where(nan_arr[np_] > 0, nan_arr[np_], 0.0),
    }
    results = []
    for mod, np_ in ((jax, jjnp), (xform, jnp)):
        nan_arr[np_] = np_.asarray(np.array([1.0, np.nan], np.float32))
        try:
            with mod.debug_nans(True):
                cases[name](np_)
            results.append("ok")
        except FloatingPointError:
            results.append("raises")
    assert results[1] == results[0], results


def test_inputs_holding_nan_raise_in_the_first_op_that_reads_them():
    x = jnp.array([1.0, np.nan])
    f = xform.jit(lambda v: jnp.sin(v) + 1.0)
    with xform.debug_nans(True):
        with pytest.raises(FloatingPointError, match=r"encountered in sin: .*operand 0 "
                           r"already held nan; found by running jit"):
            f(x)
        with pytest.raises(FloatingPointError, match=r"encountered in add: .*operand 0 "
                           r"already held nan"):
            x + 1.0
        # returned unchanged: no op made it; the error names the jitted function (as JAX)
        with pytest.raises(FloatingPointError, match=r"\(nan\) encountered in the output "
                           r"of jit\(<lambda>\), but running its program op by op made none"):
            xform.jit(lambda v: v)(x)


def test_inside_a_loop_the_op_and_the_step_are_named():
    def step(c, x):
        return c + jnp.log(x - 2.0), None
    line = inspect.getsourcelines(step)[1] + 1
    xs = jnp.arange(6.0)[::-1] + 1.0     # 6, 5, 4, 3, 2, 1: log of a negative at step 5
    f = xform.jit(lambda xs: lax.scan(step, 0.0, xs)[0])
    with xform.debug_nans(True):
        with pytest.raises(FloatingPointError, match=r"encountered in log: .*" + _at(line) +
                           r".*, inside scan step 5 .*found by running jit"):
            f(xs)
        with pytest.raises(FloatingPointError, match=r"encountered in log: .*" + _at(line) +
                           r".*, inside scan step 5"):
            lax.scan(step, 0.0, xs)   # eager: the loop runs again op by op too

    def w(x):
        return lax.while_loop(lambda c: c[0] >= 0, lambda c: (c[0] + 1, jnp.sqrt(c[1] - 1.0)),
                              (0, x), max_steps=2)[1]   # (stops at max_steps: so does the re-run)
    with xform.debug_nans(True):
        with pytest.raises(FloatingPointError, match=r"encountered in sqrt: .*inside while "
                           r"step 1"):
            xform.jit(w)(jnp.array(1.5))
        with pytest.raises(FloatingPointError, match=r"encountered in log: .*inside cond"):
            xform.jit(lambda p, x: lax.cond(p, jnp.log, jnp.exp, x))(True, -1.0)


def test_vmap_under_jit_points_at_the_users_line():
    def f(x):
        line = _line()
        return jnp.arcsin(x), line
    line = f(0.0)[1]
    with xform.debug_nans(True):
        with pytest.raises(FloatingPointError, match=r"encountered in \w+.*" + _at(line)):
            xform.jit(xform.vmap(lambda x: f(x)[0]))(jnp.array([0.5, 2.0]))


def test_donated_arguments_are_kept_while_checking():
    f = xform.jit(lambda x: jnp.log(x), donate_argnums=0)
    x = jnp.array([1.0, -1.0])
    with xform.debug_nans(True):
        with pytest.raises(FloatingPointError, match=r"encountered in log"):
            f(x)
        assert not x.is_deleted()
    y = jnp.array([1.0, 2.0])
    f(y)
    assert y.is_deleted()   # off again: donation again


def test_config_names_context_managers_and_restore():
    assert xform.config.read("debug_nans") is False
    with xform.debug_nans(True):
        assert xform.config.read("jax_debug_nans") is True and checks.special
        with xform.debug_nans(False):
            assert not checks.special
            assert np.isnan(np.asarray(jnp.log(-1.0)))
        assert checks.special
    assert xform.config.read("jax_debug_nans") is False and not checks.special
    with pytest.raises(FloatingPointError):
        with xform.debug_infs():
            jnp.ones(1) / 0.0
    assert xform.config.read("jax_debug_infs") is False and not checks.special

    @xform.debug_nans(True)
    def decorated():
        return jnp.log(-1.0)
    with pytest.raises(FloatingPointError):
        decorated()
    xform.config.update("debug_infs", True)
    assert xform.config.jax_debug_infs is True and checks.debug_infs and checks.special
    xform.config.update("jax_debug_infs", False)
    assert not checks.special


def test_environment_variables_turn_the_checks_on():
    code = ("import xform, xform.numpy as jnp\n"
            "assert xform.config.read('jax_debug_nans') and xform.config.read('jax_debug_infs')\n"
            "try:\n    jnp.log(-1.0)\nexcept FloatingPointError as e:\n    print('raised', e)\n")
    env = dict(os.environ, JAX_DEBUG_NANS="1", JAX_DEBUG_INFS="true", PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "raised invalid value (nan) encountered in log" in r.stdout
