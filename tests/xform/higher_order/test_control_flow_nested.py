"""Nested structured control flow: scan inside cond inside while_loop, cond inside scan,
fori_loop inside scan, while_loop inside cond, scan inside scan.

Each program is written once against a small ``Lib`` facade and run three ways: with
xform, with JAX (the oracle) and with plain Python loops over NumPy (the meaning).  We
check forward values eagerly and under jit, JVPs against JAX, reverse mode against JAX
(a bounded ``while_loop(..., max_steps=N)`` is compared with the JAX ``fori_loop`` +
``cond`` that computes the same thing, since JAX cannot reverse a while_loop), and vmap
(predicates batched inside nested cond/while) against a loop of single calls.  The last
section checks the IR of reverse-mode scans: loop-invariant residuals are not stacked per
step, and dead loop outputs are pruned.
"""
import numpy as np
import pytest

import jax
import jax.numpy as jnp

import xform
import xform.numpy as xnp
from xform import lax as xl


# --- three implementations of the same loops -----------------------------------------------

class PyLoops:
    """``lax``'s control flow as plain Python loops (the reference semantics)."""

    @staticmethod
    def cond(pred, true_fun, false_fun, *ops):
        return true_fun(*ops) if pred else false_fun(*ops)

    @staticmethod
    def while_loop(cond_fun, body_fun, init):
        val = init
        while cond_fun(val):
            val = body_fun(val)
        return val

    @staticmethod
    def fori_loop(lower, upper, body_fun, init):
        val = init
        for i in range(lower, upper):
            val = body_fun(i, val)
        return val

    @staticmethod
    def scan(f, init, xs):
        carry, ys = init, []
        for x in xs:
            carry, y = f(carry, x)
            ys.append(y)
        return carry, np.stack(ys)


class Lib:
    """``lax`` + ``numpy`` of one library, and a bounded while loop: xform's own
    ``max_steps``; for JAX's reverse mode the equivalent ``fori_loop`` over ``cond``."""

    def __init__(self, lax, np_, while_as_fori=False):
        self.lax, self.np, self.while_as_fori = lax, np_, while_as_fori

    def while_loop(self, cond_fun, body_fun, init, bound):
        if self.lax is xl:
            return xl.while_loop(cond_fun, body_fun, init, max_steps=bound)
        if self.while_as_fori:
            lax = self.lax
            return lax.fori_loop(0, bound, lambda _, s: lax.cond(cond_fun(s), body_fun,
                                                                  lambda s: s, s), init)
        return self.lax.while_loop(cond_fun, body_fun, init)


XF, JX, JXR, PY = Lib(xl, xnp), Lib(jax.lax, jnp), Lib(jax.lax, jnp, True), Lib(PyLoops, np)


# --- the programs: f(x: f32[3], w: f32[]) -> f32[...] --------------------------------------

def scan_in_cond_in_while(lib):
    L, np_ = lib.lax, lib.np

    def f(x, w):
        def scan_branch(v):
            def step(c, xi):
                c = np_.sin(c) * w + xi
                return c, c * xi
            c, ys = L.scan(step, v[0], v)
            return v * w + ys + c

        def body(s):
            i, v = s
            return i + 1, L.cond(i % 2 == 0, scan_branch, lambda v: np_.cos(v) * w, v)

        def more(s):   # value-dependent: under vmap the trip counts differ
            return (s[0] < 4) & (np_.sum(s[1] * s[1]) < 6.0)
        return lib.while_loop(more, body, (0, x), bound=4)[1]
    return f


def cond_in_scan(lib):
    L, np_ = lib.lax, lib.np

    def f(x, w):
        def step(c, xi):
            c = L.cond(xi > 0, lambda c: c * w + xi, lambda c: np_.sin(c) - xi * w, c)
            return c, c * c
        c, ys = L.scan(step, w, x)
        return ys + c
    return f


def fori_in_scan(lib):
    L, np_ = lib.lax, lib.np

    def f(x, w):
        def step(c, xi):
            c = L.fori_loop(0, 3, lambda i, c: np_.sin(c) * w + xi * i, c)
            return c, c * xi
        return L.scan(step, w, x)[1]
    return f


def while_in_cond(lib):
    L, np_ = lib.lax, lib.np

    def f(x, w):
        def grow(v):
            def more(s):
                return (s[0] < 5) & (np_.max(np_.abs(s[1])) < 3.0)
            return lib.while_loop(more, lambda s: (s[0] + 1, s[1] * 1.5 + w), (0, v), bound=5)[1]
        return L.cond(np_.sum(x) > 0, grow, lambda v: np_.tanh(v) * w, x)
    return f


