"""PRNG throughput: ``random.normal`` of 10^7 float32 values under jit.

Both libraries hash the same counters with Threefry-2x32 and map the bits to
floats the same way, so the results are bit-identical (checked first).  JAX on
CPU lowers the hash as a rolled 5-iteration loop; xform emits the 20 rounds
unrolled, which XLA fuses into one elementwise loop with the float mapping.
"""
from __future__ import annotations

import numpy as np

import jax
import jax.random as jr

import xform
import xform.random as xr

from .harness import Pair, benchmark

N = 10 ** 7


@benchmark("random.normal 10^7 f32, jit", target=1.0)
def normal_1e7(ctx):
    """``jit(lambda k: random.normal(k, (10**7,)))``: threefry bits + erf_inv, bit-identical."""
    n = N // 10 if ctx.quick else N
    xk, jk = xr.PRNGKey(0), jr.PRNGKey(0)
    xf = xform.jit(lambda k: xr.normal(k, (n,)))
    jf = jax.jit(lambda k: jr.normal(k, (n,)))
    xo, jo = np.asarray(xf(xk)), np.asarray(jf(jk))
    if xo.dtype != jo.dtype or xo.shape != jo.shape or not np.array_equal(xo, jo):
        raise AssertionError(f"random.normal: xform and JAX differ in "
                             f"{int(np.sum(xo != jo))} of {n} values")
    return Pair(xform=lambda: xf(xk), jax=lambda: jf(jk),
                details={"n": n, "bit_identical": True})
