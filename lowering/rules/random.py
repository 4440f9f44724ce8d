"""Lowering rule of ``rng_bit_generator`` (primitives/ops.py): XLA's RngBitGenerator.

The key is ``uint32[4]`` (JAX's form, which needs no 64-bit types) or ``uint64[2]``
(XLA's); a ``uint32[4]`` key is reinterpreted as the ``uint64[2]`` state XLA takes, and
the new state back, so the bits are the ones JAX gets from the same key."""
from __future__ import annotations

import numpy as np

from primitives import ops
from primitives.core import ShapedArray

from ..emitter import RULES, out_avals_of

_ALGORITHMS = {0: "DEFAULT", 1: "THREE_FRY", 2: "PHILOX"}


def _rng_bit_generator(ctx, eqn, args):
    key, = args
    key_aval = eqn.invars[0].aval
    new_key_aval, bits_aval = out_avals_of(eqn)
    u64, pairs = ShapedArray((2,), np.uint64), ShapedArray((2, 2), np.uint32)
    wide = key_aval.dtype == np.uint32
    if wide:
        key = ctx.op1("stablehlo.reshape", [key], [key_aval], pairs)
        key = ctx.op1("stablehlo.bitcast_convert", [key], [pairs], u64)
    attr = (f"rng_algorithm = #stablehlo<rng_algorithm "
            f"{_ALGORITHMS[eqn.params['algorithm']]}>")
    state, bits = ctx.op("stablehlo.rng_bit_generator", [key], [u64], [u64, bits_aval], attr)
    if wide:
        state = ctx.op1("stablehlo.bitcast_convert", [state], [u64], pairs)
        state = ctx.op1("stablehlo.reshape", [state], [pairs], new_key_aval)
    return [state, bits]


RULES[ops.rng_bit_generator] = _rng_bit_generator
