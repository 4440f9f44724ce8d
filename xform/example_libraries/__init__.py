"""``xform.example_libraries`` (as ``jax.example_libraries``): two small example libraries
written over xform's public API, ``optimizers`` (first-order optimizers as
``(init_fn, update_fn, get_params)`` triples, and step-size schedules) and ``stax``
(neural-network layers as ``(init_fun, apply_fun)`` pairs).

They sit above every other surface (they use ``numpy``, ``lax``, ``nn``, ``random`` and
``tree_util``); nothing in xform imports them.
"""
from . import optimizers, stax

__all__ = ["optimizers", "stax"]
