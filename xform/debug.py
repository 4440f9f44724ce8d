"""``xform.debug``: see values inside traced and compiled code (``jax.debug``).

* ``print(fmt, *args, ordered=False, **kwargs)``: print ``fmt.format(...)`` with the
  runtime values of the arguments;
* ``callback(fn, *args, ordered=False, **kwargs)``: call ``fn`` on the host with them.

Both work eagerly, under ``jit``, inside ``scan``/``while_loop``/``cond``, under ``grad``
(once per call, with primal values, never again in the backward pass or when a
``checkpoint`` recomputes), and under ``vmap`` (once per batch element, in order).
``ordered=True`` keeps program order across loop steps and calls.
"""
from .api.callbacks import debug_callback as callback, debug_print as print  # noqa: F401

__all__ = ["callback", "print"]
