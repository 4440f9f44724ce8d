"""Dtypes, x64 canonicalisation and JAX's type-promotion lattice.

Dtypes are plain NumPy dtype objects (bfloat16 comes from ml_dtypes).  A value
may be *weakly typed*: a Python scalar has no dtype of its own and takes the
dtype of whatever it meets (``x_f16 * 2.0`` stays float16), exactly as in JAX.
"""
from __future__ import annotations

import functools

import ml_dtypes
import numpy as np

from .lru import LRU

bool_ = np.dtype(np.bool_)
int8, int16, int32, int64 = (np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))
uint8, uint16, uint32, uint64 = (np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64))
bfloat16 = np.dtype(ml_dtypes.bfloat16)
float16, float32, float64 = (np.dtype(t) for t in (np.float16, np.float32, np.float64))
complex64, complex128 = np.dtype(np.complex64), np.dtype(np.complex128)
# narrow types (ml_dtypes): they promote only with Python scalars (and bool, for the
# integers), as in JAX; values of another type must be cast explicitly
(float8_e4m3fn, float8_e5m2, float8_e4m3b11fnuz, float8_e4m3fnuz, float8_e5m2fnuz, float8_e3m4,
 float8_e4m3) = (np.dtype(getattr(ml_dtypes, n)) for n in (
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3b11fnuz", "float8_e4m3fnuz", "float8_e5m2fnuz",
    "float8_e3m4", "float8_e4m3"))
int4, uint4 = np.dtype(ml_dtypes.int4), np.dtype(ml_dtypes.uint4)
FLOAT8 = (float8_e4m3fn, float8_e5m2, float8_e4m3b11fnuz, float8_e4m3fnuz, float8_e5m2fnuz,
          float8_e3m4, float8_e4m3)
INT4 = (int4, uint4)

SUPPORTED = (bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
             bfloat16, float16, float32, float64, complex64, complex128, *FLOAT8, *INT4)
_SUPPORTED_SET = frozenset(SUPPORTED)
# ml_dtypes' types NumPy calls kind "V": what they are
_ML_KINDS = {bfloat16: "f", **{d: "f" for d in FLOAT8}, int4: "i", uint4: "u"}


class TypePromotionError(ValueError, TypeError):
    """No implicit promotion between these dtypes (JAX's ``TypePromotionError``, a
    ``ValueError``; also a ``TypeError``, what a dtype mismatch raises elsewhere)."""

# --- x64 switch ---------------------------------------------------------------
# One module-level flag, read by canonicalize() (and by jit's signature key as
# ``dtypes._x64``); xform.config flips it through set_x64.
_x64 = False


def x64_enabled() -> bool:
    return _x64


def set_x64(on: bool) -> None:
    global _x64
    _x64 = bool(on)
    canonicalize.cache_clear()
    _join.cache_clear()


_NARROW = {int64: int32, uint64: uint32, float64: float32, complex128: complex64}


@functools.lru_cache(maxsize=None)
def canonicalize(dtype) -> np.dtype:
    """The dtype values of ``dtype`` are stored as: 64-bit types narrow when x64 is off."""
    dt = np.dtype(dtype)
    if dt not in _SUPPORTED_SET:
        raise TypeError(f"dtype {dt} is not supported by xform "
                        f"(supported: {', '.join(str(d) for d in SUPPORTED)})")
    return dt if _x64 else _NARROW.get(dt, dt)


# dtype -> kind letter as NumPy writes it, with bfloat16 counted as "f".  The dtype
# predicates below run for every traced op, so they are one dict lookup.
_KINDS: dict = {}


def _kind(dt) -> str:
    try:
        return _KINDS[dt]
    except (KeyError, TypeError):
        pass
    d = np.dtype(dt)
    k = _ML_KINDS.get(d, d.kind)
    try:
        _KINDS[dt] = k
    except TypeError:
        pass
    return k


def is_float(dt) -> bool:
    return _kind(dt) == "f"


def is_complex(dt) -> bool:
    return _kind(dt) == "c"


