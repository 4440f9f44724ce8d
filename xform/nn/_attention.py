"""``nn.dot_product_attention``: scaled dot-product attention as ``jax.nn`` computes it with
its XLA implementation (logits accumulated in at least float32, the softmax in float32,
masked logits set to a large finite negative), with grouped-query heads.

Query heads are grouped over the key/value heads by a reshape (``N = K * G``) and both
contractions name the group axis in ``einsum``, instead of a ``vmap`` over it.
"""
from __future__ import annotations

import numpy as np

from primitives import dtypes as _dt

from .. import lax
from .. import numpy as jnp
from ..core import where as _where_msg


def _as_4d(t):
    t = jnp.asarray(t)
    return jnp.expand_dims(t, tuple(range(4 - t.ndim))) if t.ndim < 4 else t


def _check(t, shape, dtype, name):
    if t is None:
        return
    if t.ndim != len(shape) or any(s != -1 and n != s for n, s in zip(t.shape, shape)):
        want = tuple("*" if s == -1 else s for s in shape)
        raise ValueError(f"dot_product_attention: {name} must have shape {want}, got "
                         f"{t.shape}{_where_msg()}")
    if dtype is not None and t.dtype != dtype:
        raise ValueError(f"dot_product_attention: {name} must have dtype {np.dtype(dtype).name}, "
                         f"got {t.dtype}{_where_msg()}")


def _grouped(t, k, g):
    """(B, N, T, S) bias or mask -> (B, K, G, T, S); a single head broadcasts."""
    if t is None:
        return None
    tb, tn, tt, ts = t.shape
    if tn == 1:
        return jnp.expand_dims(t, 2)
    if tn != k * g:
        raise ValueError(f"dot_product_attention: bias/mask has {tn} heads; it needs 1 or "
                         f"the query's {k * g}{_where_msg()}")
    return jnp.reshape(t, (tb, k, g, tt, ts))


def dot_product_attention(query, key, value, bias=None, mask=None, *, scale=None,
                          is_causal=False, query_seq_lengths=None,
                          key_value_seq_lengths=None, local_window_size=None,
                          implementation=None, return_residual=False):
    """``softmax(q k^T * scale + bias, masked) v`` over (B, T, N, H) queries and (B, S, K, H)
    keys and values (batch dims may be left out), as ``jax.nn.dot_product_attention``."""
    if implementation not in (None, "xla"):
        if implementation == "cudnn":
            raise NotImplementedError("dot_product_attention: implementation='cudnn' is not "
                                      "available in xform; use None or 'xla'")
        raise ValueError(f"dot_product_attention: unsupported implementation "
                         f"{implementation!r}{_where_msg()}")
    out_shape = jnp.asarray(query).shape
    q, k, v = _as_4d(query), _as_4d(key), _as_4d(value)
    bias = None if bias is None else _as_4d(bias)
    mask = None if mask is None else _as_4d(mask)
    b, s, nk, h = k.shape
    _check(v, (b, s, nk, h), k.dtype, "value")
    _check(q, (b, -1, -1, h), k.dtype, "query")
    _check(mask, (-1,) * 4, np.dtype(bool), "mask")
    _check(bias, (-1,) * 4, None, "bias")
    q_len = None if query_seq_lengths is None else jnp.asarray(query_seq_lengths)
    kv_len = None if key_value_seq_lengths is None else jnp.asarray(key_value_seq_lengths)
    _check(q_len, (b,), np.dtype(np.int32), "query_seq_lengths")
    _check(kv_len, (b,), np.dtype(np.int32), "key_value_seq_lengths")
    t, n = q.shape[1], q.shape[2]
    if n % nk:
        raise ValueError(f"dot_product_attention: the number of query heads ({n}) must be "
                         f"a multiple of the key/value heads ({nk}){_where_msg()}")
    g = n // nk
    if isinstance(local_window_size, int):
        local_window_size = (local_window_size, local_window_size)
    scale = 1.0 / np.sqrt(h) if scale is None else scale

    logits_dtype = jnp.promote_types(q.dtype, np.float32)
    qg = jnp.reshape(q, (b, t, nk, g, h))
    logits = jnp.einsum("BTKGH,BSKH->BKGTS", qg, k, preferred_element_type=logits_dtype)
    logits = logits * jnp.asarray(scale, logits.dtype)
    if bias is not None:
        logits = (logits + _grouped(bias, nk, g)).astype(logits.dtype)

    keep = None

    def both(a, m):
        return m if a is None else jnp.logical_and(a, m)
    if mask is not None:
        keep = both(keep, _grouped(mask, nk, g))
    rows, cols = jnp.arange(t)[:, None], jnp.arange(s)[None, :]
    if is_causal:
        keep = both(keep, rows >= cols)
    if local_window_size is not None:
        left, right = local_window_size
        keep = both(keep, (rows <= cols + left) & (rows >= cols - right))
    if q_len is not None or kv_len is not None:
        pad = jnp.ones((b, t, s), bool)
        if q_len is not None:
            pad = pad & (jnp.arange(t)[None, :, None] < q_len[:, None, None])
        if kv_len is not None:
            pad = pad & (jnp.arange(s)[None, None, :] < kv_len[:, None, None])
        keep = both(keep, pad[:, None, None])
    if keep is not None:
        big = min(float(_dt.finfo(logits.dtype).max), float(np.finfo(np.float32).max))
        logits = jnp.where(keep, logits, jnp.asarray(-0.7 * big, logits.dtype))

    logits32 = logits.astype(np.float32)
    probs = _softmax(logits32).astype(k.dtype)
    encoded = jnp.einsum("BKGTS,BSKH->BTKGH", probs, v)
    encoded = jnp.reshape(encoded, (b, t, n, h))
    if q_len is not None:
        encoded = encoded * (jnp.arange(t)[None, :] < q_len[:, None])[:, :, None, None] \
            .astype(encoded.dtype)
    encoded = jnp.reshape(encoded, out_shape)
    if not return_residual:
        return encoded
    lse = _logsumexp(logits32).astype(k.dtype)                       # (B, K, G, T)
    lse = jnp.reshape(jnp.transpose(lse, (0, 3, 1, 2)), (b, t, n))
    return encoded, lax.stop_gradient(jnp.reshape(lse, out_shape[:-1]))


# ``nn.softmax`` and ``nn.logsumexp``, set by the ``xform.nn`` package when it imports this
# module (they live in the package's __init__, which imports this module).
softmax = logsumexp = None


def _softmax(x):
    return softmax(x, axis=-1)


def _logsumexp(x):
    return logsumexp(x, axis=-1)
