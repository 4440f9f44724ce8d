"""Autodiff API: grad/value_and_grad/vjp/jvp/linearize/jacfwd/jacrev/hessian against JAX on
randomly generated composite programs, compositions with jit and with each other,
higher orders, Python control flow under grad, IR size, and bad input."""
import numpy as np
import pytest
from hypothesis import Phase, given, settings, strategies as st

import jax
import jax.numpy as jnp

import xform
import xform.numpy as xnp
from xform import lax as xl
from oracle import close as _close


def close(a, b, tol=1e-8):
    return _close(a, b, tol)


f64 = np.float64


pytestmark = pytest.mark.usefixtures("x64_enabled")  # float64 oracles (tests/conftest.py)


# --- a random program generator ---------------------------------------------------------------
# Each op: (arity, fn(np_module, *operands)); operands are (3,) vectors, scalars broadcast.
UNARY = [
    lambda m, a: m.sin(a), lambda m, a: m.cos(a), lambda m, a: m.tanh(a),
    lambda m, a: m.exp(0.3 * a), lambda m, a: m.log(1.0 + a * a), lambda m, a: a * a,
    lambda m, a: m.sqrt(1.0 + a * a), lambda m, a: 1.0 / (1.0 + a * a),
    lambda m, a: m.maximum(a, 0.1 * a), lambda m, a: m.sum(a) * a, lambda m, a: a[::-1],
    lambda m, a: m.concatenate([a[1:], a[:1]]), lambda m, a: m.cumsum(a) if False else a - m.mean(a),
    lambda m, a: m.where(a > 0, a, -0.5 * a), lambda m, a: m.arctan(a) * 2.0,
    lambda m, a: (m.reshape(a, (3, 1)) * m.reshape(a, (1, 3))) @ m.array([0.5, -1.0, 2.0]),
]
BINARY = [
    lambda m, a, b: a + b, lambda m, a, b: a - b, lambda m, a, b: a * b,
    lambda m, a, b: a / (1.5 + m.sin(b)), lambda m, a, b: m.dot(a, b) * b,
    lambda m, a, b: m.stack([a, b])[1] * a, lambda m, a, b: m.minimum(a, b) + m.maximum(a, b) * 0.5,
]


def random_program(seed, n_ops=6):
    rng = np.random.default_rng(seed)
    steps = []
    for i in range(n_ops):
        if rng.random() < 0.6:
            steps.append((0, int(rng.integers(len(UNARY))), int(rng.integers(i + 2))))
        else:
            steps.append((1, int(rng.integers(len(BINARY))), int(rng.integers(i + 2)),
                          int(rng.integers(i + 2))))

    def make(m, scalar=True):
        def f(x, y):
            vals = [x, y]
            for s in steps:
                if s[0] == 0:
                    vals.append(UNARY[s[1]](m, vals[s[2]]))
                else:
                    vals.append(BINARY[s[1]](m, vals[s[2]], vals[s[3]]))
            out = vals[-1] + 0.1 * vals[-2]
            return m.sum(out * m.array([1.0, 0.5, -0.25])) if scalar else out
        return f
    return make


def args_for(seed):
    rng = np.random.default_rng(seed + 7)
    return rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)


FAST = settings(max_examples=5, phases=(Phase.explicit, Phase.reuse, Phase.generate))


@FAST
@given(seed=st.integers(0, 10 ** 6))
def test_grad_random_programs(seed):
    make = random_program(seed)
    x, y = args_for(seed)
    close(xform.grad(make(xnp), argnums=(0, 1))(x, y), jax.grad(make(jnp), argnums=(0, 1))(x, y))
    close(xform.value_and_grad(make(xnp))(x, y), jax.value_and_grad(make(jnp))(x, y))


