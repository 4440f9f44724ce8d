"""Checkpointing (issue 5, item 4): peak memory of the gradient of a 100,000-step scan
with a small carry (f32[64], so the carries stored for the backward pass dominate),
plain and with checkpointing (``xform.checkpoint_scan``: a scan of ``checkpoint``-ed
segments of ceil(sqrt(n)) steps; JAX: the same nesting written with ``jax.checkpoint``).

Memory is XLA's own account of the compiled program (arguments + outputs + temporaries
from the executable's compiled memory stats, i.e. its buffer assignment): it is
exact, deterministic and does not depend on what else the process holds.  Both
libraries are compiled for the CPU in this process, and their gradients are checked
against each other first.
"""
from __future__ import annotations

import math

import numpy as np

import jax
import jax.numpy as jnp

import xform
import xform.numpy as xnp
from lowering.compile import compile_jaxpr

from .harness import Measurement, benchmark

N_STEPS = 100_000
STATE = 64


def _step(np_mod):
    def step(c, _):
        return c + 1e-5 * np_mod.sin(c) + 1e-6, None
    return step


def _xform_loss(checkpointed):
    step = _step(xnp)

    def loss(c0):
        if checkpointed:
            c, _ = xform.checkpoint_scan(step, c0, None, length=N_STEPS)
        else:
            c, _ = xform.lax.scan(step, c0, None, length=N_STEPS)
        return xnp.sum(c * c)
    return loss


def _jax_checkpoint_scan(f, init, length):
    """The nesting xform.checkpoint_scan builds, written with jax.checkpoint."""
    seg = math.isqrt(length - 1) + 1
    n_outer, rem = divmod(length, seg)

    def segment(steps):
        return jax.checkpoint(lambda c: jax.lax.scan(f, c, None, length=steps)[0])
    c, _ = jax.lax.scan(lambda c, _: (segment(seg)(c), None), init, None, length=n_outer)
    return segment(rem)(c) if rem else c


def _jax_loss(checkpointed):
    step = _step(jnp)

    def loss(c0):
        if checkpointed:
            c = _jax_checkpoint_scan(step, c0, N_STEPS)
        else:
            c, _ = jax.lax.scan(step, c0, None, length=N_STEPS)
        return jnp.sum(c * c)
    return loss


def _peak(stats) -> int:
    # (the stats' own peak_memory_in_bytes is not filled in by the CPU client: a few
    # hundred bytes for a program whose temporaries take 25 MB)
    return int(stats.argument_size_in_bytes + stats.output_size_in_bytes +
               stats.temp_size_in_bytes)


def _xform_peak(checkpointed, c0):
    g = xform.jit(xform.grad(_xform_loss(checkpointed)))
    exe = compile_jaxpr(g.lower(c0).jaxpr.jaxpr)
    return _peak(exe.exe.get_compiled_memory_stats()), g(c0)


def _jax_peak(checkpointed, c0):
    g = jax.jit(jax.grad(_jax_loss(checkpointed)))
    return _peak(g.lower(c0).compile().memory_analysis()), g(c0)


@benchmark(f"grad of {N_STEPS:,}-step scan, f32[{STATE}] carry: peak memory checkpointed / "
           f"plain", target=0.1, kind="time", unit="×")
def checkpointed_scan_memory(ctx):
    """Peak memory of the compiled gradient with checkpoint_scan over that without."""
    c0 = np.linspace(-1.0, 1.0, STATE).astype(np.float32)
    x_plain, gx_plain = _xform_peak(False, c0)
    x_ck, gx_ck = _xform_peak(True, c0)
    j_plain, gj_plain = _jax_peak(False, c0)
    j_ck, gj_ck = _jax_peak(True, c0)
    for name, got in (("xform plain", gx_plain), ("xform checkpointed", gx_ck),
                      ("JAX checkpointed", gj_ck)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(gj_plain), rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name} gradient differs from JAX's plain scan")
    mib = 1 << 20
    return Measurement(
        x_ck / x_plain, "×", jax_value=j_ck / j_plain,
        details={"xform_plain_bytes": x_plain, "xform_checkpointed_bytes": x_ck,
                 "jax_plain_bytes": j_plain, "jax_checkpointed_bytes": j_ck},
        note=f"xform {x_plain / mib:.1f} MiB -> {x_ck / mib:.2f} MiB, "
             f"JAX {j_plain / mib:.1f} MiB -> {j_ck / mib:.2f} MiB")
