"""Autodiff of structured control flow (cond, switch, while_loop, fori_loop, scan): JVP vs
JAX and finite differences, reverse mode vs JAX (eager, under jit, composed with vmap), and
reverse mode through a bounded while_loop (an xform extension)."""
import numpy as np
import pytest

import jax
import jax.numpy as jnp

import xform
import xform.numpy as xnp
from xform import lax as xl
from oracle import close as _close


def close(a, b, tol=1e-5):
    return _close(a, b, tol)


def program(L, np_):
    def f(x, w):
        c = L.cond(x[0] > 0, lambda a: np_.sin(a) * w, lambda a: a * a, x)
        c = L.switch(1, [lambda a: a, lambda a: np_.cos(a) + w, lambda a: -a], c)

        def body(k, xi):
            return k * w + np_.cos(xi) * k, k * xi
        k, ys = L.scan(body, c, x)
        z = L.fori_loop(0, 3, lambda i, s: s * w + np_.sin(s), k)
        k2, _ = L.scan(lambda k, _: (np_.tanh(k) * w, None), z, None, length=4, reverse=True)
        return np_.sum(ys) + np_.sum(k2)
    return f


FX, FJ = program(xl, xnp), program(jax.lax, jnp)
X = np.array([0.5, -0.3, 0.2], np.float32)
W = np.float32(0.7)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_jvp_vs_jax_and_finite_differences(sign):
    x = (sign * X).astype(np.float32)
    tx, tw = np.array([1.0, 2.0, 3.0], np.float32), np.float32(0.5)
    out, t = xform.jvp(FX, (x, W), (tx, tw))
    close((out, t), jax.jvp(FJ, (x, W), (tx, tw)))
    close(xform.jvp(xform.jit(FX), (x, W), (tx, tw)), jax.jvp(FJ, (x, W), (tx, tw)))
    eps = 1e-3
    x64, w64 = x.astype(np.float64), np.float64(W)
    fd = (np.asarray(FJ(x64 + eps * tx, w64 + eps * tw)) -
          np.asarray(FJ(x64 - eps * tx, w64 - eps * tw))) / (2 * eps)
    np.testing.assert_allclose(np.asarray(t), fd, rtol=2e-2, atol=2e-2)


def test_jvp_while_loop():
    def mk(L, np_):
        def f(x, w):
            _, y = L.while_loop(lambda s: s[0] < 4, lambda s: (s[0] + 1, s[1] * w + np_.sin(s[1])),
                                (0, x))
            return y
        return f
    args, tans = (X, W), (np.ones(3, np.float32), np.float32(0.3))
    close(xform.jvp(mk(xl, xnp), args, tans), jax.jvp(mk(jax.lax, jnp), args, tans))
    close(xform.jvp(xform.jit(mk(xl, xnp)), args, tans), jax.jvp(mk(jax.lax, jnp), args, tans))


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_grad_vs_jax(sign):
    x = (sign * X).astype(np.float32)
    want = jax.grad(FJ, (0, 1))(x, W)
    close(xform.grad(FX, (0, 1))(x, W), want)
    close(xform.jit(xform.grad(FX, (0, 1)))(x, W), want)


def test_grad_composed_with_vmap():
    xs = np.stack([X, -X, 2 * X])
    close(xform.vmap(xform.grad(FX), (0, None))(xs, W), jax.vmap(jax.grad(FJ), (0, None))(xs, W))
    close(xform.grad(lambda w: xnp.sum(xform.vmap(FX, (0, None))(xs, w)))(W),
          jax.grad(lambda w: jnp.sum(jax.vmap(FJ, (0, None))(xs, w)))(W))


def test_jacrev_and_hessian_through_scan():
    def mk(L, np_):
        def f(x):
            k, ys = L.scan(lambda k, xi: (np_.sin(k) * xi, k * k), x[0], x)
            return ys + k
        return f
    close(xform.jacrev(mk(xl, xnp))(X), jax.jacrev(mk(jax.lax, jnp))(X))
    close(xform.hessian(lambda x: xnp.sum(mk(xl, xnp)(x)))(X),
          jax.hessian(lambda x: jnp.sum(mk(jax.lax, jnp)(x)))(X), 1e-4)


def _bounded(x, ms):
    _, y = xl.while_loop(lambda s: s[1][0] < 10.0,
                         lambda s: (s[0] + 1, s[1] * 1.5 + xnp.sin(s[1])), (0, x), max_steps=ms)
    return xnp.sum(y)


def _python_loop(x):
    for _ in range(20):
        if x[0] < 10.0:
            x = x * 1.5 + jnp.sin(x)
    return jnp.sum(x)


def test_grad_bounded_while_loop():
    x = np.array([1.0, 2.0], np.float32)
    close(xform.grad(_bounded)(x, 20), jax.grad(_python_loop)(x), 1e-4)
    close(xform.jit(xform.grad(_bounded), static_argnums=1)(x, 20), jax.grad(_python_loop)(x),
          1e-4)


def _all_avals(jaxpr):
    from primitives.core import sub_jaxprs
    for e in jaxpr.eqns:
        yield from (v.aval for v in e.outvars)
        for sub in sub_jaxprs(e):
            yield from _all_avals(sub.jaxpr)


