"""``xform.scipy.integrate``: ``jax.scipy.integrate``'s one name, the trapezoid rule
(written once, in ``xform.numpy``)."""
from ..numpy import trapezoid

__all__ = ["trapezoid"]
