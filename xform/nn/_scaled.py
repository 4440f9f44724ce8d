"""``nn.scaled_matmul``: block-scaled matrix products (the MX/NVFP4 formats' arithmetic).

A composite: each operand is widened to float32 and multiplied by its scales, each scale
repeated over its block of the contracting axis, then one batched ``dot_general``.  So
it differentiates, batches and lowers with no rule of its own; on the CPU this is also
what JAX computes (cuDNN's fused kernel exists only on Blackwell GPUs).
"""
from __future__ import annotations

import numpy as np

from primitives import dtypes as _dt

from .. import lax
from .. import numpy as jnp
from ..core import where as _where_msg


def _check(lhs, rhs, lhs_scales, rhs_scales):
    shapes = [jnp.shape(x) for x in (lhs, rhs, lhs_scales, rhs_scales)]
    if any(len(s) != 3 for s in shapes):
        raise ValueError(f"scaled_matmul: lhs, rhs, lhs_scales and rhs_scales must be 3-d "
                         f"(B, M, K), (B, N, K), (B, M, K_a), (B, N, K_b); got shapes "
                         f"{', '.join(map(str, shapes))}{_where_msg()}")
    (b, m, k), (b2, n, k2), (bs, ms, ka), (bs2, ns, kb) = shapes
    if (b, k) != (b2, k2):
        raise ValueError(f"scaled_matmul: lhs {shapes[0]} and rhs {shapes[1]} must agree in "
                         f"the batch (B) and contracting (K) dimensions{_where_msg()}")
    if (bs, ms) != (b, m) or (bs2, ns) != (b, n):
        raise ValueError(f"scaled_matmul: lhs_scales {shapes[2]} must be (B, M, K_a) = "
                         f"({b}, {m}, ...) and rhs_scales {shapes[3]} (B, N, K_b) = "
                         f"({b}, {n}, ...){_where_msg()}")
    for name, kk in (("lhs_scales", ka), ("rhs_scales", kb)):
        if kk == 0 or k % kk:
            raise ValueError(f"scaled_matmul: {name} has {kk} blocks on the last axis, which "
                             f"does not divide K = {k}{_where_msg()}")
    return k // ka, k // kb


def _dequantized(x, scales, block):
    x = lax.convert_element_type(x, np.float32)
    s = lax.convert_element_type(scales, np.float32)
    return x * jnp.repeat(s, block, axis=-1, total_repeat_length=x.shape[-1])


def scaled_matmul(lhs, rhs, lhs_scales, rhs_scales, preferred_element_type=np.float32):
    """``einsum('BMK,BNK->BMN', lhs * repeat(lhs_scales), rhs * repeat(rhs_scales))``
    computed in float32 (as JAX's, whose ``precision`` is fixed to float32), returned
    as ``preferred_element_type``; block sizes are ``K // K_a`` and ``K // K_b``."""
    lhs, rhs, lhs_scales, rhs_scales = (jnp.asarray(x) for x in
                                        (lhs, rhs, lhs_scales, rhs_scales))
    out_dtype = _dt.canonicalize(np.dtype(preferred_element_type))
    block_a, block_b = _check(lhs, rhs, lhs_scales, rhs_scales)
    a = _dequantized(lhs, lhs_scales, block_a)
    b = _dequantized(rhs, rhs_scales, block_b)
    out = lax.dot_general(a, b, (((2,), (2,)), ((0,), (0,))),
                          preferred_element_type=np.float32)
    return lax.convert_element_type(out, out_dtype)
