"""xform's backend: IR -> StableHLO text -> PJRT executable; device buffers.

* ``emitter``: the StableHLO text emitter (``lower_module``) and the ``RULES`` table;
* ``rules``: every meta-operator's lowering rule (importing it fills ``RULES``);
* ``compile``: jaxpr -> compiled PJRT executable, and running it;
* ``_jaxlib``: every private jaxlib import.
"""
from .emitter import lower_module, RULES
from .compile import Executable, compile_jaxpr, compile_single_op
from . import _jaxlib
