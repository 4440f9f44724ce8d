"""``xform.numpy`` as a Python array API namespace (the 2024.12 standard).

``x.__array_namespace__()`` returns ``xform.numpy`` itself, as ``jax.numpy`` does: its
functions already take the standard's names and keywords, so a second namespace would
only be a second copy of the same functions to keep in step.  This module holds what
the standard asks of a namespace beyond the functions: ``__array_api_version__``,
``__array_namespace_info__()`` (what the library can do: dtypes, devices), and the
array methods that need a device (``to_device``), which ``_methods`` installs on
``Array`` and ``Tracer``.
"""
from __future__ import annotations

import numpy as _onp

from primitives import dtypes as _dt
from primitives.sharding import SingleDeviceSharding
from lowering import _jaxlib

from ..api.devices import device_put as _device_put, local_devices as _local_devices
from ..core import Array, Tracer

__all__ = ["__array_api_version__", "__array_namespace_info__"]

__array_api_version__ = "2024.12"

# the versions whose namespace this one also is (each later one a superset)
_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12")

_KINDS = {
    "bool": ("bool",),
    "signed integer": ("int8", "int16", "int32", "int64"),
    "unsigned integer": ("uint8", "uint16", "uint32", "uint64"),
    "real floating": ("float32", "float64"),
    "complex floating": ("complex64", "complex128"),
}
_KINDS["integral"] = _KINDS["signed integer"] + _KINDS["unsigned integer"]
_KINDS["numeric"] = _KINDS["integral"] + _KINDS["real floating"] + _KINDS["complex floating"]


def namespace(api_version, jnp):
    """``x.__array_namespace__(api_version=...)``: ``jnp`` (xform.numpy) for a version
    it implements, else the standard's ``ValueError``."""
    if api_version is not None and api_version not in _VERSIONS:
        raise ValueError(f"__array_namespace__: api_version={api_version!r} is not a version "
                         f"of the array API standard that xform.numpy implements "
                         f"(it implements {', '.join(_VERSIONS)})")
    return jnp


def _check_device(device, what: str):
    """``device`` as a PJRT device of this process (None stays None); a one-device
    sharding counts as its device."""
    if device is None:
        return None
    if isinstance(device, SingleDeviceSharding):
        return device.device
    if device in _local_devices():
        return device
    raise ValueError(f"{what}: device={device!r} is not one of this process's devices "
                     f"({_local_devices()}); see __array_namespace_info__().devices()")


class Info:
    """What ``__array_namespace_info__()`` returns: the capabilities, dtypes and
    devices of ``xform.numpy``.  The dtypes follow the x64 switch at call time."""

    __slots__ = ()

    def capabilities(self) -> dict:
        # Boolean masks and unique/nonzero work eagerly but not under jit (their shape
        # depends on values), so, as jax.numpy, neither is claimed.
        return {"boolean indexing": False, "data-dependent shapes": False,
                "max dimensions": 64}

    def default_device(self):
        return _jaxlib.default_device()

    def devices(self) -> list:
        return _local_devices()

    def default_dtypes(self, *, device=None) -> dict:
        _check_device(device, "default_dtypes")
        return {"real floating": _dt.default_float(), "complex floating": _dt.default_complex(),
                "integral": _dt.default_int(), "indexing": _dt.default_int()}

    def dtypes(self, *, device=None, kind=None) -> dict:
        _check_device(device, "dtypes")
        if kind is None:
            names = ("bool",) + _KINDS["numeric"]
        else:
            names = []
            for k in kind if isinstance(kind, tuple) else (kind,):
                if not isinstance(k, str) or k not in _KINDS:
                    raise ValueError(f"dtypes: kind={k!r} is not one of the standard's kinds "
                                     f"{sorted(_KINDS)} (or a tuple of them)")
                names += [n for n in _KINDS[k] if n not in names]
        # without x64 the 64-bit types do not exist: asking for one gives its 32-bit kin
        return {n: _onp.dtype(n) for n in names
                if _dt.canonicalize(_onp.dtype(n)) == _onp.dtype(n)}

    def __repr__(self):
        return "xform.numpy.__array_namespace_info__()"


_INFO = Info()


def __array_namespace_info__() -> Info:
    return _INFO


def to_device(x, device, stream=None):
    """``x.to_device(device, stream=None)``: ``x`` on ``device`` (itself if it is there)."""
    if stream is not None:
        raise ValueError(f"to_device: stream={stream!r}: xform orders transfers itself; only "
                         f"stream=None is accepted")
    dev = _check_device(device, "to_device")
    if type(x) is Tracer:
        if dev is None or dev == _jaxlib.default_device():
            return x
        raise ValueError(f"to_device: under a transformation (jit, vmap, grad) an array can "
                         f"only stay on the default device ({_jaxlib.default_device()}), not "
                         f"move to {dev}: call to_device outside, or use jit's in_shardings")
    if dev is None or (type(x) is Array and x.device == dev):
        return x
    return _device_put(x, dev)