@FAST
@given(seed=st.integers(0, 10 ** 6))
def test_jacobians_random_programs(seed):
    make = random_program(seed, 5)
    x, y = args_for(seed)
    close(xform.jacrev(make(xnp, False))(x, y), jax.jacrev(make(jnp, False))(x, y))
    close(xform.jacfwd(make(xnp, False), argnums=(0, 1))(x, y),
          jax.jacfwd(make(jnp, False), argnums=(0, 1))(x, y))
    close(xform.hessian(make(xnp))(x, y), jax.hessian(make(jnp))(x, y), 1e-7)


@settings(max_examples=3, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(seed=st.integers(0, 10 ** 6))
def test_compositions_random_programs(seed):
    make = random_program(seed, 5)
    x, y = args_for(seed)
    fx, fj = make(xnp), make(jnp)
    g = jax.grad(fj)(x, y)
    close(xform.jit(xform.grad(fx))(x, y), g)
    close(xform.grad(xform.jit(fx))(x, y), g)
    close(xform.grad(lambda x, y: xform.grad(fx)(x, y).sum())(x, y),
          jax.grad(lambda x, y: jax.grad(fj)(x, y).sum())(x, y))
    close(xform.jacfwd(xform.jacrev(fx))(x, y), jax.jacfwd(jax.jacrev(fj))(x, y), 1e-7)


def test_fourth_order():
    def f(m):
        return lambda x: m.sin(x) * m.exp(0.5 * x) / (1.0 + x * x) + m.tanh(x) ** 3
    gx, gj = f(xnp), f(jnp)
    for _ in range(4):
        gx, gj = xform.grad(gx), jax.grad(gj)
    for x in (0.3, -1.2):
        close(gx(x), gj(x), 1e-9)
    close(xform.jit(gx)(0.7), gj(0.7), 1e-9)


def test_mixed_orders_and_jit():
    fx = lambda x: xnp.sum(xnp.sin(x) ** 2 * x)
    fj = lambda x: jnp.sum(jnp.sin(x) ** 2 * x)
    x = np.array([0.1, 0.5, -0.7])
    close(xform.jit(xform.hessian(fx))(x), jax.hessian(fj)(x))
    close(xform.grad(lambda x: xform.jit(xform.grad(fx))(x).sum())(x),
          jax.grad(lambda x: jax.grad(fj)(x).sum())(x))
    close(xform.jacrev(xform.jacfwd(lambda x: xnp.sin(x) * x[0]))(x),
          jax.jacrev(jax.jacfwd(lambda x: jnp.sin(x) * x[0]))(x))


# --- API ----------------------------------------------------------------------------------------

def test_jvp_vjp_linearize_pytrees():
    fx = lambda p: {"a": xnp.sin(p["x"]) * p["y"], "b": xnp.sum(p["x"] ** 2)}
    fj = lambda p: {"a": jnp.sin(p["x"]) * p["y"], "b": jnp.sum(p["x"] ** 2)}
    p = {"x": np.array([0.1, 0.2]), "y": 3.0}
    t = {"x": np.array([1.0, -1.0]), "y": 0.5}
    close(xform.jvp(fx, (p,), (t,)), jax.jvp(fj, (p,), (t,)))
    out, f_jvp = xform.linearize(fx, p)
    close(f_jvp(t), jax.jvp(fj, (p,), (t,))[1])
    ox, pbx = xform.vjp(fx, p)
    oj, pbj = jax.vjp(fj, p)
    ct = {"a": np.array([1.0, 2.0]), "b": -1.0}
    close(ox, oj)
    close(pbx(ct), pbj(ct))


def test_argnums_and_has_aux():
    def f(m):
        return lambda x, y, z: (m.sum(x * y) + z, {"aux": x * 2})
    x, y = np.arange(3.0), np.ones(3)
    (vx, ax), gx = xform.value_and_grad(f(xnp), argnums=(1, 0), has_aux=True)(x, y, 2.0)
    (vj, aj), gj = jax.value_and_grad(f(jnp), argnums=(1, 0), has_aux=True)(x, y, 2.0)
    close((vx, ax, gx), (vj, aj, gj))
    gx, ax = xform.grad(f(xnp), argnums=-1, has_aux=True)(x, y, 2.0)
    close(gx, 1.0)
    out, pb, aux = xform.vjp(lambda x: (xnp.sin(x), x), x, has_aux=True)
    close(aux, x)


def test_int_inputs_and_float0():
    f = lambda x, n: xnp.sum(x * n)
    with pytest.raises(TypeError, match="int"):
        xform.grad(f, argnums=1)(np.ones(2), 3)
    with pytest.raises(TypeError, match="bool"):
        xform.grad(lambda b: xnp.where(b, 1.0, 0.0).sum())(np.array([True]))
    _, pb = xform.vjp(f, np.ones(2), np.int32(3))
    gx, gn = pb(1.0)
    close(gx, np.array([3.0, 3.0]))
    assert gn.dtype == xform.float0
    p, t = xform.jvp(f, (np.ones(2), np.int32(3)), (np.ones(2), np.zeros((), xform.float0)))
    close(t, 6.0)
    with pytest.raises(TypeError, match="float0"):
        xform.jvp(f, (np.ones(2), np.int32(3)), (np.ones(2), np.int32(0)))
    # integer intermediate values carry no tangent
    close(xform.grad(lambda x: x * xnp.floor(x).astype(np.int32))(2.5), 2.0)


def test_stop_gradient():
    fx = lambda x: xnp.sum(x * xl.stop_gradient(x * x))
    x = np.array([1.0, 2.0])
    close(xform.grad(fx)(x), x * x)
    close(xform.grad(lambda x: xform.lax.stop_gradient(x) * 2.0)(1.0), 0.0)


def test_python_control_flow_under_grad():
    def f(x):
        if x > 0:
            return xnp.sin(x) * x
        return x ** 3
    close(xform.grad(f)(1.0), np.cos(1.0) + np.sin(1.0))
    close(xform.grad(f)(-2.0), 12.0)
    close(xform.grad(xform.grad(f))(-2.0), -12.0)
    with pytest.raises(xform.ConcretizationError) as e:
        xform.jit(xform.grad(f))(1.0)
    msg = str(e.value)
    assert "test_ad.py" in msg and "lax.cond" in msg and "static_argnums" in msg

    def g(x, n):
        for _ in range(int(n)):
            x = xnp.sin(x)
        return x
    close(xform.grad(g)(0.5, 3), jax.grad(lambda x: jnp.sin(jnp.sin(jnp.sin(x))))(0.5))


def test_bad_input():
    with pytest.raises(TypeError, match=r"\(3,\)"):
        xform.grad(lambda x: x * 2)(np.ones(3))
    with pytest.raises(TypeError, match="pair"):
        xform.grad(lambda x: x * 2, has_aux=True)(1.0)
    with pytest.raises(TypeError, match="pair"):
        xform.grad(lambda x: (x, x, x), has_aux=True)(1.0)
    with pytest.raises(ValueError, match="argnums"):
        xform.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)
    with pytest.raises(ValueError, match="argnums"):
        xform.jacrev(lambda x: x, argnums=(0, 1))(np.ones(2))
    with pytest.raises(TypeError, match="argnums"):
        xform.grad(lambda x: x, argnums="0")
    with pytest.raises(TypeError, match="scalar"):
        xform.grad(lambda x: (x, x))(1.0)
    with pytest.raises(ValueError, match="shape"):
        xform.jvp(lambda x: x, (1.0,), (np.ones(3),))


