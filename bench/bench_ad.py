"""Automatic differentiation (issue 3): jit(grad) cold and steady, the size of the
gradient program, an MLP training step, a Hessian, and eager grad.

Every comparison runs the same Python function under xform and JAX in this
process and first checks that both compute the same values (rtol 1e-4).
"""
from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp

import xform
import xform.numpy as xnp

from .harness import Case, Measurement, Pair, benchmark

_RNG = np.random.default_rng(3)


def _f32(*shape, scale=1.0):
    return (_RNG.standard_normal(shape) * scale).astype(np.float32)


def _check(name, x_out, j_out, rtol=1e-4, atol=1e-5):
    """Leaf-by-leaf comparison of two pytrees (lists/tuples of arrays)."""
    xl, jl = jax.tree_util.tree_leaves(_to_np(x_out)), jax.tree_util.tree_leaves(_to_np(j_out))
    if len(xl) != len(jl):
        raise AssertionError(f"{name}: xform gave {len(xl)} leaves, JAX gave {len(jl)}")
    for i, (x, j) in enumerate(zip(xl, jl)):
        if x.shape != j.shape or x.dtype != j.dtype:
            raise AssertionError(f"{name} leaf {i}: xform gave {x.dtype}{list(x.shape)}, "
                                 f"JAX gave {j.dtype}{list(j.shape)}")
        np.testing.assert_allclose(x, j, rtol=rtol, atol=atol,
                                   err_msg=f"{name} leaf {i}: results differ")


def _to_np(t):
    if isinstance(t, (list, tuple)):
        return [_to_np(y) for y in t]
    return np.asarray(t)


# --- (a) jit(grad) of the 100-layer tanh net, cold and steady -------------------------------

N_LAYERS = 100
WIDTH = 8


def make_net_loss(np_mod):
    """A fresh function object per call (no library can reuse a cached trace)."""
    def loss(w, b, x):
        for i in range(N_LAYERS):
            x = np_mod.tanh(x * w[i] + b[i])
        return np_mod.sum(x)
    return loss


def _net_inputs():
    w, b, x = _f32(N_LAYERS, WIDTH, scale=0.5), _f32(N_LAYERS, WIDTH, scale=0.1), _f32(WIDTH)
    return [xnp.asarray(a) for a in (w, b, x)], [jnp.asarray(a) for a in (w, b, x)]


_NET = None


def _net():
    global _NET
    if _NET is None:
        _NET = _net_inputs()
    return _NET


def _xgrad(f):
    return xform.jit(xform.grad(f, argnums=(0, 1)))


def _jgrad(f):
    return jax.jit(jax.grad(f, argnums=(0, 1)))


@benchmark(f"jit(grad) {N_LAYERS}-layer tanh net, cold", target=0.8)
def grad_net_cold(ctx):
    """A fresh function per sample: trace, differentiate, compile and run jit(grad(loss)) once.

    Slow (seconds per sample, mostly XLA compiling the pad+add accumulation of the
    parameter gradients), so it takes at most 3 samples per side.
    """
    xa, ja = _net()
    _check("jit(grad) net", _xgrad(make_net_loss(xnp))(*xa), _jgrad(make_net_loss(jnp))(*ja))
    return Pair(
        xform=Case(lambda f: _xgrad(f)(*xa), setup=lambda: make_net_loss(xnp), cold=True),
        jax=Case(lambda f: _jgrad(f)(*ja), setup=lambda: make_net_loss(jnp), cold=True),
        repeats=1 if ctx.quick else 3,
        note="XLA compile dominates: both libraries transpose each w[i] / b[i] into a pad to "
             "f32[100, 8] and a chain of 198 adds (200 pads in both gradient programs)")


@benchmark(f"jit(grad) {N_LAYERS}-layer tanh net, steady", target=1.0)
def grad_net_steady(ctx):
    """Steady-state call of the compiled gradient of the 100-layer net (w, b: f32[100, 8])."""
    xa, ja = _net()
    xf, jf = _xgrad(make_net_loss(xnp)), _jgrad(make_net_loss(jnp))
    _check("jit(grad) net", xf(*xa), jf(*ja))
    return Pair(xform=lambda: xf(*xa), jax=lambda: jf(*ja))


# --- (b) size of the gradient program -------------------------------------------------------


@benchmark(f"make_jaxpr(grad) {N_LAYERS}-layer net: eqns xform / JAX", target=1.0, kind="time",
           unit="×")
