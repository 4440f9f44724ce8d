"""``xform.experimental``: names JAX keeps under ``jax.experimental``."""
from ..api.callbacks import io_callback  # noqa: F401
from . import checkify  # noqa: F401

__all__ = ["checkify", "io_callback"]