def test_grad_bounded_while_loop_is_checkpointed():
    """Reverse mode through a bounded while_loop stores one carry per segment of
    ~sqrt(max_steps) steps, not residuals for every step: with max_steps=400 no array in
    the gradient program (loop bodies included) holds 400 steps of anything.  The
    gradient matches JAX's through the equivalent Python loop, when the loop stops early
    and when it runs into the bound (401 is not a square: the last segment is padded)."""
    def f(x, ms):
        def body(s):
            return s[0] + 1, s[1] * 1.01 + 0.1 * xnp.sin(s[1])
        _, y = xl.while_loop(lambda s: s[1][0] < 1e3, body, (0, x), max_steps=ms)
        return xnp.sum(y * y)

    def ref(x, n):
        for _ in range(n):
            if x[0] < 1e3:
                x = x * 1.01 + 0.1 * jnp.sin(x)
        return jnp.sum(x * x)
    x = np.array([1.0, 2.0, 0.5], np.float32)
    for ms in (400, 401, 7):
        close(xform.grad(f)(x, ms), jax.grad(ref)(x, ms), 2e-4)
    stop_early = np.array([900.0, 2.0, 0.5], np.float32)
    close(xform.grad(f)(stop_early, 400), jax.grad(ref)(stop_early, 400), 2e-4)
    jaxpr = xform.make_jaxpr(xform.grad(f), static_argnums=1)(x, 400).jaxpr
    biggest = max(a.size for a in _all_avals(jaxpr))
    assert biggest <= 21 * 3, biggest        # one segment: 20 steps of f32[3] (+ counter)


def test_grad_unbounded_while_loop_says_pass_max_steps():
    with pytest.raises(TypeError, match="max_steps"):
        xform.grad(_bounded)(np.array([1.0, 2.0], np.float32), None)


def test_unbounded_while_loop_whose_carry_drops_the_tangent_differentiates():
    """A loop that reads a differentiated value only through floor/compares (a random
    sampler's rejection loop, random.binomial) carries no tangent: reverse mode needs no
    trip bound, and the derivative is 0 as JAX's."""
    def f(L, np_, p):
        def body(c):
            i, k = c
            return i + 1, k + np_.floor(p * 3.0 + i)
        return L.while_loop(lambda c: c[1] < 20.0, body, (0, np.float32(0.0)))[1] + p
    for p in (np.float32(0.7), np.float32(2.5)):
        close(xform.grad(lambda p: f(xl, xnp, p))(p), jax.grad(lambda p: f(jax.lax, jnp, p))(p))
        close(xform.jvp(lambda p: f(xl, xnp, p), (p,), (np.float32(2.0),)),
              jax.jvp(lambda p: f(jax.lax, jnp, p), (p,), (np.float32(2.0),)))


def test_vmapped_switch_sends_no_cotangent_through_branches_not_taken():
    """vmap of a switch with a batched index runs every branch; as JAX, each branch sees
    select(taken, x, stop_gradient(x)), so a branch's NaN slope at the examples it does
    not serve (v * v at -inf, log at 0) does not reach the gradient as 0 * NaN."""
    x = np.array([-np.inf, np.nan, 2.0, -1.0, 0.0], np.float32)
    w = np.float32(1.5)

    def f(L, np_, x, w):
        idx = np_.where(x < 0, 0, np_.where(x > 0, 1, 2))
        branches = [lambda v, w: -v * w, lambda v, w: v * v * w, lambda v, w: np_.log(v) * w]
        return L.switch(idx, branches, x, w)
    vf = lambda L, np_: lambda x, w: (jax.vmap if L is jax.lax else xform.vmap)(  # noqa: E731
        lambda x: f(L, np_, x, w))(x).sum()
    got = xform.grad(vf(xl, xnp), (0, 1))(x, w)
    want = jax.grad(vf(jax.lax, jnp), (0, 1))(x, w)
    for g, h in zip(got, want):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(h))


def _scan_models(np_, L):
    """Scans whose weight cotangents are sums of outer products per step."""
    def rnn(w, u, h0, xs):            # h: [B, D], batched matmuls, xs as per-step inputs
        def step(h, x):
            h = np_.tanh(h @ w + x @ u)
            return h, np_.sum(h * h)
        h, e = L.scan(step, h0, xs)
        return np_.sum(e) + np_.sum(h)

    def ode(w, u, h0, xs):            # reverse scan, a matrix-vector product on the carry
        def step(h, x):
            k = np_.tanh(w @ h) + u @ x
            return h + 0.1 * k, None
        h, _ = L.scan(step, h0[0], xs[:, 0], reverse=True)
        return np_.sum(h * h)
    return {"rnn": rnn, "ode": ode}


