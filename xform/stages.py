"""``xform.stages`` (as ``jax.stages``): the objects of ahead-of-time compilation.
Defined in ``xform/api/stages.py`` and ``xform/api/jit.py``.

* ``Wrapped``: what ``jit`` returns; ``Lowered`` / ``Compiled``: ``jit(f).lower(...)`` and
  its ``.compile()``; ``ArgInfo``: an entry of ``Lowered.args_info``.
* ``Traced``: ``jit(f).trace(...)`` returns a ``Lowered`` (it has ``jaxpr``, ``args_info``,
  ``out_info``, and ``.lower()`` returns it), so ``Traced`` names that class.
* ``CompilerOptions``: the type of compiler options (a dict of XLA option names)."""
from __future__ import annotations

from .api.jit import Jitted as Wrapped  # noqa: F401
from .api.stages import ArgInfo, Compiled, Lowered  # noqa: F401

Traced = Lowered
CompilerOptions = dict
