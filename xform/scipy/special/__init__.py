"""``xform.scipy.special``: ``jax.scipy.special``'s names.  They are written in
``xform.special``, a layer below ``random`` and ``nn`` so that those can use them too
(the gamma sampler's implicit derivative, ``lax.igamma``, ...)."""
from ...special import *  # noqa: F401,F403
from ...special import __all__  # noqa: F401
