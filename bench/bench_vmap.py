"""Vectorisation (issue 4): per-example gradients and a batched simulation under vmap.

Every comparison runs the same Python function under xform and JAX in this
process and first checks that both compute the same values (rtol 1e-4).
"""
from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp

import xform
import xform.numpy as xnp

from .bench_ad import _check
from .harness import Case, Pair, benchmark

_RNG = np.random.default_rng(4)


def _f32(*shape, scale=1.0):
    return (_RNG.standard_normal(shape) * scale).astype(np.float32)


# --- (a) per-example gradients ----------------------------------------------------------------

PEX_SIZES = (64, 256, 256, 10)
PEX_BATCH = 128


def make_pex_grad(np_mod, lib):
    """vmap(grad(loss), in_axes=(None, 0, 0)); a fresh function object on every call."""
    def loss(params, x, y):          # one example: x f32[64], y one-hot f32[10]
        *hidden, (w_out, b_out) = params
        for w, b in hidden:
            x = np_mod.maximum(x @ w + b, 0.0)
        logits = x @ w_out + b_out
        return -np_mod.sum(y * lib.nn.log_softmax(logits))
    return lib.vmap(lib.grad(loss), in_axes=(None, 0, 0))


_PEX = None


def _pex_inputs():
    global _PEX
    if _PEX is None:
        s = PEX_SIZES
        host = [(_f32(m, n, scale=1 / np.sqrt(m)), _f32(n, scale=0.1)) for m, n in zip(s[:-1], s[1:])]
        x = _f32(PEX_BATCH, s[0])
        y = np.eye(s[-1], dtype=np.float32)[_RNG.integers(0, s[-1], PEX_BATCH)]
        xp = [(xnp.asarray(w), xnp.asarray(b)) for w, b in host]
        jp = [(jnp.asarray(w), jnp.asarray(b)) for w, b in host]
        _PEX = (xp, xnp.asarray(x), xnp.asarray(y)), (jp, jnp.asarray(x), jnp.asarray(y))
    return _PEX


@benchmark("per-example grads jit(vmap(grad)) MLP 64-256-256-10, batch 128, steady", target=1.0)
def per_example_grads_steady(ctx):
    """Steady-state call of jit(vmap(grad(loss), in_axes=(None, 0, 0))): batched matmuls."""
    xa, ja = _pex_inputs()
    xf, jf = xform.jit(make_pex_grad(xnp, xform)), jax.jit(make_pex_grad(jnp, jax))
    _check("per-example grads", xf(*xa), jf(*ja))
    return Pair(xform=lambda: xf(*xa), jax=lambda: jf(*ja))


@benchmark("per-example grads jit(vmap(grad)) MLP 64-256-256-10, batch 128, cold", target=0.8)
def per_example_grads_cold(ctx):
    """A fresh function per sample: trace, grad, vmap, compile and run once."""
    xa, ja = _pex_inputs()
    _check("per-example grads", xform.jit(make_pex_grad(xnp, xform))(*xa),
           jax.jit(make_pex_grad(jnp, jax))(*ja))
    return Pair(
        xform=Case(lambda f: xform.jit(f)(*xa), setup=lambda: make_pex_grad(xnp, xform), cold=True),
        jax=Case(lambda f: jax.jit(f)(*ja), setup=lambda: make_pex_grad(jnp, jax), cold=True))


# --- (b) batched simulation ---------------------------------------------------------------------

N_SIM = 1024
N_STEPS = 100
DT, G_OVER_L, DAMPING = 0.01, 9.81, 0.1


def make_pendulum(lib, np_mod):
    """100 explicit-Euler steps of a damped pendulum (lax.fori_loop), one initial condition."""
    def simulate(theta, omega):
        def step(_, state):
            th, om = state
            om = om + DT * (-G_OVER_L * np_mod.sin(th) - DAMPING * om)
            return th + DT * om, om
        return lib.lax.fori_loop(0, N_STEPS, step, (theta, omega))
    return simulate


@benchmark(f"jit(vmap) pendulum, {N_STEPS} Euler steps (fori_loop) × {N_SIM} initial conditions",
           target=1.0)
def vmap_pendulum(ctx):
    """vmap of a fori_loop simulation over 1,024 initial conditions, jitted: a batched while loop."""
    th0, om0 = _f32(N_SIM), _f32(N_SIM)
    xa, ja = (xnp.asarray(th0), xnp.asarray(om0)), (jnp.asarray(th0), jnp.asarray(om0))
    xf = xform.jit(xform.vmap(make_pendulum(xform, xnp)))
    jf = jax.jit(jax.vmap(make_pendulum(jax, jnp)))
    _check("pendulum", xf(*xa), jf(*ja))
    return Pair(xform=lambda: xf(*xa), jax=lambda: jf(*ja))
