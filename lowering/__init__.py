"""xform's backend: IR -> StableHLO text -> PJRT executable; device buffers."""
from .stablehlo import lower_module, RULES
from .compile import Executable, compile_jaxpr, compile_single_op
from . import _jaxlib
