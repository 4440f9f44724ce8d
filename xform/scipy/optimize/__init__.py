"""``xform.scipy.optimize``: ``minimize`` (BFGS, experimental L-BFGS) and its
``OptimizeResults``, as ``jax.scipy.optimize``.  The strong-Wolfe line search both use is
``xform.scipy.optimize._line_search.line_search`` (JAX does not export it either)."""
from ._minimize import OptimizeResults, minimize

__all__ = ["OptimizeResults", "minimize"]
