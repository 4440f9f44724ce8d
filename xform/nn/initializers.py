"""``xform.nn.initializers``: parameter initialisers with ``jax.nn.initializers``' semantics.

An initializer is ``init(key, shape, dtype=...) -> array``; for the same key the values
equal JAX's (the samplers are those of ``xform.random``, which reproduce
``jax.random`` bit for bit).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from primitives import dtypes as _dt

from .. import numpy as jnp
from .. import random

__all__ = ["zeros", "ones", "constant", "uniform", "normal", "truncated_normal",
           "variance_scaling", "glorot_uniform", "glorot_normal", "xavier_uniform",
           "xavier_normal", "lecun_uniform", "lecun_normal", "he_uniform", "he_normal",
           "kaiming_uniform", "kaiming_normal"]


def _dtype(dtype):
    return _dt.default_float() if dtype is None else _dt.canonicalize(np.dtype(dtype))


def _const(value, dtype):
    """``jnp.array(value, dtype)`` (host conversion, then a device array)."""
    a = np.asarray(value).astype(dtype)
    if a.dtype.kind == "V":    # bfloat16 & co.
        return jnp.astype(jnp.asarray(a.astype(np.float32)), dtype)
    return jnp.asarray(a)


def zeros(key, shape, dtype=None):
    """An initializer that returns zeros (``key`` is ignored)."""
    return jnp.zeros(shape, _dtype(dtype))


def ones(key, shape, dtype=None):
    """An initializer that returns ones (``key`` is ignored)."""
    return jnp.ones(shape, _dtype(dtype))


def constant(value, dtype=None):
    """An initializer that fills with ``value``."""
    def init(key, shape, dtype=dtype):
        return jnp.full(shape, value, dtype=_dtype(dtype))
    return init


def uniform(scale=1e-2, dtype=None):
    """Uniform on ``[0, scale)``."""
    def init(key, shape, dtype=dtype):
        dtype = _dtype(dtype)
        return random.uniform(key, shape, dtype) * _const(scale, dtype)
    return init


def normal(stddev=1e-2, dtype=None):
    """Normal with mean 0 and standard deviation ``stddev``."""
    def init(key, shape, dtype=dtype):
        dtype = _dtype(dtype)
        return random.normal(key, shape, dtype) * _const(stddev, dtype)
    return init


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0):
    """Normal truncated to ``(lower, upper)``, then times ``stddev``."""
    def init(key, shape, dtype=dtype):
        dtype = _dtype(dtype)
        return random.truncated_normal(key, lower, upper, shape, dtype) * _const(stddev, dtype)
    return init


def _compute_fans(shape, in_axis=-2, out_axis=-1, batch_axis=()):
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(f"Can't compute input and output sizes of a {len(shape)}-dimensional "
                         f"weights tensor with default in_axis. Must be at least 2D or specify "
                         f"in_axis explicitly.")

    def size(axes):
        return shape[axes] if isinstance(axes, int) else math.prod([shape[i] for i in axes])
    in_size, out_size, batch_size = size(in_axis), size(out_axis), size(batch_axis)
    receptive = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive, out_size * receptive


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(),
                     dtype=None):
    """Samples with variance ``scale / n`` (``n`` from ``mode``: fan_in, fan_out, fan_avg,
    fan_geo_avg) from a truncated normal, a normal or a uniform distribution."""
    def init(key, shape, dtype=dtype):
        shape = tuple(int(d) for d in shape)
        dtype = _dtype(dtype)
        fan_in, fan_out = _compute_fans(shape, in_axis, out_axis, batch_axis)
        if mode == "fan_in":
            denominator = fan_in
        elif mode == "fan_out":
            denominator = fan_out
        elif mode == "fan_avg":
            denominator = (fan_in + fan_out) / 2
        elif mode == "fan_geo_avg":
            denominator = (fan_in * fan_out) ** 0.5
        else:
            raise ValueError(f"invalid mode for variance scaling initializer: {mode}")
        variance = _const(scale / denominator, dtype)
        if _dt.is_complex(dtype):
            raise NotImplementedError("variance_scaling: complex dtypes are not supported; "
                                      "use a real dtype")
        if distribution == "truncated_normal":
            stddev = jnp.sqrt(variance) / _const(0.8796256610342398, dtype)
            return random.truncated_normal(key, -2, 2, shape, dtype) * stddev
        if distribution == "normal":
            return random.normal(key, shape, dtype) * jnp.sqrt(variance)
        if distribution == "uniform":
            return random.uniform(key, shape, dtype, -1) * jnp.sqrt(3 * variance)
        raise ValueError(f"invalid distribution for variance scaling initializer: "
                         f"{distribution}")
    return init


def _specialise(scale, mode, distribution):
    def make(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
        return variance_scaling(scale, mode, distribution, in_axis=in_axis, out_axis=out_axis,
                                batch_axis=batch_axis, dtype=dtype)
    return make


glorot_uniform = xavier_uniform = _specialise(1.0, "fan_avg", "uniform")
glorot_normal = xavier_normal = _specialise(1.0, "fan_avg", "truncated_normal")
lecun_uniform = _specialise(1.0, "fan_in", "uniform")
lecun_normal = _specialise(1.0, "fan_in", "truncated_normal")
he_uniform = kaiming_uniform = _specialise(2.0, "fan_in", "uniform")
he_normal = kaiming_normal = _specialise(2.0, "fan_in", "truncated_normal")
for _f, _n in ((glorot_uniform, "glorot_uniform"), (glorot_normal, "glorot_normal"),
               (lecun_uniform, "lecun_uniform"), (lecun_normal, "lecun_normal"),
               (he_uniform, "he_uniform"), (he_normal, "he_normal")):
    _f.__name__ = _n
