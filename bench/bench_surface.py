"""The user-facing surface: ``.at[].add`` scatter throughput under jit.

10^6 random int32 indices and float32 updates are added into a float32 array of
10^5 entries (many collisions: XLA's scatter must serialise or atomically add them).
The two libraries must agree up to the order in which colliding updates are summed.
"""
from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp

import xform
import xform.numpy as xnp

from .harness import Pair, benchmark


@benchmark(".at[].add scatter 10^6 updates into 10^5, jit", target=1.0)
def scatter_add_1e6(ctx):
    """``jit(lambda x, i, u: x.at[i].add(u))`` with random int32 indices."""
    n_updates = 10 ** 5 if ctx.quick else 10 ** 6
    size = 10 ** 5
    rng = np.random.default_rng(0)
    x = np.zeros(size, np.float32)
    idx = rng.integers(0, size, n_updates).astype(np.int32)
    upd = rng.standard_normal(n_updates).astype(np.float32)
    xf = xform.jit(lambda x, i, u: x.at[i].add(u))
    jf = jax.jit(lambda x, i, u: x.at[i].add(u))
    xa, xi, xu = xnp.asarray(x), xnp.asarray(idx), xnp.asarray(upd)
    ja, ji, ju = jnp.asarray(x), jnp.asarray(idx), jnp.asarray(upd)
    xo, jo = np.asarray(xf(xa, xi, xu)), np.asarray(jf(ja, ji, ju))
    np.testing.assert_allclose(xo, jo, rtol=1e-4, atol=1e-4)
    return Pair(xform=lambda: xf(xa, xi, xu), jax=lambda: jf(ja, ji, ju),
                details={"updates": n_updates, "size": size})
