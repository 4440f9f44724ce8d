"""Every meta-operator's lowering rule, one module per group of meta-operators.

Importing this package registers the rules in ``lowering.emitter.RULES`` (each module
fills the table when imported); ``lowering.compile`` imports it, so compiling always
has every rule.  A rule module imports only ``lowering.emitter``, ``lowering._jaxlib``
and ``primitives``, never another rule module.

* ``elementwise``: unary/binary ops, compares, select, convert, bitcast, integer_pow
* ``structural``: iota, broadcast, reshape, transpose, slices, pad, concatenate, rev,
  gather/scatter, dot_general, reductions, argmin/argmax, reduce_window, conv, sort
* ``control``: cond / while / scan
* ``calls``: custom_jvp_call / custom_vjp_call / custom_vjp_lin, checkpoint and ``name``
* ``linalg``: LAPACK / cuSOLVER custom calls
* ``fft``: ``stablehlo.fft``
* ``collectives``: psum & co. outside a mapped axis (a clear NotImplementedError)
* ``sharding``: ``sdy.sharding_constraint``
* ``shard_map``: ``sdy.manual_computation``
* ``callback``: host callbacks (XLA's Python callback custom call)
* ``checkify``: ``check`` has none (a clear error; ``checkify`` removes it first)
* ``random``: ``rng_bit_generator`` (XLA's RngBitGenerator)
"""
from . import (callback, calls, checkify, collectives, control, elementwise, fft,  # noqa: F401
               linalg, random, shard_map, sharding, structural)
