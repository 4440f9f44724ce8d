"""Structured control flow (issue 5): the gradient of a long RK4 simulation written with
``lax.scan``, steady state and cold (trace + differentiate + compile + first run).

The model is a 64-dimensional nonlinear ODE ``dx/dt = tanh(W x + 0.5) - 0.5 x``
(W scaled so that the flow contracts: a chaotic one would make float rounding, not
the library, decide whether the two gradients agree) integrated with
10,000 RK4 steps; the loss is the sum of squares of the trajectory, differentiated with
respect to both ``W`` (f32[64, 64]) and the initial state.  Both libraries run the same
Python function in this process; the results are checked to agree first.
"""
from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp

import xform
import xform.numpy as xnp

from .bench_ad import _check
from .harness import Case, Pair, benchmark

DIM = 64
STEPS = 10_000
QUICK_STEPS = 1_000
DT = 0.01


def make_rk4_loss(np_mod, lax_mod, steps):
    """A fresh function object per call (no library can reuse a cached trace)."""
    def vector_field(x, w):
        return np_mod.tanh(w @ x + 0.5) - 0.5 * x

    def rk4_step(x, w):
        k1 = vector_field(x, w)
        k2 = vector_field(x + 0.5 * DT * k1, w)
        k3 = vector_field(x + 0.5 * DT * k2, w)
        k4 = vector_field(x + DT * k3, w)
        return x + (DT / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

    def loss(w, x0):
        def body(x, _):
            x = rk4_step(x, w)
            return x, np_mod.sum(x * x)
        _, energies = lax_mod.scan(body, x0, None, length=steps)
        return np_mod.sum(energies) / steps
    return loss


def _inputs(dim=DIM):
    rng = np.random.default_rng(5)
    w = (rng.standard_normal((dim, dim)) * (0.4 / np.sqrt(dim))).astype(np.float32)
    x0 = rng.standard_normal(dim).astype(np.float32)
    return (xnp.asarray(w), xnp.asarray(x0)), (jnp.asarray(w), jnp.asarray(x0))


def _xgrad(f):
    return xform.jit(xform.grad(f, argnums=(0, 1)))


def _jgrad(f):
    return jax.jit(jax.grad(f, argnums=(0, 1)))


def _steps(ctx):
    return QUICK_STEPS if ctx.quick else STEPS


@benchmark(f"jit(grad) {STEPS}-step RK4 scan, f32[{DIM}] state, steady", target=1.0)
def rk4_scan_grad_steady(ctx):
    """Steady-state call of the compiled gradient of an RK4 simulation (W: f32[64, 64])."""
    n = _steps(ctx)
    (xw, xx), (jw, jx) = _inputs()
    xf = _xgrad(make_rk4_loss(xnp, xform.lax, n))
    jf = _jgrad(make_rk4_loss(jnp, jax.lax, n))
    _check("rk4 scan grad", xf(xw, xx), jf(jw, jx), rtol=1e-3, atol=1e-5)
    return Pair(xform=lambda: xf(xw, xx), jax=lambda: jf(jw, jx),
                note=f"{n} steps" + (" (quick mode)" if ctx.quick else ""))


@benchmark(f"jit(grad) {STEPS}-step RK4 scan, f32[{DIM}] state, cold", target=0.8)
def rk4_scan_grad_cold(ctx):
    """A fresh function per sample: trace, differentiate, compile and run jit(grad(loss)) once."""
    n = _steps(ctx)
    (xw, xx), (jw, jx) = _inputs()
    return Pair(
        xform=Case(lambda f: _xgrad(f)(xw, xx),
                   setup=lambda: make_rk4_loss(xnp, xform.lax, n), cold=True),
        jax=Case(lambda f: _jgrad(f)(jw, jx),
                 setup=lambda: make_rk4_loss(jnp, jax.lax, n), cold=True),
        repeats=3 if ctx.quick else 5,
        note=f"{n} steps" + (" (quick mode)" if ctx.quick else ""))


WIDE_DIM = 256
WIDE_STEPS = 2_000


@benchmark(f"jit(grad) {WIDE_STEPS}-step RK4 scan, f32[{WIDE_DIM}] state, steady", target=1.0)
def rk4_scan_grad_wide(ctx):
    """The same model with a 256-dimensional state: the weight gradient (a sum of 4 outer
    products per step) dominates, so how reverse mode accumulates it shows."""
    n = WIDE_STEPS // 10 if ctx.quick else WIDE_STEPS
    (xw, xx), (jw, jx) = _inputs(WIDE_DIM)
    xf = _xgrad(make_rk4_loss(xnp, xform.lax, n))
    jf = _jgrad(make_rk4_loss(jnp, jax.lax, n))
    _check("wide rk4 scan grad", xf(xw, xx), jf(jw, jx), rtol=2e-3, atol=1e-5)
    return Pair(xform=lambda: xf(xw, xx), jax=lambda: jf(jw, jx),
                note=f"{n} steps; xform contracts the stacked per-step factors of W's "
                     f"cotangent after the loop, JAX adds an outer product per step")