def grad_net_eqns(ctx):
    """Equation count of make_jaxpr(grad(loss)) for the 100-layer net, xform relative to JAX."""
    xa, ja = _net()
    xj = xform.make_jaxpr(xform.grad(make_net_loss(xnp), argnums=(0, 1)))(*xa)
    jj = jax.make_jaxpr(jax.grad(make_net_loss(jnp), argnums=(0, 1)))(*ja)
    nx, nj = len(xj.jaxpr.eqns), len(jj.jaxpr.eqns)
    return Measurement(nx / nj, "×", details={"xform_eqns": nx, "jax_eqns": nj},
                       note=f"grad jaxpr: xform {nx} eqns, JAX {nj} eqns")


# --- (c) MLP training step ------------------------------------------------------------------

MLP_SIZES = (784, 1024, 1024, 10)
MLP_BATCH = 256
LR = 0.01


def make_train_step(np_mod, lib):
    def loss(params, x, y):
        *hidden, (w_out, b_out) = params
        for w, b in hidden:
            x = np_mod.maximum(x @ w + b, 0.0)
        logits = x @ w_out + b_out
        return -np_mod.mean(np_mod.sum(y * lib.nn.log_softmax(logits, axis=-1), axis=-1))

    def step(params, x, y):
        grads = lib.grad(loss)(params, x, y)
        return [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, grads)]
    return step


@benchmark("MLP train step 784-1024-1024-10, batch 256, SGD, jit", target=1.0)
def mlp_train_step(ctx):
    """One jitted SGD step (cross-entropy, grad of all (W, b), update) — matmul-bound."""
    sizes = MLP_SIZES
    host = [(_f32(m, n, scale=1 / np.sqrt(m)), _f32(n, scale=0.1))
            for m, n in zip(sizes[:-1], sizes[1:])]
    x = _f32(MLP_BATCH, sizes[0])
    y = np.eye(sizes[-1], dtype=np.float32)[_RNG.integers(0, sizes[-1], MLP_BATCH)]
    xp = [(xnp.asarray(w), xnp.asarray(b)) for w, b in host]
    jp = [(jnp.asarray(w), jnp.asarray(b)) for w, b in host]
    xx, xy, jx, jy = xnp.asarray(x), xnp.asarray(y), jnp.asarray(x), jnp.asarray(y)
    xf, jf = xform.jit(make_train_step(xnp, xform)), jax.jit(make_train_step(jnp, jax))
    _check("mlp train step", xf(xp, xx, xy), jf(jp, jx, jy), atol=1e-5)
    return Pair(xform=lambda: xf(xp, xx, xy), jax=lambda: jf(jp, jx, jy))


# --- (d) Hessian ----------------------------------------------------------------------------

HESS_N = 256


def make_hess_fn(np_mod):
    def f(x, a):
        return np_mod.sum(np_mod.tanh(a @ x))
    return f


@benchmark(f"jit(hessian) of sum(tanh(A @ x)), x f32[{HESS_N}]", target=1.0)
def hessian_256(ctx):
    """Steady-state jitted Hessian (forward-over-reverse) of a 256-dimensional scalar function."""
    a, x = _f32(HESS_N, HESS_N, scale=1 / np.sqrt(HESS_N)), _f32(HESS_N)
    xa, xx, ja, jx = xnp.asarray(a), xnp.asarray(x), jnp.asarray(a), jnp.asarray(x)
    xf = xform.jit(xform.hessian(make_hess_fn(xnp)))
    jf = jax.jit(jax.hessian(make_hess_fn(jnp)))
    _check("hessian", xf(xx, xa), jf(jx, ja), atol=1e-5)
    return Pair(xform=lambda: xf(xx, xa), jax=lambda: jf(jx, ja))


# --- (e) eager grad -------------------------------------------------------------------------


def make_small_fn(np_mod):
    def f(x):
        return np_mod.sum(np_mod.sin(x) * x ** 2)
    return f


@benchmark("eager grad of sum(sin(x) * x**2), f32[8], no jit", target=1.0)
def eager_grad(ctx):
    """grad without jit: trace the VJP and run it op by op on every call (dispatch-bound)."""
    x = _f32(WIDTH)
    xx, jx = xnp.asarray(x), jnp.asarray(x)
    xg, jg = xform.grad(make_small_fn(xnp)), jax.grad(make_small_fn(jnp))
    _check("eager grad", xg(xx), jg(jx))
    return Pair(xform=lambda: xg(xx), jax=lambda: jg(jx))