def test_jacobian_shapes_and_aux():
    f = lambda x, y: (xnp.outer(x, y), xnp.sum(x))
    x, y = np.arange(2.0), np.arange(3.0)
    jx = xform.jacrev(lambda x, y: f(x, y)[0], argnums=(0, 1))(x, y)
    assert jx[0].shape == (2, 3, 2) and jx[1].shape == (2, 3, 3)
    jf = xform.jacfwd(lambda x, y: f(x, y)[0], argnums=1)(x, y)
    assert jf.shape == (2, 3, 3)
    j, aux = xform.jacrev(f, has_aux=True)(x, y)
    close(aux, 1.0)
    h, aux = xform.hessian(lambda x: (xnp.sum(x ** 3), x), has_aux=True)(x)
    close(h, np.diag(6 * x))


def test_grad_ir_is_tidy_and_small():
    """make_jaxpr(grad(f)) of the 100-layer tanh net is no larger than JAX's."""
    def net(m):
        def f(w, b, x):
            for i in range(100):
                x = m.tanh(x * w[i] + b[i])
            return m.sum(x)
        return f
    w, b, x = np.ones((100, 8)) * 0.5, np.ones((100, 8)) * 0.1, np.ones(8)
    for argnums in (2, (0, 1)):
        nx = len(xform.make_jaxpr(xform.grad(net(xnp), argnums=argnums))(w, b, x).eqns)
        nj = len(jax.make_jaxpr(jax.grad(net(jnp), argnums=argnums))(w, b, x).eqns)
        assert nx <= nj, (argnums, nx, nj)
        from primitives import check_jaxpr
        check_jaxpr(xform.make_jaxpr(xform.grad(net(xnp), argnums=argnums))(w, b, x))
    text = str(xform.make_jaxpr(xform.grad(lambda x: xnp.sum(xnp.tanh(x) * 2.0)))(np.ones(3)))
    assert "1.0:f64[] b" not in text and "broadcast_in_dim" not in text, text