def is_inexact(dt) -> bool:
    return _kind(dt) in "fc"


def is_int(dt) -> bool:
    return _kind(dt) in "iu"


def is_unsigned(dt) -> bool:
    return _kind(dt) == "u"


def is_bool(dt) -> bool:
    return _kind(dt) == "b"


def default_int() -> np.dtype:
    return int64 if _x64 else int32


def default_float() -> np.dtype:
    return float64 if _x64 else float32


def default_complex() -> np.dtype:
    return complex128 if _x64 else complex64


def to_inexact(dt) -> np.dtype:
    """The float dtype an integer or bool dtype computes in when a function needs one
    (``sin``, ``/``, ``mean``): float32 up to 32 bits, float64 for 64-bit integers (as
    JAX, x64 or not: ``sin`` of an int32 array is float32 either way); inexact dtypes
    are themselves."""
    dt = np.dtype(dt)
    if is_inexact(dt):
        return dt
    return canonicalize(float64) if dt.itemsize == 8 else float32


def finfo(dt):
    return ml_dtypes.finfo(dt) if np.dtype(dt) in _ML_KINDS else np.finfo(dt)


def iinfo(dt):
    return ml_dtypes.iinfo(dt) if np.dtype(dt) in _ML_KINDS else np.iinfo(dt)


def supports_inf(dt) -> bool:
    """Whether ``dt`` has infinities (most float8 types do not: their range ends at
    ``finfo.max``)."""
    dt = np.dtype(dt)
    if is_complex(dt) or not is_float(dt):
        return is_complex(dt)
    with np.errstate(over="ignore", invalid="ignore"):   # doubling max overflows by design
        return bool(np.isinf(finfo(dt).max * 2))


def lowest(dt):
    """The identity of ``max`` in ``dt``: -inf, or the most negative finite value of a
    float without infinities (as JAX), the integer minimum, False."""
    dt = np.dtype(dt)
    if dt == bool_:
        return False
    if is_int(dt):
        return int(iinfo(dt).min)
    return -np.inf if supports_inf(dt) else float(finfo(dt).min)


def highest(dt):
    """The identity of ``min`` in ``dt`` (see ``lowest``)."""
    dt = np.dtype(dt)
    if dt == bool_:
        return True
    if is_int(dt):
        return int(iinfo(dt).max)
    return np.inf if supports_inf(dt) else float(finfo(dt).max)


def real_dtype(dt) -> np.dtype:
    dt = np.dtype(dt)
    return {complex64: float32, complex128: float64}.get(dt, dt)


def complex_dtype(dt) -> np.dtype:
    dt = np.dtype(dt)
    return complex128 if dt in (float64, complex128) else complex64


# --- promotion lattice ----------------------------------------------------------
# Nodes are dtypes plus three "weak" pseudo-types for Python int/float/complex.
WEAK_INT, WEAK_FLOAT, WEAK_COMPLEX = "int*", "float*", "complex*"


def _lattice(x64: bool) -> dict:
    return {
        bool_: [WEAK_INT],
        WEAK_INT: [uint8, int8, uint4, int4], uint4: [], int4: [],
        uint8: [int16, uint16], uint16: [int32, uint32],
        uint32: [int64, uint64] if x64 else [int32, uint64],
        uint64: [WEAK_FLOAT],
        int8: [int16], int16: [int32], int32: [int64], int64: [WEAK_FLOAT],
        WEAK_FLOAT: [*FLOAT8, bfloat16, float16, WEAK_COMPLEX], **{d: [] for d in FLOAT8},
        bfloat16: [float32], float16: [float32], float32: [float64, complex64],
        float64: [complex128],
        WEAK_COMPLEX: [complex64], complex64: [complex128], complex128: [],
    }


@functools.lru_cache(maxsize=2)
def _upper_bounds(x64: bool) -> dict:
    lattice = _lattice(x64)
    ubs = {}
    for node in lattice:
        seen, todo = {node}, [node]
        while todo:
            for up in lattice[todo.pop()]:
                if up not in seen:
                    seen.add(up)
                    todo.append(up)
        ubs[node] = seen
    return ubs


