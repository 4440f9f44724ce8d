"""``xform.numpy``: the NumPy API of ``jax.numpy``, composed from meta-operators.

Dtype promotion, weak Python scalars and x64 canonicalisation follow
``jax.numpy`` exactly (see primitives/dtypes.py); results are ``xform.Array``.
Functions whose output shape depends on values (``unique``, ``nonzero`` and the other
mask selections) take ``size=`` and, without it, raise a clear error under jit, as JAX
does.

This file only gathers the public names of the themed modules.  They import one another
in one direction (``A -> B``: B imports from A, never the reverse):

    _core -> _dtypes, _shape;  _shape -> _creation;  _dtypes, _creation -> _ufuncs
    _ufuncs -> _reductions -> _selection -> _indexing -> _editing;  _ufuncs -> _ranges
    _editing -> _linalg_ops -> _einsum;  _editing -> _sorting -> _polynomial
    _ranges, _linalg_ops, _polynomial -> _statistics;  _selection -> _misc
    fft (on _editing) and linalg (on _linalg_ops, _sorting) sit on top;
    _fitting (polyfit, on linalg and _polynomial) above them, and _ufunc_objects (the
    ufunc objects that replace ``add``, ``multiply``, ... in this namespace) beside it.

``_array_api`` (``__array_api_version__``, ``__array_namespace_info__``, ``to_device``:
what the array API standard asks beyond functions; this module is the namespace that
``x.__array_namespace__()`` returns) imports none of them either.
``_methods`` imports none of them: ``install`` below gives ``Array`` and ``Tracer`` their
operators and methods, which look the functions up in this package.
"""
from __future__ import annotations

import sys as _sys

# names xform.numpy has always exposed, kept so that its namespace does not change
import builtins  # noqa: F401
import collections  # noqa: F401
import math  # noqa: F401
import operator  # noqa: F401

from .. import lax
from ..core import Array, Tracer  # noqa: F401

from ._core import *  # noqa: F401,F403
from ._dtypes import *  # noqa: F401,F403
from ._shape import *  # noqa: F401,F403
from ._creation import *  # noqa: F401,F403
from ._ufuncs import *  # noqa: F401,F403
from ._reductions import *  # noqa: F401,F403
from ._ranges import *  # noqa: F401,F403
from ._selection import *  # noqa: F401,F403
from ._indexing import take, take_along_axis  # noqa: F401
from ._editing import *  # noqa: F401,F403
from ._linalg_ops import *  # noqa: F401,F403
from ._einsum import einsum, einsum_path  # noqa: F401
from ._sorting import *  # noqa: F401,F403
from ._polynomial import *  # noqa: F401,F403
from ._statistics import *  # noqa: F401,F403
from ._misc import *  # noqa: F401,F403
from . import fft, linalg  # noqa: F401
from ._fitting import polyfit  # noqa: F401
# add, multiply, ... become ufunc objects (add.reduce, multiply.outer, add.at)
from ._ufunc_objects import *  # noqa: F401,F403
from . import _array_api, _methods, _ufuncs
# the array API standard: x.__array_namespace__() is this module (docs/design.md)
from ._array_api import __array_api_version__, __array_namespace_info__  # noqa: F401

# lax.reduce_window recognises these three as its sum/max/min monoids
for _fn, _variant in ((add, "reduce_window_sum"), (maximum, "reduce_window_max"),  # noqa: F405
                     (minimum, "reduce_window_min")):  # noqa: F405
    lax.register_window_monoid(_fn._call, _variant)
    lax.register_window_monoid(_fn, _variant)
del _fn, _variant
# x + y, x[i], x.at[i], x.sum(), ... on Array and Tracer (x[i] is _indexing.getitem)
_methods.install(_sys.modules[__name__])
