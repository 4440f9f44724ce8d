"""``xform.lax``: thin, typed emitters over the meta-operators (as ``jax.lax``).

* ``ops``: one function per meta-operator variant and its close relatives;
* ``convolution``: ``conv_general_dilated`` and its conveniences and shape arithmetic;
* ``control_flow``: ``cond``, ``switch``, ``while_loop``, ``fori_loop``, ``scan``, ``map``;
* ``parallel``: the named-axis collectives (``psum``, ``all_gather``, ...);
* ``linalg``: decompositions and solves;
* ``composites``: names built from the others (``cumsum``, ``top_k``, ``full``, ``reduce``, ...).

This is the layer the transforms' rules are written in: it imports only the core,
the passes and the IR below it.
"""
from .ops import *  # noqa: F401,F403
from .ops import (Literal, ShapedArray, Tracer, aval, aval_of_scalar,  # noqa: F401 - helpers
                  reduce_window_max, reduce_window_min, reduce_window_sum,
                  register_window_monoid, reshape_axis_into, reshape_axis_out_of, weak_literal,
                  canonical_precision)
from .ops import __all__ as _ops_all
from .convolution import *  # noqa: F401,F403
from . import convolution as _convolution
from .control_flow import cond, switch, while_loop, fori_loop, scan, map  # noqa: F401
from .associative import associative_scan  # noqa: F401
from .sharding import with_sharding_constraint  # noqa: F401
from .parallel import (psum, pmean, pmax, pmin, all_gather, axis_index, axis_size,  # noqa: F401
                       ppermute, psum_scatter, all_to_all)
from . import linalg  # noqa: F401
from . import composites as _composites
from .composites import *  # noqa: F401,F403

__all__ = list(_ops_all) + ["cond", "switch", "while_loop", "fori_loop", "scan", "map",
                            "associative_scan",
                            "psum", "pmean", "pmax", "pmin", "all_gather", "axis_index",
                            "axis_size", "ppermute", "psum_scatter", "all_to_all", "linalg",
                            *_composites.__all__, *_convolution.__all__]