def scan_in_scan(lib):
    L, np_ = lib.lax, lib.np

    def f(x, w):
        def outer(c, xi):
            def inner(d, xj):
                d = np_.tanh(d * w + xj * xi)
                return d, d
            d, ys = L.scan(inner, c, x)
            return d + xi, np_.sum(ys)
        c, ys = L.scan(outer, w, x)
        return ys * c
    return f


PROGRAMS = {f.__name__: f for f in (scan_in_cond_in_while, cond_in_scan, fori_in_scan,
                                    while_in_cond, scan_in_scan)}
# inputs that send the branches / trip counts different ways
XS = np.array([[0.5, -0.3, 0.2], [-0.4, 0.6, -0.9], [1.2, 0.1, 0.3], [-0.1, -0.2, 0.25]],
              np.float32)
W = np.float32(0.7)


def close(got, want, tol=2e-5):
    la, lb = xform.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)
    assert len(la) == len(lb)
    for a, b in zip(la, lb):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype, (a.dtype, a.shape, b.dtype, b.shape)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


_jitted: dict = {}


def jitted(name, transform=lambda f: f):
    """One jitted function per (program, transform), reused across tests."""
    key = (name, transform)
    if key not in _jitted:
        _jitted[key] = xform.jit(transform(PROGRAMS[name](XF)))
    return _jitted[key]


def _grad(f):
    return xform.grad(lambda x, w: xnp.sum(f(x, w) ** 2), (0, 1))


# --- forward values -------------------------------------------------------------------------

@pytest.mark.parametrize("name", PROGRAMS)
def test_forward_vs_jax_and_python_eager_and_jit(name):
    fx, fj, fp = (PROGRAMS[name](lib) for lib in (XF, JX, PY))
    for x in XS:
        want = fj(x, W)
        close(fp(x.astype(np.float64), np.float64(W)).astype(np.float32), want, tol=1e-4)
        close(fx(x, W), want)
        close(jitted(name)(x, W), want)


# --- JVP ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PROGRAMS)
def test_jvp_vs_jax(name):
    fx, fj = PROGRAMS[name](XF), PROGRAMS[name](JX)
    tx, tw = np.array([0.3, -1.0, 0.5], np.float32), np.float32(0.8)
    for x in XS[:2]:
        want = jax.jvp(fj, (x, W), (tx, tw))
        close(xform.jvp(fx, (x, W), (tx, tw)), want, tol=1e-4)
    close(xform.jvp(jitted(name), (XS[2], W), (tx, tw)), jax.jvp(fj, (XS[2], W), (tx, tw)),
          tol=1e-4)


# --- reverse mode ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", PROGRAMS)
def test_grad_vs_jax(name):
    fj = PROGRAMS[name](JXR)    # JAX: the bounded while as fori_loop + cond
    gj = jax.jit(jax.grad(lambda x, w: jnp.sum(fj(x, w) ** 2), (0, 1)))
    gx = jitted(name, _grad)
    for x in XS:
        close(gx(x, W), gj(x, W), tol=1e-4)
    close(_grad(PROGRAMS[name](XF))(XS[1], W), gj(XS[1], W), tol=1e-4)   # eager


def test_grad_when_the_loop_state_starts_constant():
    """The state starts from constants and depends on the parameter only after a step: its
    tangent starts as a known zero, and the backward loop must still transpose it."""
    def mk(lib):
        L, np_ = lib.lax, lib.np

        def f(p):
            def step(s, t):
                x, v = s
                return (x + 0.1 * v, v + 0.1 * (np_.cos(t) - p * x)), x
            init = (np_.asarray(1.0, np_.float32), np_.asarray(0.0, np_.float32))
            _, xs = L.scan(step, init, np_.arange(6, dtype=np_.float32))
            n, y = lib.while_loop(lambda s: s[0] < 4, lambda s: (s[0] + 1, np_.sin(s[1]) * p),
                                  (0, np_.asarray(0.5, np_.float32)), bound=4)
            return np_.sum(xs) + y
        return f
    want = jax.grad(mk(JXR))(np.float32(2.0))
    close(xform.grad(mk(XF))(np.float32(2.0)), want)
    close(xform.jit(xform.grad(mk(XF)))(np.float32(2.0)), want)


def test_grad_through_while_needs_max_steps_even_when_nested():
    def f(x):
        def grow(v):
            return xl.while_loop(lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] * 2.0),
                                 (0, v))[1]
        return xnp.sum(xl.cond(xnp.sum(x) > 0, grow, lambda v: v, x))
    with pytest.raises(TypeError, match="max_steps"):
        xform.grad(f)(XS[0])


