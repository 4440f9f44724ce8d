"""``xform.custom_derivatives`` (as ``jax.custom_derivatives``): the public face of
``xform.api.custom_derivatives``."""
from .api.custom_derivatives import custom_jvp, custom_vjp  # noqa: F401
