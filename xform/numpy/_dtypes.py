"""Dtypes, scalar types and constants of ``xform.numpy``, and the predicates on dtypes
(``issubdtype``, ``isdtype``, ``iscomplexobj``, ...).  No array operations."""
from __future__ import annotations

import builtins

import numpy as _onp

from primitives import dtypes as _dt
from ..core import Array
from ._core import ARRAY_TYPES, asarray, typeinfo


class _ScalarMeta(type):
    """The type of ``xform.numpy.float32`` & co.: as in JAX, a scalar type is both a dtype
    (``np.dtype(jnp.float32)``, ``x.astype(jnp.float32)``, ``x.dtype == jnp.float32``,
    dict keys) and a callable that makes an array of that dtype: ``jnp.float32(1)`` is a
    0-d ``Array``, ``jnp.int32([1, 2])`` a 1-d one."""

    def __call__(cls, x=0):
        return asarray(x, dtype=cls.dtype)

    def __eq__(cls, other):
        if other is cls:
            return True
        if other is None:   # np.dtype(None) is float64, but None is no dtype
            return False
        try:
            return _onp.dtype(other) == cls.dtype
        except (TypeError, ValueError):   # not a dtype (ValueError: an arbitrary string)
            return False

    def __ne__(cls, other):
        return not cls.__eq__(other)

    def __hash__(cls):
        return hash(cls.dtype)

    def __instancecheck__(cls, inst):
        return isinstance(inst, cls.dtype.type)

    def __repr__(cls):
        return f"<class 'xform.numpy.{cls.__name__}'>"


def _scalar_type(name, dt):
    return _ScalarMeta(name, (), {"dtype": _onp.dtype(dt), "__module__": "xform.numpy"})


bool_ = _scalar_type("bool_", _dt.bool_)
int8, int16, int32, int64 = (_scalar_type(n, getattr(_dt, n))
                             for n in ("int8", "int16", "int32", "int64"))
uint8, uint16, uint32, uint64 = (_scalar_type(n, getattr(_dt, n))
                                 for n in ("uint8", "uint16", "uint32", "uint64"))
bfloat16, float16, float32, float64 = (_scalar_type(n, getattr(_dt, n))
                                       for n in ("bfloat16", "float16", "float32", "float64"))
complex64, complex128 = _scalar_type("complex64", _dt.complex64), \
    _scalar_type("complex128", _dt.complex128)
(float8_e4m3fn, float8_e5m2, float8_e4m3b11fnuz, float8_e4m3fnuz, float8_e5m2fnuz, float8_e3m4,
 float8_e4m3, int4, uint4) = (_scalar_type(d.name, d) for d in (*_dt.FLOAT8, *_dt.INT4))

__all__ = ["bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "bfloat16", "float16", "float32", "float64", "complex64", "complex128", "ndarray", "pi",
           "e", "inf", "nan", "euler_gamma", "newaxis", "dtype", "bool", "float_", "int_",
           "complex_", "iinfo", "finfo", "generic", "number", "inexact", "floating", "integer",
           "signedinteger", "unsignedinteger", "complexfloating", "issubdtype", "promote_types",
           "can_cast", "iscomplexobj", "isrealobj", "isscalar", "single", "double", "csingle",
           "cdouble", "uint", "character", "flexible", "ComplexWarning", "isdtype",
           "float8_e4m3fn", "float8_e5m2", "float8_e4m3b11fnuz", "float8_e4m3fnuz",
           "float8_e5m2fnuz", "float8_e3m4", "float8_e4m3", "int4", "uint4"]


ndarray = Array
pi, e, inf, nan, euler_gamma = _onp.pi, _onp.e, _onp.inf, _onp.nan, _onp.euler_gamma
newaxis = None
dtype = _onp.dtype
bool = bool_
float_ = float64
int_ = int64
complex_ = complex128
iinfo = _dt.iinfo
finfo = _dt.finfo
generic, number, inexact, floating, integer, signedinteger, unsignedinteger, complexfloating = (
    _onp.generic, _onp.number, _onp.inexact, _onp.floating, _onp.integer, _onp.signedinteger,
    _onp.unsignedinteger, _onp.complexfloating)


_ABSTRACT = (_onp.generic, _onp.number, _onp.inexact, _onp.floating, _onp.integer,
             _onp.signedinteger, _onp.unsignedinteger, _onp.complexfloating)


# the abstract types above each ml_dtypes type (NumPy calls most of them kind "V")
_ML_PARENTS = {"f": (_onp.floating, _onp.inexact, _onp.number, _onp.generic),
               "i": (_onp.signedinteger, _onp.integer, _onp.number, _onp.generic),
               "u": (_onp.unsignedinteger, _onp.integer, _onp.number, _onp.generic)}


def _ml_dtype(x):
    """The dtype of ``x`` if it is one of ml_dtypes' (bfloat16, float8_*, int4, uint4)."""
    if isinstance(x, type) and x in _ABSTRACT:
        return None
    try:
        dt = _onp.dtype(x)
    except TypeError:
        return None
    return dt if dt in _dt._ML_KINDS else None


def issubdtype(arg1, arg2):
    """NumPy's issubdtype, with ml_dtypes' types (bfloat16, float8_*, int4, uint4) in
    their places: floating, signed or unsigned integer."""
    ml = _ml_dtype(arg1)
    if ml is not None:
        return _ml_dtype(arg2) == ml or \
            any(arg2 is p for p in _ML_PARENTS[_dt._kind(ml)])
    return _onp.issubdtype(arg1, arg2)


def promote_types(a, b):
    return _dt.promote_types(a, b)


def can_cast(from_, to, casting="safe"):
    return _onp.can_cast(from_, to, casting)


def _inexact(dt):
    return _dt.to_inexact(dt)


def iscomplexobj(x):
    return _dt.is_complex(typeinfo(x)[0])


def isrealobj(x):
    return not iscomplexobj(x)


def isscalar(x):
    return _onp.isscalar(x) or (isinstance(x, ARRAY_TYPES) and x.ndim == 0)


single, double, csingle, cdouble, uint = float32, float64, complex64, complex128, uint64
character, flexible = _onp.character, _onp.flexible
ComplexWarning = _onp.exceptions.ComplexWarning


_KINDS = {"bool": lambda d: d == bool_, "signed integer": lambda d: _dt.is_int(d) and not
          _dt.is_unsigned(d), "unsigned integer": _dt.is_unsigned, "integral": _dt.is_int,
          "real floating": _dt.is_float, "complex floating": _dt.is_complex,
          "numeric": lambda d: d != bool_}


def isdtype(dtype, kind):
    """The array API's dtype-kind test: ``kind`` is a dtype, a kind name, or a tuple."""
    dt = _onp.dtype(dtype)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if isinstance(k, str):
            if k not in _KINDS:
                raise ValueError(f"isdtype: unknown kind {k!r}; expected one of "
                                 f"{sorted(_KINDS)}")
            if _KINDS[k](dt):
                return True
        elif dt == _onp.dtype(k):
            return True
    return False