# --- vmap -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PROGRAMS)
def test_vmap_vs_loop_of_calls(name):
    """Batched x: the cond predicates and while trip counts differ across the batch."""
    fx = PROGRAMS[name](XF)
    f = jitted(name)
    want = np.stack([np.asarray(f(x, W)) for x in XS])
    close(xform.vmap(fx, (0, None))(XS, W), want)
    close(xform.jit(xform.vmap(fx, (0, None)))(XS, W), want)
    close(xform.vmap(fx, (0, None))(XS, W), jax.vmap(PROGRAMS[name](JX), (0, None))(XS, W))


def test_vmap_batched_w_only_and_both():
    """Batching only w (the loop bounds stay unbatched) and both arguments."""
    fx = PROGRAMS["scan_in_cond_in_while"](XF)
    f = jitted("scan_in_cond_in_while")
    ws = np.array([0.3, 0.7, 1.1, 1.6], np.float32)
    close(xform.vmap(fx, (None, 0))(XS[0], ws), np.stack([np.asarray(f(XS[0], w)) for w in ws]))
    close(xform.vmap(fx)(XS, ws), np.stack([np.asarray(f(x, w)) for x, w in zip(XS, ws)]))


@pytest.mark.parametrize("name", ["cond_in_scan", "while_in_cond"])
def test_vmap_of_grad_vs_loop(name):
    g = jitted(name, _grad)
    want = [np.stack(v) for v in zip(*[[np.asarray(a) for a in g(x, W)] for x in XS])]
    close(xform.vmap(_grad(PROGRAMS[name](XF)), (0, None))(XS, W), want, tol=1e-4)


# --- the IR of reverse-mode scans --------------------------------------------------------------

def _scans(jaxpr):
    return [e for e in jaxpr.eqns if e.prim.name == "scan"]


def test_grad_of_scan_does_not_stack_loop_invariant_residuals():
    """A matrix the body closes over (and values computed from it alone) is passed to the
    backward scan once, not stacked per step."""
    T, n = 7, 5
    m = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)

    def loss(w, x0):
        def step(x, _):
            w2 = w * w                     # loop-invariant, needed by the derivative
            return xnp.tanh(w2 @ x), xnp.sum(x)
        xT, s = xl.scan(step, x0, None, length=T)
        return xnp.sum(xT) + xnp.sum(s)
    x0 = np.ones(n, np.float32)
    jaxpr = xform.make_jaxpr(xform.grad(loss, (0, 1)))(m, x0).jaxpr
    fwd, bwd = _scans(jaxpr)
    for v in fwd.outvars:
        assert v.aval.shape[1:] != (n, n), f"a [{T}, {n}, {n}] residual is stacked"
    assert any(a.aval.shape == (n, n) for a in bwd.invars[:bwd.params["num_consts"]])

    def loss_j(w, x0):
        def step(x, _):
            return jnp.tanh((w * w) @ x), jnp.sum(x)
        xT, s = jax.lax.scan(step, x0, None, length=T)
        return jnp.sum(xT) + jnp.sum(s)
    close(xform.grad(loss, (0, 1))(m, x0), jax.grad(loss_j, (0, 1))(m, x0), tol=1e-4)


def test_grad_of_scan_prunes_unused_primal_outputs():
    """grad does not need the loss's own ys: the forward scan stops computing and storing them."""
    def loss(x0):
        def step(x, _):
            x = xnp.sin(x) * 0.9
            return x, xnp.sum(x * x)
        _, e = xl.scan(step, x0, None, length=6)
        return xnp.sum(e)
    jaxpr = xform.make_jaxpr(xform.grad(loss))(np.ones(4, np.float32)).jaxpr
    fwd = _scans(jaxpr)[0]
    assert not any(v.aval.shape == (6,) for v in fwd.outvars), fwd.outvars


def test_dce_drops_dead_loop_carries_and_cond_outputs():
    def f(x):
        # b is carried but never returned and feeds nothing else: dropped
        i, a, b = xl.while_loop(lambda s: s[0] < 3,
                                lambda s: (s[0] + 1, s[1] * 2.0, s[2] + xnp.sin(s[1])),
                                (0, x, x))
        p, q = xl.cond(a[0] > 0, lambda v: (v + 1.0, xnp.exp(v)), lambda v: (v, v), a)
        return p
    x = np.array([0.5, -1.0], np.float32)
    jaxpr = xform.make_jaxpr(f)(x).jaxpr
    loop = [e for e in jaxpr.eqns if e.prim.name == "while"][0]
    branch = [e for e in jaxpr.eqns if e.prim.name == "cond"][0]
    assert len(loop.outvars) == 2 and len(branch.outvars) == 1
    assert not any(e.prim.name == "exp" for b in branch.params["branches"] for e in b.eqns)
    close(xform.jit(f)(x), jax.jit(lambda x: jnp.where(x[0] * 8 > 0, x * 8 + 1.0, x * 8))(x))
