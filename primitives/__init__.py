"""xform's language: dtypes, abstract values, the meta-operator set and the IR."""
from . import dtypes
from .core import (ShapedArray, Var, Literal, Eqn, Jaxpr, ClosedJaxpr, Primitive,
                   SourceInfo, pp_jaxpr)
from .check import check_jaxpr, JaxprTypeError
from . import ops
from .ops import GatherDimensionNumbers, ScatterDimensionNumbers, ConvDimensionNumbers
from . import collectives
from . import custom
from . import control
from . import remat
from . import linalg
from . import fft
from . import sharding
from . import shard_map
from . import callback
from . import checkify
from . import exported