@pytest.mark.parametrize("name", ["rnn", "ode"])
def test_scan_weight_gradient_contracts_over_steps_after_the_loop(name):
    """The cotangent of a loop-invariant weight is contracted over the stacked step axis
    after the backward loop instead of being accumulated by rank-1 updates in a carry;
    gradients match JAX and the backward scan carries no weight-sized value."""
    rng = np.random.default_rng(0)
    B, D, S = 2, 5, 6
    w = (rng.standard_normal((D, D)) * 0.4).astype(np.float32)
    u = (rng.standard_normal((D, D)) * 0.4).astype(np.float32)
    h0 = rng.standard_normal((B, D)).astype(np.float32)
    xs = rng.standard_normal((S, B, D)).astype(np.float32)
    fx, fj = _scan_models(xnp, xl)[name], _scan_models(jnp, jax.lax)[name]
    gx = xform.grad(fx, argnums=(0, 1, 2))
    close(gx(w, u, h0, xs), jax.grad(fj, argnums=(0, 1, 2))(w, u, h0, xs), tol=2e-5)
    close(xform.jit(gx)(w, u, h0, xs), jax.grad(fj, argnums=(0, 1, 2))(w, u, h0, xs), tol=2e-5)
    jaxpr = xform.make_jaxpr(gx)(w, u, h0, xs).jaxpr
    backward = [e for e in jaxpr.eqns if e.prim.name == "scan" and e.params["reverse"]
                != (name == "ode")]
    assert len(backward) == 1
    n_carry = backward[0].params["num_carry"]
    carried = [v.aval.shape for v in backward[0].outvars[:n_carry]]
    assert (D, D) not in carried, carried
    after = [e for e in jaxpr.eqns[jaxpr.eqns.index(backward[0]):]
             if e.prim.name == "dot_general"]
    assert len(after) == 2, after      # one per weight: w and u


def test_scan_weight_gradient_keeps_the_carry_for_invariant_operands():
    """A cotangent whose dot has a loop-invariant operand stays in the carry (stacking it
    per step would buy nothing); the gradient still matches JAX."""
    def f(np_, L):
        def g(w, a, h0):
            def step(h, _):
                return np_.tanh(w @ h) + (a @ w) @ h, None
            h, _ = L.scan(step, h0, None, length=4)
            return np_.sum(h)
        return g
    rng = np.random.default_rng(1)
    w, a = (rng.standard_normal((2, 3, 3)) * 0.5).astype(np.float32)
    h0 = rng.standard_normal(3).astype(np.float32)
    gx = xform.grad(f(xnp, xl), argnums=(0, 1))
    close(gx(w, a, h0), jax.grad(f(jnp, jax.lax), argnums=(0, 1))(w, a, h0), tol=2e-5)
    scans = [e for e in xform.make_jaxpr(gx)(w, a, h0).jaxpr.eqns if e.prim.name == "scan"]
    carried = [v.aval.shape for v in scans[-1].outvars[:scans[-1].params["num_carry"]]]
    assert carried.count((3, 3)) == 2, carried


def _stages(np_, L, mixed=False):
    """An RK4-like step: ``w`` multiplies four per-stage states.  With ``mixed`` the last
    stage multiplies a [D, 1] column instead (its dot has other operand shapes)."""
    def f(w, h0):
        def step(h, _):
            k1 = np_.tanh(w @ h)
            k2 = np_.tanh(w @ (h + 0.5 * k1))
            k3 = np_.tanh(w @ (h + 0.5 * k2))
            k4 = np_.tanh((w @ (h + k3)[:, None])[:, 0] if mixed else w @ (h + k3))
            h = h + 0.1 * (k1 + 2 * k2 + 2 * k3 + k4)
            return h, np_.sum(h * h)
        h, e = L.scan(step, h0, None, length=7)
        return np_.sum(e) + np_.sum(h)
    return f


@pytest.mark.parametrize("mixed", [False, True])
def test_scan_weight_gradient_packs_the_operands_of_alike_dots(mixed):
    """When all of a weight's per-step dots agree in form, their operands are packed along
    a new axis (the forward loop writes one [steps, 4, D] residual, the backward loop one
    [steps, 4, D] cotangent stack) and contracted by a single dot after the loop; a weight
    whose dots differ keeps one contraction per dot.  Gradients match JAX either way."""
    rng = np.random.default_rng(2)
    D = 5
    w = (rng.standard_normal((D, D)) * 0.3).astype(np.float32)
    h0 = rng.standard_normal(D).astype(np.float32)
    gx = xform.grad(_stages(xnp, xl, mixed), argnums=(0, 1))
    want = jax.grad(_stages(jnp, jax.lax, mixed), argnums=(0, 1))(w, h0)
    close(gx(w, h0), want, tol=2e-5)
    close(xform.jit(gx)(w, h0), want, tol=2e-5)
    jaxpr = xform.make_jaxpr(gx)(w, h0).jaxpr
    fwd, bwd = [e for e in jaxpr.eqns if e.prim.name == "scan"]
    packed = [v.aval.shape for e in (fwd, bwd) for v in e.outvars if v.aval.shape == (7, 4, D)]
    dots = [e for e in jaxpr.eqns[jaxpr.eqns.index(bwd):] if e.prim.name == "dot_general"]
    if mixed:
        assert packed == [] and len(dots) == 4, (packed, dots)
    else:
        assert packed == [(7, 4, D), (7, 4, D)] and len(dots) == 1, (packed, dots)