def test_eager_grad_reuses_forward_values(monkeypatch):
    """Outside jit the forward pass runs once (while tracing), not again for the residuals."""
    from xform.core import trace as core
    calls = []
    real = core.eager_apply

    def counting(prim, args, params):
        calls.append(prim.name)
        return real(prim, args, params)
    f = lambda x: xnp.sum(xnp.sin(xnp.exp(x)))
    x = np.array([0.1, 0.2])
    xform.grad(f)(x)      # warm
    monkeypatch.setattr(core, "eager_apply", counting)
    xform.grad(f)(x)
    assert calls.count("exp") == 1 and calls.count("sin") == 1, calls


def test_named_axis_collectives_under_vmap():
    from xform.lax import parallel
    x = np.arange(1.0, 4.0)

    def f(v):
        return parallel.psum(v * v, "i") * v
    gx = xform.vmap(xform.grad(f), axis_name="i")(x)
    gj = jax.vmap(jax.grad(lambda v: jax.lax.psum(v * v, "i") * v), axis_name="i")(x)
    close(gx, gj)


def test_jacobians_are_one_vmapped_program():
    """jacfwd/jacrev/hessian map over the basis with vmap: the IR does not grow with the
    number of basis vectors (no per-basis-vector copy of the JVP/VJP)."""
    def f(x):
        return xnp.sin(x) * xnp.sum(x ** 2)

    def fj(x):
        return jnp.sin(x) * jnp.sum(x ** 2)

    for jac in (xform.jacrev, xform.jacfwd, xform.hessian):
        g = (lambda x: xnp.sum(f(x))) if jac is xform.hessian else f
        counts = {n: len(xform.make_jaxpr(jac(g))(np.ones(n)).jaxpr.eqns) for n in (2, 16)}
        assert counts[2] == counts[16], (jac.__name__, counts)
    x = np.linspace(0.1, 1.6, 16)
    close(xform.jacrev(f)(x), jax.jacrev(fj)(x))
    close(xform.jacfwd(f)(x), jax.jacfwd(fj)(x))


def test_module_runs_in_x64_mode():
    """The float64 oracles above only mean something if x64 really is on here."""
    assert xform.numpy.zeros(1, np.float64).dtype == np.float64
    assert jax.numpy.zeros(1, np.float64).dtype == np.float64
