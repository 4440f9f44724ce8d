"""``xform.scipy``: the parts of ``jax.scipy`` built so far (``fft``, ``integrate``,
``linalg``, ``ndimage``, ``optimize``, ``signal``, ``special``, ``stats``)."""
from . import fft  # noqa: F401
from . import integrate  # noqa: F401
from . import linalg  # noqa: F401
from . import ndimage  # noqa: F401
from . import optimize  # noqa: F401
from . import signal  # noqa: F401
from . import special  # noqa: F401
from . import stats  # noqa: F401
