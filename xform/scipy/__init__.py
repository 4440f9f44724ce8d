"""``xform.scipy``: the parts of ``jax.scipy`` built so far (``linalg``, ``special``)."""
from . import linalg  # noqa: F401
from . import special  # noqa: F401
