"""``xform.dlpack`` (as ``jax.dlpack``): zero-copy exchange through DLPack.
``from_dlpack`` is ``xform.from_dlpack`` (xform/api/devices.py); an ``Array`` is
exported with the standard's ``__dlpack__`` / ``__dlpack_device__``."""
from __future__ import annotations

import numpy as np

from primitives import dtypes as _dtypes

from .api.devices import from_dlpack  # noqa: F401

# the dtypes DLPack carries to and from xform arrays (as jax.dlpack's)
SUPPORTED_DTYPES = frozenset(np.dtype(d) for d in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128")) | {np.dtype(_dtypes.bfloat16)}


def is_supported_dtype(dtype) -> bool:
    """Whether arrays of ``dtype`` can be exchanged through DLPack."""
    return np.dtype(dtype) in SUPPORTED_DTYPES
