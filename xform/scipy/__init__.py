"""``xform.scipy``: the parts of ``jax.scipy`` built so far (``linalg``, ``optimize``,
``special``, ``stats``)."""
from . import linalg  # noqa: F401
from . import optimize  # noqa: F401
from . import special  # noqa: F401
from . import stats  # noqa: F401
