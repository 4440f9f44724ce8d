"""``xform.scipy``: the parts of ``jax.scipy`` built so far (``linalg``)."""
from . import linalg  # noqa: F401