def _node(dtype, weak: bool):
    dt = np.dtype(dtype)
    if weak:
        k = _kind(dt)
        if k in "iu":
            return WEAK_INT
        if k == "f":
            return WEAK_FLOAT
        if k == "c":
            return WEAK_COMPLEX
    return dt


_WEAK_DEFAULT = {WEAK_INT: default_int, WEAK_FLOAT: default_float,
                 WEAK_COMPLEX: default_complex}


@functools.lru_cache(maxsize=4096)
def _join(nodes: tuple):
    """Least upper bound of lattice nodes (the lattice depends on the x64 flag)."""
    ubs = _upper_bounds(_x64)
    common = set.intersection(*(ubs[n] for n in nodes))
    lub = [c for c in common if all(o in ubs[c] for o in common)]
    if len(lub) != 1:   # only the narrow types have no common upper bound
        raise TypePromotionError(_no_promotion(nodes))
    return lub[0]


_PY_NAMES = {WEAK_INT: "int", WEAK_FLOAT: "float", WEAK_COMPLEX: "complex"}


def _no_promotion(nodes) -> str:
    names = ", ".join(repr(_PY_NAMES.get(n) or str(n)) for n in nodes)
    if any(n in FLOAT8 for n in nodes):
        what, cast = "8-bit floats promote only with Python scalars and integers", "float32"
    elif any(n in INT4 for n in nodes):
        what, cast = "4-bit integers promote only with Python ints and bools", "int32"
    else:  # pragma: no cover - every other pair of nodes has a join
        what, cast = "these types do not promote", "float32"
    return (f"dtypes ({names}) have no implicit promotion path: {what} (as in JAX, to "
            f"avoid unintended promotion); cast explicitly, e.g. x.astype('{cast}')")


def _promote(nodes: tuple) -> tuple:
    lub = _join(nodes)
    if lub in _WEAK_DEFAULT:
        return canonicalize(_WEAK_DEFAULT[lub]()), True
    return canonicalize(lub), False


# (x64, typed) -> result: promotion runs once per op while tracing, so hits read the
# plain dict ``_promoted`` (see primitives/lru.py)
_promoted_lru = LRU("dtype promotion")
_promoted = _promoted_lru.data


def promote(*typed: tuple) -> tuple:
    """Promote ``(dtype, weak)`` pairs; returns ``(dtype, weak)`` of the result."""
    key = (_x64, typed)
    try:
        return _promoted[key]
    except (KeyError, TypeError):
        pass
    nodes = tuple(_node(dt, w) for dt, w in typed)
    if len(set(nodes)) == 1 and not isinstance(nodes[0], str):
        out = canonicalize(nodes[0]), False
    else:
        out = _promote(nodes)
    try:
        _promoted_lru.put(key, out)
    except TypeError:  # an unhashable dtype-like: nothing to cache
        pass
    return out


def promote_types(a, b) -> np.dtype:
    """``jnp.promote_types``: the join of two strong dtypes, *not* canonicalised
    (``promote_types(bool, int64)`` is int64 even with x64 off, as in JAX)."""
    a, b = np.dtype(a), np.dtype(b)
    for dt in (a, b):
        canonicalize(dt)  # rejects unsupported dtypes
    if a == b:
        return a
    lub = _join((a, b))  # int64 + uint64 meet at float*: JAX answers float64
    return {WEAK_INT: int64, WEAK_FLOAT: float64, WEAK_COMPLEX: complex128}.get(lub, lub)


def python_scalar_dtype(x) -> np.dtype:
    """Dtype JAX gives a Python scalar (weakly typed unless it is a bool)."""
    if isinstance(x, bool):
        return bool_
    if isinstance(x, int):
        return default_int()
    if isinstance(x, float):
        return default_float()
    if isinstance(x, complex):
        return default_complex()
    raise TypeError(f"{type(x).__name__} is not a Python scalar")
