"""``xform.numpy``: the NumPy API of ``jax.numpy``, composed from meta-operators.

Dtype promotion, weak Python scalars and x64 canonicalisation follow
``jax.numpy`` exactly (see primitives/dtypes.py); results are ``xform.Array``.
"""
from __future__ import annotations

import builtins
import collections
import math
import operator

import numpy as _onp

from primitives import dtypes as _dt
from primitives.dtypes import (bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
                               bfloat16, float16, float32, float64, complex64, complex128)

from .. import lax
from ..array import Array
from ..core import Tracer, where as _where_msg
from ._core import (asarray, astype, result_type, promote_dtypes, promote_dtypes_inexact,
                    promote_dtypes_numeric, broadcast_arrays_for, broadcast_shapes,
                    broadcast_to_shape, shape_of, canonicalize_axis, canonicalize_axes,
                    typeinfo, ARRAY_TYPES)

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


def _is_bf16(x) -> builtins.bool:
    if isinstance(x, type) and x in _ABSTRACT:
        return False
    try:
        return _onp.dtype(x) == bfloat16
    except TypeError:
        return False


def issubdtype(arg1, arg2):
    """NumPy's issubdtype, with bfloat16 counted as a floating type."""
    if _is_bf16(arg1):
        return _is_bf16(arg2) or arg2 in (_onp.floating, _onp.inexact, _onp.number, _onp.generic)
    return _onp.issubdtype(arg1, arg2)


def promote_types(a, b):
    return _dt.promote_types(a, b)


def can_cast(from_, to, casting="safe"):
    return _onp.can_cast(from_, to, casting)


# --- creation ----------------------------------------------------------------------------

def array(object, dtype=None, copy=True, ndmin=0):
    out = asarray(object, dtype)
    if ndmin > out.ndim:
        out = lax.reshape(out, (1,) * (ndmin - out.ndim) + out.shape)
    return out


def _shape_tuple(shape, op):
    if isinstance(shape, (int, _onp.integer)):
        shape = (shape,)
    try:
        shape = tuple(operator.index(d) for d in shape)
    except TypeError:
        raise TypeError(f"{op}: shape must be a tuple of ints, got {shape!r}{_where_msg()}") \
            from None
    if builtins.any(d < 0 for d in shape):
        raise ValueError(f"{op}: negative dimensions are not allowed, got {shape}{_where_msg()}")
    return shape


def full(shape, fill_value, dtype=None):
    shape = _shape_tuple(shape, "full")
    # as in JAX, a Python scalar fill with no dtype gives a weakly typed array
    fill = asarray(fill_value, dtype)
    return broadcast_to(fill, shape) if fill.shape != shape else fill


def zeros(shape, dtype=None):
    return full(shape, 0, dtype or _dt.default_float())


def ones(shape, dtype=None):
    return full(shape, 1, dtype or _dt.default_float())


def empty(shape, dtype=None):
    return zeros(shape, dtype)


def full_like(a, fill_value, dtype=None, shape=None):
    a_dt, a_weak = typeinfo(a)
    out = full(shape_of(a) if shape is None else shape, fill_value,
               a_dt if dtype is None else dtype)
    # with no dtype, the result is as weak as ``a`` (zeros_like(3) is weak, as in JAX)
    return lax.convert_element_type(out, a_dt, weak_type=True) \
        if dtype is None and a_weak else out


def zeros_like(a, dtype=None, shape=None):
    return full_like(a, 0, dtype, shape)


def ones_like(a, dtype=None, shape=None):
    return full_like(a, 1, dtype, shape)


def empty_like(a, dtype=None, shape=None):
    return zeros_like(a, dtype, shape)


def arange(start, stop=None, step=None, dtype=None):
    for v in (start, stop, step):
        if isinstance(v, Tracer):
            v.concrete("arange's start/stop/step (they fix the output shape)")
    if stop is None and step is None:
        start, stop = 0, start
    step = 1 if step is None else step
    vals = [builtins.float(v) if isinstance(v, Array) else v for v in (start, stop, step)]
    if dtype is None:
        dtype = result_type(*[v for v in (start, stop, step) if v is not None])
        if builtins.all(isinstance(v, (int, _onp.integer)) for v in (start, stop, step)):
            dtype = _dt.default_int()
    dtype = _dt.canonicalize(dtype)
    n = builtins.max(0, math.ceil((vals[1] - vals[0]) / vals[2]))
    if _dt.is_int(dtype) and builtins.all(isinstance(v, (int, _onp.integer)) for v in vals):
        ramp = lax.iota(dtype, n)
        return ramp * vals[2] + vals[0] if (vals[0], vals[2]) != (0, 1) else ramp
    return asarray(_onp.arange(vals[0], vals[1], vals[2], dtype=_onp.float64).astype(dtype))


def _inexact(dt):
    return dt if _dt.is_inexact(dt) else _dt.default_float()


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """JAX's formula ``start * (1 - t) + stop * t``: it hits both endpoints exactly in
    float32, and gives the same (floored) values as JAX for integer dtypes."""
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"linspace: number of samples, {num}, must be non-negative")
    dt = _inexact(result_type(start, stop)) if dtype is None else _dt.canonicalize(dtype)
    cdt = _inexact(dt)
    start, stop = astype(start, cdt), astype(stop, cdt)
    bshape = broadcast_shapes(start.shape, stop.shape)
    start, stop = broadcast_to(start, bshape), broadcast_to(stop, bshape)
    axis = canonicalize_axis(axis, len(bshape) + 1, "linspace")
    bounds = bshape[:axis] + (1,) + bshape[axis:]
    div = (num - 1) if endpoint else num
    if num > 1:
        delta = (stop - start) / asarray(div, cdt)
        rdt = _dt.real_dtype(cdt)
        t = astype(lax.iota(rdt, div) / asarray(div, rdt), cdt)
        t = reshape(t, [div if d == axis else 1 for d in range(len(bounds))])
        out = reshape(start, bounds) * (1 - t) + reshape(stop, bounds) * t
        if endpoint:
            out = concatenate([out, reshape(stop, bounds)], axis)
    elif num == 1:
        delta = asarray(_onp.nan if endpoint else stop - start, cdt)
        out = reshape(start, bounds)
    else:
        delta = full((), _onp.nan, cdt)
        out = zeros(bshape[:axis] + (0,) + bshape[axis:], cdt)
    if _dt.is_int(dt) and not _dt.is_int(out.dtype):
        out = floor(out)
    out = astype(out, dt)
    return (out, delta) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    return astype(power(base, linspace(start, stop, num, endpoint, axis=axis)),
                  dtype or result_type(float32 if not _dt.x64_enabled() else float64))


def eye(N, M=None, k=0, dtype=None):
    M = N if M is None else M
    dt = _dt.canonicalize(dtype or _dt.default_float())
    r = lax.broadcasted_iota(int32, (N, M), 0)
    c = lax.broadcasted_iota(int32, (N, M), 1)
    return lax.convert_element_type(lax.eq(c - r, _onp.int32(k)), dt)


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    M = N if M is None else M
    r = lax.broadcasted_iota(int32, (N, M), 0)
    c = lax.broadcasted_iota(int32, (N, M), 1)
    return lax.convert_element_type(lax.le(c, r + _onp.int32(k)),
                                    _dt.canonicalize(dtype or _dt.default_float()))


def meshgrid(*xi, indexing="xy", sparse=False, copy=True):
    xi = [ravel(asarray(x)) for x in xi]
    shape = [x.shape[0] for x in xi]
    if indexing == "xy" and len(xi) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xi):
        d = i
        if indexing == "xy" and len(xi) >= 2 and i < 2:
            d = 1 - i
        if sparse:
            s = [1] * len(xi)
            s[d] = x.shape[0]
            out.append(lax.reshape(x, s))
        else:
            out.append(lax.broadcast_in_dim(x, tuple(shape), (d,)))
    return out


# --- elementwise ---------------------------------------------------------------------------

def _elementwise(name, fn, inexact=False, numeric=False, real=False, int_fn=None,
                 bool_fn=None):
    """``numeric``: bools compute as ints; ``real``: complex operands are rejected;
    ``bool_fn``: what bool operands compute instead (``add`` is ``or`` on bools)."""
    promote = promote_dtypes_inexact if inexact else \
        promote_dtypes_numeric if numeric else promote_dtypes
    special = numeric or real

    def f(*args):
        if len(args) == 2 and int_fn is None and not special:  # hot path: two arrays, one type
            a, b = args
            ta, tb = type(a), type(b)
            if (ta is Array or ta is Tracer) and (tb is Array or tb is Tracer):
                aa, ba = a.aval, b.aval
                if aa.shape == ba.shape and aa.dtype == ba.dtype and \
                        (not inexact or _dt.is_inexact(aa.dtype)):
                    if bool_fn is not None and aa.dtype == _BOOL:
                        return bool_fn(a, b)
                    return fn(a, b)
        args = promote(*args)
        if real and _dt.is_complex(typeinfo(args[0])[0]):
            raise TypeError(f"{name} does not support complex-valued inputs{_where_msg()}")
        if len(args) > 1:
            args = broadcast_arrays_for(name, *args)
        if int_fn is not None and not _dt.is_inexact(typeinfo(args[0])[0]):
            return int_fn(*args)
        if bool_fn is not None and _dt.is_bool(typeinfo(args[0])[0]):
            return bool_fn(*args)
        return fn(*args)
    f.__name__ = name
    f.__doc__ = f"Elementwise ``{name}`` with NumPy broadcasting and JAX dtype promotion."
    return f


_BOOL = _onp.dtype(bool)
add = _elementwise("add", lax.add, bool_fn=lax.bitwise_or)
subtract = _elementwise("subtract", lax.sub)
multiply = _elementwise("multiply", lax.mul, bool_fn=lax.bitwise_and)
true_divide = divide = _elementwise("true_divide", lax.div, inexact=True)
maximum = _elementwise("maximum", lax.max)
minimum = _elementwise("minimum", lax.min)
arctan2 = _elementwise("arctan2", lax.atan2, inexact=True)
nextafter = _elementwise("nextafter", lax.nextafter, inexact=True)
bitwise_and = _elementwise("bitwise_and", lax.bitwise_and)
bitwise_or = _elementwise("bitwise_or", lax.bitwise_or)
bitwise_xor = _elementwise("bitwise_xor", lax.bitwise_xor)
left_shift = _elementwise("left_shift", lax.shift_left, numeric=True)
equal = _elementwise("equal", lax.eq)
not_equal = _elementwise("not_equal", lax.ne)
less = _elementwise("less", lax.lt)
less_equal = _elementwise("less_equal", lax.le)
greater = _elementwise("greater", lax.gt)
greater_equal = _elementwise("greater_equal", lax.ge)
logical_and = _elementwise("logical_and", lambda x, y: lax.bitwise_and(_to_bool(x), _to_bool(y)))
logical_or = _elementwise("logical_or", lambda x, y: lax.bitwise_or(_to_bool(x), _to_bool(y)))
logical_xor = _elementwise("logical_xor", lambda x, y: lax.bitwise_xor(_to_bool(x), _to_bool(y)))


def _to_bool(x):
    return x if typeinfo(x)[0] == bool_ else lax.ne(x, lax.weak_literal(0, typeinfo(x)[0]))


def logical_not(x):
    return lax.bitwise_not(_to_bool(asarray(x)))


def right_shift(x, y):
    x, y = broadcast_arrays_for("right_shift", *promote_dtypes_numeric(x, y))
    if _dt.is_unsigned(typeinfo(x)[0]):
        return lax.shift_right_logical(x, y)
    return lax.shift_right_arithmetic(x, y)


def _int_floor_divide(x, y):
    q = lax.div(x, y)
    if _dt.is_unsigned(typeinfo(x)[0]):
        return q
    zero = lax.weak_literal(0, typeinfo(x)[0])
    fix = lax.bitwise_and(lax.ne(lax.sign(x), lax.sign(y)), lax.ne(lax.rem(x, y), zero))
    return lax.select(fix, lax.sub(q, lax.weak_literal(1, typeinfo(x)[0])), q)


def _float_floor_divide(x, y):
    return lax.floor(lax.div(x, y)) if not _dt.is_complex(typeinfo(x)[0]) else lax.div(x, y)


floor_divide = _elementwise("floor_divide", _float_floor_divide, numeric=True, real=True,
                            int_fn=_int_floor_divide)


def _nonzero_divisor(y):
    """As in JAX, an integer ``x % 0`` is 0: the divisor 0 is replaced by 1."""
    dt = typeinfo(y)[0]
    if _dt.is_inexact(dt):
        return y
    return where(equal(y, 0), ones_like(y), y)


def _remainder(x, y):
    y = _nonzero_divisor(y)
    r = lax.rem(x, y)
    dt = typeinfo(x)[0]
    if _dt.is_unsigned(dt):
        return r
    zero = lax.weak_literal(0, dt)
    fix = lax.bitwise_and(lax.ne(r, zero), lax.ne(lax.lt(r, zero), lax.lt(y, zero)))
    return lax.select(fix, lax.add(r, y), r)


remainder = mod = _elementwise("remainder", _remainder, numeric=True, real=True)
fmod = _elementwise("fmod", lambda x, y: lax.rem(x, _nonzero_divisor(y)), numeric=True,
                    real=True)


def divmod(x, y):
    return floor_divide(x, y), remainder(x, y)


def _power(x, y):
    return lax.pow(x, y)


def power(x, y):
    if isinstance(y, (int, _onp.integer)) and not isinstance(y, builtins.bool) and \
            type(x) is not int:
        x = asarray(x) if not isinstance(x, ARRAY_TYPES) else x
        if _dt.is_int(typeinfo(x)[0]) and y < 0:
            raise ValueError("Integers to negative integer powers are not allowed.")
        return lax.integer_pow(x, builtins.int(y))
    y_strong_int = _dt.is_int(typeinfo(y)[0]) and not typeinfo(y)[1]
    x, y = broadcast_arrays_for("power", *promote_dtypes_numeric(x, y))
    dt = typeinfo(x)[0]
    if _dt.is_int(dt) or dt == bool_:
        return _int_power(x, y)
    out = lax.pow(x, y)
    if y_strong_int and out.weak_type:  # as in JAX, whose pow keeps an integer exponent
        out = lax.convert_element_type(out, out.dtype, weak_type=False)
    return out


def _int_power(x, y):
    """x ** y for integer arrays by square-and-multiply over the bits of y."""
    dt = typeinfo(x)[0]
    acc = ones_like(x) if shape_of(x) else lax.convert_element_type(asarray(1), dt)
    acc = broadcast_to(acc, broadcast_shapes(shape_of(x), shape_of(y)))
    base = x
    nbits = 8 * _onp.dtype(dt).itemsize
    one = lax.weak_literal(1, dt)
    for _ in range(nbits):
        bit = lax.ne(lax.bitwise_and(y, one), lax.weak_literal(0, dt))
        acc = lax.select(bit, lax.mul(acc, base), acc)
        base = lax.mul(base, base)
        y = lax.shift_right_logical(y, one)
    return acc


pow = power
def float_power(x, y):
    return power(*promote_dtypes_inexact(x, y))


def _unary(name, fn, inexact=False, int_fn=None):
    def f(x):
        x = asarray(x) if type(x) not in (Array, Tracer) else x
        if inexact and int_fn is None:
            a = x.aval   # the usual case, a float array that promotion returns as it is:
            if _dt.is_inexact(a.dtype) and _dt.promote((a.dtype, a.weak_type))[0] == a.dtype:
                return fn(x)   # (not so for e.g. a weak float16, which becomes float32)
        if inexact:
            (x,) = promote_dtypes_inexact(x)
        if int_fn is not None and not _dt.is_inexact(x.dtype):
            return int_fn(x)
        return fn(x)
    f.__name__ = name
    f.__doc__ = f"Elementwise ``{name}``."
    return f


negative = _unary("negative", lax.neg)  # bool is rejected, as in JAX
positive = _unary("positive", lambda x: x)
sign = _unary("sign", lax.sign)
floor = _unary("floor", lax.floor, int_fn=lambda x: x)
ceil = _unary("ceil", lax.ceil, int_fn=lambda x: x)
trunc = fix = _unary("trunc", lambda x: lax.select(lax.lt(x, lax.weak_literal(0, x.dtype)),
                                                    lax.ceil(x), lax.floor(x)),
                     int_fn=lambda x: x)
rint = _unary("rint", lambda x: lax.round(x, 1) if not _dt.is_complex(x.dtype) else
              lax.complex(lax.round(lax.real(x), 1), lax.round(lax.imag(x), 1)), True)
exp = _unary("exp", lax.exp, True)
exp2 = _unary("exp2", lax.exp2, True)
log = _unary("log", lax.log, True)
log1p = _unary("log1p", lax.log1p, True)
expm1 = _unary("expm1", lax.expm1, True)


def _log_base(base):
    """log(x) / log(base), as JAX computes it: the log of the base in x's (real) dtype,
    and complex parts divided separately (so log2(0j) is -inf+0j, not -inf+nanj)."""
    def f(x):
        r = lax.log(x)
        if not _dt.is_complex(x.dtype):
            return lax.div(r, lax.log(full((), base, x.dtype)))
        ln = lax.log(full((), base, _dt.real_dtype(x.dtype)))
        return lax.complex(lax.div(lax.real(r), ln), lax.div(lax.imag(r), ln))
    return f


log2 = _unary("log2", _log_base(2), True)
log10 = _unary("log10", _log_base(10), True)
sqrt = _unary("sqrt", lax.sqrt, True)
cbrt = _unary("cbrt", lax.cbrt, True)
sin, cos, tan = (_unary(n, getattr(lax, n), True) for n in ("sin", "cos", "tan"))
arcsin, arccos, arctan = (_unary("arc" + n, getattr(lax, "a" + n), True)
                          for n in ("sin", "cos", "tan"))
sinh, cosh, tanh = (_unary(n, getattr(lax, n), True) for n in ("sinh", "cosh", "tanh"))
arcsinh, arccosh, arctanh = (_unary("arc" + n, getattr(lax, "a" + n), True)
                             for n in ("sinh", "cosh", "tanh"))
asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh
atan2 = arctan2
isfinite = _unary("isfinite", lambda x: lax.is_finite(x) if not _dt.is_complex(x.dtype) else
                  lax.bitwise_and(lax.is_finite(lax.real(x)), lax.is_finite(lax.imag(x))),
                  int_fn=lambda x: full_like(x, True, bool_))
invert = bitwise_not = _unary("invert", lax.bitwise_not)
real = _unary("real", lambda x: lax.real(x) if _dt.is_complex(x.dtype) else x)
imag = _unary("imag", lambda x: lax.imag(x) if _dt.is_complex(x.dtype) else zeros_like(x))
conjugate = conj = _unary("conjugate", lambda x: lax.conj(x) if _dt.is_complex(x.dtype) else x)
square = _unary("square", lambda x: lax.integer_pow(
    x if x.dtype != bool_ else astype(x, _dt.default_int()), 2))  # bool squares as int
reciprocal = _unary("reciprocal", lambda x: lax.integer_pow(x, -1), True)


def _abs(x):
    if _dt.is_unsigned(x.dtype) or x.dtype == bool_:
        return x
    return lax.abs(x)


abs = absolute = _unary("absolute", _abs)


def _fabs(x):
    if _dt.is_complex(x.dtype):
        raise TypeError(f"fabs does not support complex dtypes, got {x.dtype}{_where_msg()}")
    return lax.abs(x)


fabs = _unary("fabs", _fabs, True)


def isinf(x):
    x = asarray(x)
    if not _dt.is_inexact(x.dtype):
        return full_like(x, False, bool_)
    if _dt.is_complex(x.dtype):
        return logical_or(isinf(lax.real(x)), isinf(lax.imag(x)))
    return lax.eq(lax.abs(x), lax.weak_literal(_onp.inf, x.dtype))


def isnan(x):
    x = asarray(x)
    if not _dt.is_inexact(x.dtype):
        return full_like(x, False, bool_)
    return lax.ne(x, x)


def isposinf(x):
    x = asarray(x)
    if _dt.is_complex(x.dtype):
        raise ValueError(f"isposinf/isneginf are not defined for complex dtypes{_where_msg()}")
    return lax.eq(x, lax.weak_literal(_onp.inf, x.dtype)) if _dt.is_float(x.dtype) else \
        full_like(x, False, bool_)


def isneginf(x):
    x = asarray(x)
    if _dt.is_complex(x.dtype):
        raise ValueError(f"isposinf/isneginf are not defined for complex dtypes{_where_msg()}")
    return lax.eq(x, lax.weak_literal(-_onp.inf, x.dtype)) if _dt.is_float(x.dtype) else \
        full_like(x, False, bool_)


def signbit(x):
    x = asarray(x)
    if _dt.is_int(x.dtype):
        return lax.lt(x, lax.weak_literal(0, x.dtype))
    if x.dtype == bool_:
        return full_like(x, False, bool_)
    itype = {2: int16, 4: int32, 8: int64}[x.dtype.itemsize]
    return lax.lt(lax.bitcast_convert_type(x, itype), lax.weak_literal(0, itype))


def copysign(x, y):
    x, y = broadcast_arrays_for("copysign", *promote_dtypes_inexact(x, y))
    return where(signbit(y), negative(abs(x)), abs(x))


def round(a, decimals=0, out=None):
    a = asarray(a)
    if a.dtype == bool_:
        raise ValueError(f"round: bool arrays cannot be rounded (as in JAX){_where_msg()}")
    if _dt.is_complex(a.dtype):
        return lax.complex(round(real(a), decimals), round(imag(a), decimals))
    if _dt.is_int(a.dtype):
        if decimals >= 0:
            return a
        factor = 10 ** (-decimals)
        return multiply(floor_divide(add(a, factor // 2), factor), factor)
    if decimals == 0:
        return lax.round(a, 1)
    factor = lax.weak_literal(10.0 ** decimals, a.dtype)
    return lax.div(lax.round(lax.mul(a, factor), 1), factor)


around = round_ = round


def clip(arr=None, /, min=None, max=None):
    a = asarray(arr)
    if min is not None:
        a = maximum(a, min)
    if max is not None:
        a = minimum(a, max)
    return a


def _reject_complex(name, *args):
    if _dt.is_complex(typeinfo(args[0])[0]):
        raise TypeError(f"{name} is not defined for complex-valued inputs{_where_msg()}")
    return args


def heaviside(x1, x2):
    x1, x2 = broadcast_arrays_for(
        "heaviside", *_reject_complex("heaviside", *promote_dtypes_inexact(x1, x2)))
    zero = zeros_like(x1)
    return where(less(x1, zero), zero, where(greater(x1, zero), ones_like(x1), x2))


def hypot(x1, x2):
    x1, x2 = broadcast_arrays_for("hypot",
                                  *_reject_complex("hypot", *promote_dtypes_inexact(x1, x2)))
    return sqrt(x1 * x1 + x2 * x2)


def logaddexp(x1, x2):
    x1, x2 = broadcast_arrays_for("logaddexp", *promote_dtypes_inexact(x1, x2))
    amax = maximum(x1, x2)
    if iscomplexobj(x1):  # log1p(exp(x1 + x2 - 2 amax)), imaginary part wrapped into [-pi, pi]
        out = amax + log1p(exp((x1 + x2) - amax * 2))
        im = lax.rem(lax.imag(out) + pi, 2 * pi)
        im = where(im < 0, im + 2 * pi, im) - pi
        return lax.complex(lax.real(out), im)
    delta = x1 - x2
    return where(isnan(delta), x1 + x2, amax + log1p(exp(-abs(delta))))


def sinc(x):
    (x,) = promote_dtypes_inexact(asarray(x))
    pix = x * pi
    safe = where(equal(x, 0), ones_like(x), pix)
    return where(equal(x, 0), ones_like(x), sin(safe) / safe)


def deg2rad(x):
    (x,) = promote_dtypes_inexact(asarray(x))
    return x * (pi / 180)


def rad2deg(x):
    (x,) = promote_dtypes_inexact(asarray(x))
    return x * (180 / pi)


radians, degrees = deg2rad, rad2deg


def _integers(name, x1, x2):
    x1, x2 = promote_dtypes(x1, x2)
    if not _dt.is_int(typeinfo(x1)[0]):
        raise ValueError(f"arguments to {name} must be integers, got {typeinfo(x1)[0]}"
                         f"{_where_msg()}")
    return broadcast_arrays_for(name, x1, x2)


def gcd(x1, x2):
    x1, x2 = _integers("gcd", x1, x2)

    def euclid_step(ab):
        a, b = ab
        nz = not_equal(b, 0)
        safe_b = where(nz, b, ones_like(b))
        return where(nz, b, a), where(nz, remainder(a, safe_b), b)

    # a loop, not an unrolled chain: unrolling enough steps for the bit width made
    # programs of ~1,000 equations that XLA took seconds to compile
    init = broadcast_arrays(asarray(abs(x1)), asarray(abs(x2)))  # the carry's fixed type
    a, _ = lax.while_loop(lambda ab: any(not_equal(ab[1], 0)), euclid_step, tuple(init))
    dt, weak = typeinfo(x1)
    return lax.convert_element_type(a, dt, weak_type=True) if weak else a


def lcm(x1, x2):
    x1, x2 = _integers("lcm", x1, x2)
    g = gcd(x1, x2)
    safe = where(equal(g, 0), ones_like(g), g)
    return where(equal(g, 0), zeros_like(g), abs(multiply(floor_divide(x1, safe), x2)))


# --- selection -------------------------------------------------------------------------------

def where(condition, x=None, y=None, *, size=None, fill_value=None):
    """Three-argument form: elementwise choice.  One argument: ``nonzero``."""
    if x is None and y is None:
        return nonzero(condition, size=size, fill_value=fill_value)
    if x is None or y is None:
        raise ValueError("where: pass either one argument or three")
    x, y = promote_dtypes(x, y)
    c = _to_bool(asarray(condition))
    shape = broadcast_shapes(shape_of(c), shape_of(x), shape_of(y), op="where")
    c, x, y = (broadcast_to_shape(v, shape) for v in (c, x, y))
    if shape:  # select_n wants both cases full size; a scalar predicate may stay scalar
        x, y = (v if shape_of(v) == shape else lax.broadcast_in_dim(v, shape, ()) for v in (x, y))
    return lax.select(c, x, y)


def select(condlist, choicelist, default=0):
    if len(condlist) != len(choicelist):
        raise ValueError("select: condlist and choicelist must have the same length")
    out = default
    for c, v in reversed(list(zip(condlist, choicelist))):
        out = where(c, v, out)
    return asarray(out)


def nonzero(a, *, size=None, fill_value=None):
    a = asarray(a)
    if size is None:
        if isinstance(a, Tracer) and a.val is None:
            raise TypeError(
                f"nonzero/where with one argument has a data-dependent output shape, which "
                f"jit cannot compile: pass size=N (and optionally fill_value){_where_msg()}")
        size = builtins.int(_onp.count_nonzero(_onp.asarray(a)))
    mask = ravel(_to_bool(a))
    n = mask.shape[0]
    flat_idx = arange(n, dtype=int32)
    # stable sort: true entries first, in order
    key = lax.convert_element_type(logical_not(mask), int32)
    _, order = lax.sort((key, flat_idx), num_keys=1)
    idx = order[:size] if size <= n else concatenate([order, zeros(size - n, int32)])
    valid = arange(size) < sum(mask)
    fills = fill_value if isinstance(fill_value, (tuple, list)) else [fill_value] * a.ndim
    out = []
    for d, coord in enumerate(unravel_index(idx, a.shape)):
        fv = 0 if fills[d] is None else fills[d]
        out.append(where(valid, coord, asarray(fv, coord.dtype)))
    return tuple(out)


def flatnonzero(a, *, size=None, fill_value=None):
    return nonzero(ravel(a), size=size, fill_value=fill_value)[0]


def argwhere(a, *, size=None, fill_value=None):
    return stack(nonzero(a, size=size, fill_value=fill_value), axis=-1) if asarray(a).ndim else \
        zeros((builtins.int(bool(a)), 0), int32)


def unravel_index(indices, shape):
    indices = asarray(indices)
    out = []
    for n in reversed(shape):
        out.append(remainder(indices, n))
        indices = floor_divide(indices, n)
    return tuple(reversed(out))


def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    out = None
    for idx, n in zip(multi_index, dims):
        idx = clip(asarray(idx), 0, n - 1) if mode == "clip" else asarray(idx)
        out = idx if out is None else out * n + idx
    return out


# --- shape manipulation --------------------------------------------------------------------

def shape(a):
    return shape_of(a)


def ndim(a):
    return len(shape_of(a))


def size(a, axis=None):
    s = shape_of(a)
    return builtins.int(_onp.prod(s)) if axis is None else s[axis]


def reshape(a, shape=None, order="C", *, newshape=None):
    a = asarray(a)
    shape = newshape if shape is None else shape
    shape = (shape,) if isinstance(shape, (int, _onp.integer)) else tuple(shape)
    if order not in ("C", "F", "A"):
        raise ValueError(f"reshape: unknown order {order!r}")
    if builtins.sum(1 for d in shape if d == -1) > 1:
        raise ValueError(f"reshape: can only specify one unknown dimension, got {shape}")
    if -1 in shape:
        known = builtins.int(_onp.prod([d for d in shape if d != -1]))
        if known == 0 or a.size % known:
            raise TypeError(f"reshape: cannot reshape array of shape {a.shape} (size {a.size}) "
                            f"into shape {shape}{_where_msg()}")
        shape = tuple(a.size // known if d == -1 else d for d in shape)
    if builtins.int(_onp.prod(shape)) != a.size:
        raise TypeError(f"reshape: cannot reshape array of shape {a.shape} (size {a.size}) into "
                        f"shape {shape} (size {builtins.int(_onp.prod(shape))}){_where_msg()}")
    if order == "F":
        return transpose(lax.reshape(transpose(a), shape[::-1]))
    return lax.reshape(a, shape)


def ravel(a, order="C"):
    a = asarray(a)
    return reshape(a, (a.size,), order)


def transpose(a, axes=None):
    a = asarray(a)
    axes = tuple(range(a.ndim))[::-1] if axes is None else \
        tuple(canonicalize_axis(ax, a.ndim, "transpose") for ax in axes)
    if sorted(axes) != list(range(a.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {a.ndim} axes")
    return lax.transpose(a, axes)


permute_dims = transpose


def matrix_transpose(x):
    return swapaxes(x, -1, -2)


def swapaxes(a, axis1, axis2):
    a = asarray(a)
    perm = list(range(a.ndim))
    i, j = canonicalize_axis(axis1, a.ndim), canonicalize_axis(axis2, a.ndim)
    perm[i], perm[j] = perm[j], perm[i]
    return lax.transpose(a, perm)


def moveaxis(a, source, destination):
    a = asarray(a)
    src = canonicalize_axes(source, a.ndim, "moveaxis")
    dst = canonicalize_axes(destination, a.ndim, "moveaxis")
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same number of axes")
    order = [i for i in range(a.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return lax.transpose(a, order)


def rollaxis(a, axis, start=0):
    a = asarray(a)
    axis = canonicalize_axis(axis, a.ndim)
    start = start % (a.ndim + 1) if start < 0 else start
    if axis < start:
        start -= 1
    return moveaxis(a, axis, start)


def squeeze(a, axis=None):
    a = asarray(a)
    if axis is None:
        axes = tuple(i for i, n in enumerate(a.shape) if n == 1)
    else:
        axes = canonicalize_axes(axis, a.ndim, "squeeze")
        for ax in axes:
            if a.shape[ax] != 1:
                raise ValueError(f"squeeze: cannot select an axis to squeeze out which has "
                                 f"size not equal to one (axis {ax} of shape {a.shape})")
    return lax.squeeze(a, axes)


def expand_dims(a, axis):
    a = asarray(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    nd = a.ndim + len(axes)
    axes = [canonicalize_axis(ax, nd, "expand_dims") for ax in axes]
    return lax.expand_dims(a, axes)


def broadcast_to(array, shape):
    array = asarray(array)
    shape = _shape_tuple(shape, "broadcast_to")
    s = array.shape
    if len(s) > len(shape) or builtins.any(a not in (1, b) for a, b in zip(s[::-1], shape[::-1])):
        raise ValueError(f"broadcast_to: cannot broadcast array of shape {s} to {shape}"
                         f"{_where_msg()}")
    if s == shape:
        return array
    if s == ():
        return lax.broadcast_in_dim(array, shape, ())
    return broadcast_to_shape(array, shape)


def broadcast_arrays(*args):
    shape = broadcast_shapes(*[shape_of(a) for a in args])
    return [broadcast_to(a, shape) for a in args]


def atleast_1d(*arys):
    out = [reshape(a, (1,)) if asarray(a).ndim == 0 else asarray(a) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    out = []
    for a in arys:
        a = asarray(a)
        out.append(reshape(a, (1,) * (2 - a.ndim) + a.shape) if a.ndim < 2 else a)
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    out = []
    for a in arys:
        a = asarray(a)
        if a.ndim == 0:
            a = reshape(a, (1, 1, 1))
        elif a.ndim == 1:
            a = reshape(a, (1, a.shape[0], 1))
        elif a.ndim == 2:
            a = reshape(a, a.shape + (1,))
        out.append(a)
    return out[0] if len(out) == 1 else out


def concatenate(arrays, axis=0, dtype=None):
    if isinstance(arrays, ARRAY_TYPES):
        arrays = [arrays[i] for i in range(arrays.shape[0])]
    if not len(arrays):
        raise ValueError("concatenate: need at least one array to concatenate")
    arrays = [asarray(a) for a in arrays]
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    arrays = promote_dtypes(*arrays) if len(arrays) > 1 else arrays
    if dtype is not None:
        arrays = [astype(a, dtype) for a in arrays]
    nd = arrays[0].ndim
    if nd == 0:
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    axis = canonicalize_axis(axis, nd, "concatenate")
    for a in arrays:
        if a.ndim != nd or builtins.any(x != y for i, (x, y) in enumerate(zip(a.shape, arrays[0].shape))
                               if i != axis):
            raise TypeError(f"concatenate: all input shapes must match except along axis {axis}, "
                            f"got {', '.join(str(x.shape) for x in arrays)}{_where_msg()}")
    return lax.concatenate(arrays, axis)


concat = concatenate


def stack(arrays, axis=0, dtype=None):
    arrays = [asarray(a) for a in arrays]
    if not arrays:
        raise ValueError("stack: need at least one array to stack")
    s0 = arrays[0].shape
    for a in arrays:
        if a.shape != s0:
            raise ValueError(f"stack: all input arrays must have the same shape, got "
                             f"{', '.join(str(x.shape) for x in arrays)}{_where_msg()}")
    axis = canonicalize_axis(axis, len(s0) + 1, "stack")
    return concatenate([expand_dims(a, axis) for a in arrays], axis, dtype)


def vstack(tup, dtype=None):
    return concatenate([atleast_2d(a) for a in tup], 0, dtype)


row_stack = vstack


def hstack(tup, dtype=None):
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, 0 if arrs[0].ndim == 1 else 1, dtype)


def dstack(tup, dtype=None):
    return concatenate([atleast_3d(a) for a in tup], 2, dtype)


def column_stack(tup):
    arrs = [asarray(a) for a in tup]
    arrs = [reshape(a, (-1, 1)) if a.ndim < 2 else a for a in arrs]
    return concatenate(arrs, 1)


def split(ary, indices_or_sections, axis=0):
    return _split("split", ary, indices_or_sections, axis, strict=True)


def array_split(ary, indices_or_sections, axis=0):
    return _split("array_split", ary, indices_or_sections, axis, strict=False)


def _split(op, ary, sections, axis, strict):
    ary = asarray(ary)
    axis = canonicalize_axis(axis, ary.ndim, op)
    n = ary.shape[axis]
    if isinstance(sections, (int, _onp.integer)):
        if strict and n % sections:
            raise ValueError(f"{op}: array split does not result in an equal division "
                             f"({n} into {sections})")
        q, r = builtins.divmod(n, sections)
        sizes = [q + 1] * r + [q] * (sections - r)
        points = list(_onp.cumsum([0] + sizes))
    else:
        points = [0] + [builtins.min(builtins.max(builtins.int(i) if i >= 0 else n + builtins.int(i), 0), n)
                        for i in sections] + [n]
    return [lax.slice_in_dim(ary, points[i], builtins.max(points[i], points[i + 1]), 1, axis)
            for i in range(len(points) - 1)]


def hsplit(ary, s):
    return split(ary, s, 1 if asarray(ary).ndim > 1 else 0)


def vsplit(ary, s):
    return split(ary, s, 0)


def dsplit(ary, s):
    return split(ary, s, 2)


def flip(m, axis=None):
    m = asarray(m)
    axes = canonicalize_axes(axis, m.ndim, "flip")
    return lax.rev(m, axes) if axes else m


def fliplr(m):
    return flip(m, 1)


def flipud(m):
    return flip(m, 0)


def roll(a, shift, axis=None):
    a = asarray(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), a.shape)
    shifts = shift if isinstance(shift, (tuple, list)) else (shift,)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    if len(axes) == 1 and len(shifts) > 1:
        axes = axes * len(shifts)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    for s, ax in zip(shifts, axes):
        ax = canonicalize_axis(ax, a.ndim, "roll")
        n = a.shape[ax]
        if n == 0:
            continue
        if isinstance(s, Tracer) and s.val is None:
            s = remainder(asarray(s), n)
            doubled = concatenate([a, a], ax)
            a = lax.dynamic_slice_in_dim(doubled, n - s, n, ax)
            continue
        s = builtins.int(s) % n
        if s:
            a = concatenate([lax.slice_in_dim(a, n - s, n, 1, ax),
                             lax.slice_in_dim(a, 0, n - s, 1, ax)], ax)
    return a


def rot90(m, k=1, axes=(0, 1)):
    m = asarray(m)
    k %= 4
    a0, a1 = axes
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(m.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(m, a1), perm)
    return flip(transpose(m, perm), a1)


def tile(A, reps):
    A = asarray(A)
    reps = (reps,) if isinstance(reps, (int, _onp.integer)) else tuple(reps)
    nd = builtins.max(len(reps), A.ndim)
    reps = (1,) * (nd - len(reps)) + reps
    A = reshape(A, (1,) * (nd - A.ndim) + A.shape)
    shape = []
    for r, n in zip(reps, A.shape):
        shape += [r, n]
    out = lax.broadcast_in_dim(A, tuple(shape), tuple(range(1, 2 * nd, 2)))
    return reshape(out, [r * n for r, n in zip(reps, A.shape)])


def repeat(a, repeats, axis=None, *, total_repeat_length=None):
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = canonicalize_axis(axis, a.ndim, "repeat")
    if isinstance(repeats, (int, _onp.integer)):
        n = a.shape[axis]
        shape = a.shape[:axis + 1] + (repeats,) + a.shape[axis + 1:]
        b = lax.broadcast_in_dim(a, shape, [i for i in range(a.ndim + 1) if i != axis + 1])
        return reshape(b, a.shape[:axis] + (n * repeats,) + a.shape[axis + 1:])
    reps = _onp.asarray(repeats) if not isinstance(repeats, ARRAY_TYPES) else \
        _onp.asarray(repeats)
    if reps.ndim == 0:
        return repeat(a, builtins.int(reps), axis)
    idx = _onp.repeat(_onp.arange(a.shape[axis]), reps)
    return take(a, asarray(idx.astype(_onp.int32)), axis=axis)


def pad(array, pad_width, mode="constant", *, constant_values=0, **kwargs):
    array = asarray(array)
    pw = _onp.broadcast_to(_onp.asarray(pad_width, dtype=object if False else _onp.int64),
                           (array.ndim, 2)).tolist()
    if mode == "constant":
        cv = _onp.broadcast_to(_onp.asarray(constant_values), (array.ndim, 2)) \
            if _onp.ndim(constant_values) else None
        if cv is None:
            val = lax.convert_element_type(asarray(constant_values), array.dtype)
            return lax.pad(array, val, [(lo, hi, 0) for lo, hi in pw])
        out = array
        for d in range(array.ndim):
            for side in (0, 1):
                cfg = [(0, 0, 0)] * array.ndim
                cfg[d] = (pw[d][0], 0, 0) if side == 0 else (0, pw[d][1], 0)
                out = lax.pad(out, lax.convert_element_type(asarray(cv[d][side]), array.dtype),
                              cfg)
        return out
    if mode in ("edge", "reflect", "symmetric", "wrap"):
        out = array
        for d in range(array.ndim):
            lo, hi = pw[d]
            n = out.shape[d]
            idx = _onp.arange(-lo, n + hi)
            if mode == "edge":
                idx = _onp.clip(idx, 0, n - 1)
            elif mode == "wrap":
                idx = idx % n
            elif mode == "reflect":
                period = 2 * (n - 1) if n > 1 else 1
                idx = _onp.abs(idx) % period
                idx = _onp.where(idx >= n, period - idx, idx)
            else:  # symmetric
                period = 2 * n
                idx = idx % period
                idx = _onp.where(idx >= n, period - 1 - idx, idx)
            out = take(out, asarray(idx.astype(_onp.int32)), axis=d)
        return out
    raise NotImplementedError(f"pad: mode={mode!r} is not supported (supported: constant, edge, "
                              f"reflect, symmetric, wrap)")


# --- reductions ---------------------------------------------------------------------------------

def _reduction(name, reducer, identity=None, bool_reducer=None, upcast_int=False,
               need_inexact=False):
    def f(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
        a = asarray(a)
        if out is not None:
            raise NotImplementedError(f"{name}: the out= argument is not supported (arrays are "
                                      f"immutable); use the return value")
        axes = canonicalize_axes(axis, a.ndim, name)
        if dtype is not None:
            a = astype(a, dtype)
        elif upcast_int and (_dt.is_int(a.dtype) or a.dtype == bool_):
            wide = _dt.default_int() if not _dt.is_unsigned(a.dtype) else \
                (uint64 if _dt.x64_enabled() else uint32)
            if a.dtype.itemsize < wide.itemsize or a.dtype == bool_:
                a = astype(a, wide)
        if where is not None:
            if identity is None:
                if initial is None:
                    raise ValueError(f"{name}: reduction with where= needs initial=")
                fill = initial
            else:
                fill = identity(a.dtype)
            a = _where3(where, a, fill)
        r = bool_reducer(a, axes) if (bool_reducer and a.dtype == bool_) else reducer(a, axes)
        if initial is not None:
            r = (maximum if name == "max" else minimum if name == "min" else
                 add if name == "sum" else multiply)(r, initial)
            r = astype(r, a.dtype)
        if keepdims:
            r = reshape(r, [1 if i in axes else n for i, n in enumerate(a.shape)])
        return r
    f.__name__ = name
    return f


def _where3(cond, x, fill):
    return where(cond, x, lax.convert_element_type(asarray(fill), x.dtype))


def _empty_check(name):
    def reducer(a, axes):
        if builtins.any(a.shape[ax] == 0 for ax in axes):
            raise ValueError(f"{name}: zero-size array to reduction operation {name} which "
                             f"has no identity")
        return (lax.reduce_max if name == "max" else lax.reduce_min)(a, axes)
    return reducer


sum = _reduction("sum", lax.reduce_sum, lambda dt: 0, lax.reduce_or, upcast_int=True)
prod = _reduction("prod", lax.reduce_prod, lambda dt: 1, lax.reduce_and, upcast_int=True)
max = amax = _reduction("max", _empty_check("max"))
min = amin = _reduction("min", _empty_check("min"))


def _any_all(name, reducer):
    def f(a, axis=None, out=None, keepdims=False, *, where=None):
        a = _to_bool(asarray(a))
        axes = canonicalize_axes(axis, a.ndim, name)
        if where is not None:
            a = _where3(where, a, name == "all")
        r = reducer(a, axes)
        if keepdims:
            r = reshape(r, [1 if i in axes else n for i, n in enumerate(a.shape)])
        return r
    f.__name__ = name
    return f


any = _any_all("any", lax.reduce_or)
all = _any_all("all", lax.reduce_and)
alltrue, sometrue = all, any


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    a = asarray(a)
    axes = canonicalize_axes(axis, a.ndim, "mean")
    if dtype is None:
        dtype = a.dtype if _dt.is_inexact(a.dtype) else _dt.default_float()
    if where is None:
        n = builtins.int(_onp.prod([a.shape[ax] for ax in axes]))
        s = sum(a, axis=axes, dtype=dtype, keepdims=keepdims)
        return lax.div(s, lax.weak_literal(n, s.dtype)) if n else s / 0
    w = broadcast_to(asarray(where), a.shape)
    s = sum(a, axis=axes, dtype=dtype, keepdims=keepdims, where=w)
    n = sum(w, axis=axes, dtype=dtype, keepdims=keepdims)
    return s / n


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, correction=None):
    a = asarray(a)
    if correction is not None:
        ddof = correction
    axes = canonicalize_axes(axis, a.ndim, "var")
    comp_dt = dtype or (a.dtype if _dt.is_inexact(a.dtype) else _dt.default_float())
    a = astype(a, comp_dt)
    m = mean(a, axes, keepdims=True, where=where)
    d = a - m
    d = real(d * conj(d)) if _dt.is_complex(a.dtype) else d * d
    if where is None:
        n = builtins.int(_onp.prod([a.shape[ax] for ax in axes]))
        return sum(d, axes, keepdims=keepdims) / builtins.max(n - ddof, 0)
    w = broadcast_to(asarray(where), a.shape)
    n = sum(w, axes, dtype=d.dtype, keepdims=keepdims)
    return sum(d, axes, keepdims=keepdims, where=w) / (n - ddof)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
        correction=None):
    if dtype is not None and not _dt.is_inexact(_dt.canonicalize(dtype)):
        raise ValueError(f"std: the dtype argument must be inexact, got {dtype}{_where_msg()}")
    return sqrt(var(a, axis, dtype, out, ddof, keepdims, where=where, correction=correction))


def _arg_reduce(name, prim_fn):
    def f(a, axis=None, out=None, keepdims=False):
        a = asarray(a)
        if axis is None:
            flat = ravel(a)
            if flat.size == 0:
                raise ValueError(f"{name}: attempt to get {name} of an empty sequence")
            r = prim_fn(flat, 0, _dt.default_int())
            return reshape(r, (1,) * a.ndim) if keepdims else r
        ax = canonicalize_axis(axis, a.ndim, name)
        if a.shape[ax] == 0:
            raise ValueError(f"{name}: attempt to get {name} of an empty sequence")
        r = prim_fn(a, ax, _dt.default_int())
        return expand_dims(r, ax) if keepdims else r
    f.__name__ = name
    return f


argmax = _arg_reduce("argmax", lax.argmax)
argmin = _arg_reduce("argmin", lax.argmin)


def ptp(a, axis=None, keepdims=False):
    return max(a, axis, keepdims=keepdims) - min(a, axis, keepdims=keepdims)


def count_nonzero(a, axis=None, keepdims=False):
    return sum(_to_bool(asarray(a)), axis, dtype=_dt.default_int(), keepdims=keepdims)


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    a = asarray(a)
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        n = a.size / avg.size if avg.size else 0
        return (avg, full_like(avg, n)) if returned else avg
    a, w = promote_dtypes_inexact(a, asarray(weights))
    if w.shape != a.shape:
        if axis is None or w.ndim != 1:
            raise ValueError("average: weights must match a's shape, or be 1-d along axis")
        ax = canonicalize_axis(axis, a.ndim)
        w = lax.broadcast_in_dim(w, a.shape, (ax,))
    sw = sum(w, axis, keepdims=keepdims)
    avg = sum(a * w, axis, keepdims=keepdims) / sw
    return (avg, broadcast_to(sw, avg.shape)) if returned else avg


# --- linear algebra products -------------------------------------------------------------------

def _mm_error(op, a, b):
    raise TypeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} are not aligned: "
                    f"contracting dimension {a.shape[-1] if a.ndim else '-'} != "
                    f"{b.shape[-2] if b.ndim > 1 else (b.shape[0] if b.ndim else '-')}"
                    f"{_where_msg()}")


def matmul(a, b, *, precision=None, preferred_element_type=None):
    a, b = promote_dtypes(a, b)
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must be at least 1-d, got shapes {a.shape} and "
                         f"{b.shape}{_where_msg()}")
    a_vec, b_vec = a.ndim == 1, b.ndim == 1
    if a.ndim <= 2 and b.ndim <= 2 and a.shape[-1] == b.shape[0]:
        # no batch dims: contract directly (a vector operand is not reshaped to a matrix,
        # which would leave reshapes and transposes of [n, 1] in every derivative)
        return lax.dot_general(a, b, (((a.ndim - 1,), (0,)), ((), ())),
                               preferred_element_type=preferred_element_type)
    if a_vec:
        a = reshape(a, (1, a.shape[0]))
    if b_vec:
        b = reshape(b, (b.shape[0], 1))
    if a.shape[-1] != b.shape[-2]:
        _mm_error("matmul", a if not a_vec else asarray_shape(a, (a.shape[-1],)),
                  b if not b_vec else asarray_shape(b, (b.shape[0],)))
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-2], op="matmul")
    nb = len(batch)
    # batch dims of size 1 that need no broadcasting are contracted as batch dims
    a = broadcast_to(a, batch + a.shape[-2:]) if a.shape[:-2] != batch else a
    b = broadcast_to(b, batch + b.shape[-2:]) if b.shape[:-2] != batch else b
    bd = tuple(range(nb))
    out = lax.dot_general(a, b, (((nb + 1,), (nb,)), (bd, bd)),
                          preferred_element_type=preferred_element_type)
    if a_vec:
        out = lax.squeeze(out, (nb,))
    if b_vec:
        out = lax.squeeze(out, (out.ndim - 1,))
    return out


class _ShapeOnly:
    def __init__(self, shape):
        self.shape = shape
        self.ndim = len(shape)


def asarray_shape(_, shape):
    return _ShapeOnly(shape)


def dot(a, b, *, precision=None, preferred_element_type=None):
    a, b = promote_dtypes(a, b)
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if a.ndim == 1 and b.ndim == 1:
        if a.shape != b.shape:
            _mm_error("dot", a, _ShapeOnly((b.shape[0], 1)))
        return lax.dot_general(a, b, (((0,), (0,)), ((), ())),
                               preferred_element_type=preferred_element_type)
    bc = 0 if b.ndim == 1 else b.ndim - 2
    if a.shape[-1] != b.shape[bc]:
        _mm_error("dot", a, b if b.ndim > 1 else _ShapeOnly((b.shape[0], 1)))
    return lax.dot_general(a, b, (((a.ndim - 1,), (bc,)), ((), ())),
                           preferred_element_type=preferred_element_type)


def vdot(a, b):
    a, b = asarray(a), asarray(b)
    return dot(ravel(conj(a)), ravel(b))


def vecdot(x1, x2, axis=-1):
    x1, x2 = broadcast_arrays_for("vecdot", *promote_dtypes(x1, x2))
    return sum(conj(x1) * x2, axis=axis)


def inner(a, b):
    a, b = promote_dtypes(a, b)
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if a.shape[-1] != b.shape[-1]:
        _mm_error("inner", a, _ShapeOnly((b.shape[-1], 1)))
    return lax.dot_general(a, b, (((a.ndim - 1,), (b.ndim - 1,)), ((), ())))


def outer(a, b):
    a, b = ravel(a), ravel(b)
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def tensordot(a, b, axes=2, *, precision=None, preferred_element_type=None):
    a, b = promote_dtypes(a, b)
    a, b = asarray(a), asarray(b)
    if isinstance(axes, (int, _onp.integer)):
        if axes > builtins.min(a.ndim, b.ndim):
            raise TypeError(f"tensordot: {axes} axes exceed the ranks of {a.shape} and "
                            f"{b.shape}{_where_msg()}")
        ca = tuple(range(a.ndim - axes, a.ndim))
        cb = tuple(range(axes))
    else:
        ax_a, ax_b = axes
        ca = canonicalize_axes(ax_a if isinstance(ax_a, (list, tuple)) else (ax_a,), a.ndim)
        cb = canonicalize_axes(ax_b if isinstance(ax_b, (list, tuple)) else (ax_b,), b.ndim)
    if len(ca) != len(cb) or builtins.any(a.shape[i] != b.shape[j] for i, j in zip(ca, cb)):
        raise TypeError(f"tensordot: shape mismatch on contracted axes: {a.shape} axes {ca} vs "
                        f"{b.shape} axes {cb}{_where_msg()}")
    return lax.dot_general(a, b, ((ca, cb), ((), ())), preferred_element_type=preferred_element_type)


def kron(a, b):
    a, b = promote_dtypes(a, b)
    a, b = asarray(a), asarray(b)
    nd = builtins.max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (nd - a.ndim) + a.shape)
    b = reshape(b, (1,) * (nd - b.ndim) + b.shape)
    out = multiply(reshape(a, [x for n in a.shape for x in (n, 1)]),
                   reshape(b, [x for n in b.shape for x in (1, n)]))
    return reshape(out, [x * y for x, y in zip(a.shape, b.shape)])


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = promote_dtypes(a, b)
    a, b = moveaxis(asarray(a), axisa, -1), moveaxis(asarray(b), axisb, -1)
    if a.shape[-1] == 2:
        a = pad(a, [(0, 0)] * (a.ndim - 1) + [(0, 1)])
    if b.shape[-1] == 2:
        b = pad(b, [(0, 0)] * (b.ndim - 1) + [(0, 1)])
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    c = stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], -1)
    return moveaxis(c, -1, axisc)


from ._einsum import einsum  # noqa: E402

# --- indexing helpers ----------------------------------------------------------------------------
from ..indexing import take, take_along_axis  # noqa: E402


def diagonal(a, offset=0, axis1=0, axis2=1):
    a = asarray(a)
    a = moveaxis(a, (axis1, axis2), (-2, -1))
    n, m = a.shape[-2], a.shape[-1]
    k = builtins.max(0, builtins.min(n + builtins.min(offset, 0), m - builtins.max(offset, 0)))
    r = _onp.arange(k) + builtins.max(-offset, 0)
    c = _onp.arange(k) + builtins.max(offset, 0)
    flat = reshape(a, a.shape[:-2] + (n * m,))
    return take(flat, asarray((r * m + c).astype(_onp.int32)), axis=-1)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def diag(v, k=0):
    v = asarray(v)
    if v.ndim == 1:
        n = v.shape[0] + builtins.abs(k)
        mask = eye(n, k=k, dtype=bool_)
        vals = pad(v, (builtins.max(-k, 0), builtins.max(k, 0)))
        src = vals if k >= 0 else vals
        if k >= 0:
            grid = broadcast_to(reshape(pad(v, (0, k)), (n, 1)), (n, n))
        else:
            grid = broadcast_to(reshape(pad(v, (0, -k)), (1, n)), (n, n))
        del src
        return where(mask, grid, zeros((), v.dtype))
    if v.ndim == 2:
        return diagonal(v, k)
    raise ValueError("diag: input must be 1-d or 2-d")


def tril(m, k=0):
    m = asarray(m)
    mask = tri(m.shape[-2], m.shape[-1], k, bool_)
    return where(mask, m, zeros((), m.dtype))


def triu(m, k=0):
    m = asarray(m)
    mask = tri(m.shape[-2], m.shape[-1], k - 1, bool_)
    return where(mask, zeros((), m.dtype), m)


# --- cumulative / sorting ----------------------------------------------------------------------

def _cumulative(name, window_reduce):
    def f(a, axis=None, dtype=None, out=None):
        a = asarray(a)
        if axis is None:
            a, axis = ravel(a), 0
        ax = canonicalize_axis(axis, a.ndim, name)
        if dtype is not None:
            a = astype(a, dtype)
        elif a.dtype == bool_:  # JAX keeps narrow ints (cumsum(int8) is int8); bools count
            a = astype(a, _dt.default_int())
        n = a.shape[ax]
        if n == 0:
            return a
        nd = a.ndim
        window = [1] * nd
        window[ax] = n
        padding = [(0, 0)] * nd
        padding[ax] = (n - 1, 0)
        return window_reduce(a, window, (1,) * nd, padding)
    f.__name__ = name
    return f


def _cumprod_window(a, window, strides, padding):
    return _prod_scan(a, [i for i, w in enumerate(window) if w > 1][0])


def _prod_scan(a, axis):
    """Inclusive product scan by doubling (log2(n) multiply steps)."""
    n = a.shape[axis]
    shift = 1
    while shift < n:
        shifted = lax.pad(lax.slice_in_dim(a, 0, n - shift, 1, axis),
                          lax.convert_element_type(asarray(1), a.dtype),
                          [(shift, 0, 0) if d == axis else (0, 0, 0) for d in range(a.ndim)])
        a = a * shifted if a.dtype != bool_ else logical_and(a, shifted)
        shift *= 2
    return a


cumsum = _cumulative("cumsum", lax.reduce_window_sum)
cumprod = _cumulative("cumprod", _cumprod_window)
cumulative_sum = cumsum
cumulative_prod = cumprod


def sort(a, axis=-1, kind=None, order=None, *, stable=True, descending=False):
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = canonicalize_axis(axis, a.ndim, "sort")
    out = lax.sort(a, ax, is_stable=stable)
    return flip(out, ax) if descending else out


def argsort(a, axis=-1, kind=None, order=None, *, stable=True, descending=False):
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = canonicalize_axis(axis, a.ndim, "argsort")
    idx = lax.broadcasted_iota(_dt.default_int(), a.shape, ax)
    key = negative(a) if descending and not _dt.is_unsigned(a.dtype) and a.dtype != bool_ \
        else a
    if descending and (_dt.is_unsigned(a.dtype) or a.dtype == bool_):
        key = lax.bitwise_not(a)
    _, out = lax.sort((key, idx), ax, is_stable=True, num_keys=1)
    return out


# --- dtype & misc -------------------------------------------------------------------------------

def iscomplexobj(x):
    return _dt.is_complex(typeinfo(x)[0])


def isrealobj(x):
    return not iscomplexobj(x)


def isscalar(x):
    return _onp.isscalar(x) or (isinstance(x, ARRAY_TYPES) and x.ndim == 0)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return all(isclose(a, b, rtol, atol, equal_nan))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = broadcast_arrays_for("isclose", *promote_dtypes_inexact(a, b))
    a, b = asarray(a), asarray(b)
    close = less_equal(abs(a - b), atol + rtol * abs(b))
    close = logical_or(close, equal(a, b))  # infinities of the same sign
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return logical_and(close, logical_not(logical_or(isnan(a), isnan(b)))) \
        if not equal_nan else close


def array_equal(a1, a2, equal_nan=False):
    a1, a2 = asarray(a1), asarray(a2)
    if a1.shape != a2.shape:
        return asarray(False)
    eq = equal(a1, a2)
    if equal_nan:
        eq = logical_or(eq, logical_and(isnan(a1), isnan(a2)))
    return all(eq)


def array_equiv(a1, a2):
    try:
        return all(equal(a1, a2))
    except TypeError:
        return asarray(False)


def copy(a, order=None):
    return asarray(a)


def from_dlpack(x, *, device=None, copy=None):
    from ..api import from_dlpack as _fd
    return _fd(x)


def get_printoptions():
    return _onp.get_printoptions()


printoptions = _onp.printoptions


# === more of jax.numpy: names added for breadth ===========================================
# Dtype aliases, elementwise helpers, nan-aware reductions, statistics, sets, histograms,
# polynomials, windows, index helpers.  Functions whose output shape depends on values
# (unique, nonzero-like selections) take ``size=`` and raise a clear error without it
# under jit, as JAX does.

single, double, csingle, cdouble, uint = float32, float64, complex64, complex128, uint64
character, flexible = _onp.character, _onp.flexible
ComplexWarning = _onp.exceptions.ComplexWarning
iterable = _onp.iterable
_select = where  # for functions whose ``where=`` parameter shadows it
s_, index_exp = _onp.s_, _onp.index_exp


def _concrete(x, op, arg, hint):
    """The value of ``x`` where it is needed at trace time (it fixes a shape)."""
    if isinstance(x, Tracer):
        if x.val is None:
            raise TypeError(f"{op}: argument {arg} fixes the output shape, so it needs a "
                            f"concrete value, but under jit it is an abstract "
                            f"{x.aval.str_short()}; {hint}{_where_msg()}")
        x = x.val
    return _onp.asarray(x)


_SIZE_HINT = "pass size=N (and optionally fill_value=) to get a fixed-size result"


def _count_true(mask, op):
    """How many entries of a boolean mask are set, for a result with no ``size=``."""
    return builtins.int(_onp.count_nonzero(_concrete(mask, op, "values", _SIZE_HINT)))


bitwise_invert = invert
bitwise_left_shift = left_shift
bitwise_right_shift = right_shift


def bitwise_count(x):
    """Number of set bits in ``|x|`` (as uint8, as in JAX)."""
    x = asarray(x)
    if not (_dt.is_int(x.dtype) or x.dtype == bool_):
        raise TypeError(f"bitwise_count: needs an integer or bool array, got {x.dtype}"
                        f"{_where_msg()}")
    return astype(lax.population_count(abs(x)), uint8)


def fmax(x1, x2):
    """Elementwise maximum that ignores NaNs (NaN only where both are NaN)."""
    x1, x2 = broadcast_arrays_for("fmax", *promote_dtypes(x1, x2))
    return where(logical_or(greater(x1, x2), isnan(x2)), x1, x2)


def fmin(x1, x2):
    """Elementwise minimum that ignores NaNs (NaN only where both are NaN)."""
    x1, x2 = broadcast_arrays_for("fmin", *promote_dtypes(x1, x2))
    return where(logical_or(less(x1, x2), isnan(x2)), x1, x2)


def logaddexp2(x1, x2):
    """log2(2**x1 + 2**x2) without overflow."""
    x1, x2 = broadcast_arrays_for("logaddexp2",
                                  *_reject_complex("logaddexp2", *promote_dtypes_inexact(x1, x2)))
    amax = maximum(x1, x2)
    delta = x1 - x2
    return where(isnan(delta), x1 + x2, amax + log1p(exp2(-abs(delta))) / _onp.log(2))


def angle(z, deg=False):
    z = asarray(z)
    re, im = real(z), imag(z)
    if not _dt.is_inexact(re.dtype):
        re, im = astype(re, _dt.default_float()), astype(im, _dt.default_float())
    out = arctan2(im, re)
    return out * (180 / pi) if deg else out


def iscomplex(x):
    return not_equal(imag(x), 0)


def isreal(x):
    return equal(imag(x), 0)


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


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    x = asarray(x)
    if _dt.is_complex(x.dtype):
        return lax.complex(nan_to_num(real(x), copy, nan, posinf, neginf),
                           nan_to_num(imag(x), copy, nan, posinf, neginf))
    if not _dt.is_inexact(x.dtype):
        return x
    info = finfo(x.dtype)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    out = where(isnan(x), asarray(nan, x.dtype), x)
    out = where(isposinf(out), asarray(posinf, x.dtype), out)
    return where(isneginf(out), asarray(neginf, x.dtype), out)


def frexp(x):
    """Mantissa in [0.5, 1) and integer exponent with ``x == m * 2**e``, read from the bits
    (so subnormals are exact even where the backend flushes them to zero in arithmetic)."""
    x = asarray(x)
    if _dt.is_complex(x.dtype):
        raise TypeError(f"frexp does not support complex-valued inputs{_where_msg()}")
    (x,) = promote_dtypes_inexact(x)
    info = finfo(x.dtype)
    nmant, half_exp = info.nmant, info.maxexp - 2   # 0.5 has biased exponent maxexp - 2
    itype = {2: int16, 4: int32, 8: int64}[x.dtype.itemsize]
    exp_mask = (1 << info.nexp) - 1
    mant_mask = (1 << nmant) - 1

    def fields(v):
        bits = lax.bitcast_convert_type(v, itype)
        biased = lax.bitwise_and(lax.shift_right_logical(bits, lax.weak_literal(nmant, itype)),
                                 lax.weak_literal(exp_mask, itype))
        return bits, biased, lax.bitwise_and(bits, lax.weak_literal(mant_mask, itype))

    def as_half(bits, mant):   # keep sign and mantissa, set the exponent of [0.5, 1)
        sign = lax.bitwise_and(bits, lax.weak_literal(~((exp_mask << nmant) | mant_mask), itype))
        out = lax.bitwise_or(lax.bitwise_or(sign, mant),
                             lax.weak_literal(half_exp << nmant, itype))
        return lax.bitcast_convert_type(out, x.dtype)
    bits, biased, mant = fields(x)
    m, e = as_half(bits, mant), biased - half_exp
    # a subnormal is mant * 2**(1 - bias - nmant); mant converts to a normal float exactly
    sub_bits, sub_biased, sub_mant = fields(astype(mant, x.dtype))
    sub_m = as_half(lax.bitwise_or(sub_bits, lax.bitwise_and(bits, lax.weak_literal(
        ~((exp_mask << nmant) | mant_mask), itype))), sub_mant)
    sub_e = sub_biased - half_exp + (2 - info.maxexp - nmant)
    is_sub = logical_and(equal(biased, 0), not_equal(mant, 0))
    m, e = where(is_sub, sub_m, m), where(is_sub, sub_e, e)
    special = logical_or(logical_and(equal(biased, 0), equal(mant, 0)), equal(biased, exp_mask))
    return where(special, x, m), astype(where(special, zeros_like(e), e), int32)


def ldexp(x1, x2):
    """``x1 * 2**x2``, in two steps so that large exponents neither overflow nor flush."""
    x2 = asarray(x2)
    if not (_dt.is_int(x2.dtype) or x2.dtype == bool_):
        raise TypeError(f"ldexp: the exponent x2 must be integer, got {x2.dtype}{_where_msg()}")
    (x1,) = promote_dtypes_inexact(asarray(x1))
    if _dt.is_complex(x1.dtype):
        raise TypeError(f"ldexp does not support complex-valued inputs{_where_msg()}")
    x1, x2 = broadcast_arrays_for("ldexp", x1, x2)
    half = floor_divide(x2, 2)
    f1 = exp2(astype(half, x1.dtype))
    f2 = exp2(astype(x2 - half, x1.dtype))
    return x1 * f1 * f2


def modf(x):
    """Fractional and integral parts, both with the sign of ``x``."""
    (x,) = promote_dtypes_inexact(asarray(x))
    whole = trunc(x)
    return x - whole, whole


def spacing(x):
    """Distance from ``x`` to the next representable value away from zero."""
    (x,) = promote_dtypes_inexact(asarray(x))
    if _dt.is_complex(x.dtype):
        raise TypeError(f"spacing does not support complex-valued inputs{_where_msg()}")
    away = where(signbit(x), asarray(-_onp.inf, x.dtype), asarray(_onp.inf, x.dtype))
    return nextafter(x, away) - x


def i0(x):
    """Modified Bessel function of the first kind, order 0: its power series for
    ``|x| <= 15`` and its asymptotic expansion beyond (both differentiable)."""
    (x,) = promote_dtypes_inexact(asarray(x))
    if _dt.is_complex(x.dtype):
        raise TypeError(f"i0 does not support complex-valued inputs{_where_msg()}")
    ax = abs(x)
    small = minimum(ax, 15.0)
    quarter_sq = small * small * 0.25
    term = ones_like(x)
    series = ones_like(x)
    for k in range(1, 60):
        term = term * quarter_sq / (k * k)
        series = series + term
    big = maximum(ax, 15.0)
    inv = 1.0 / (8.0 * big)
    coef, corr = 1.0, ones_like(x)
    term = ones_like(x)
    for k in range(1, 12):
        coef = (2 * k - 1) ** 2 / k
        term = term * coef * inv
        corr = corr + term
    asym = exp(big) / sqrt(2 * pi * big) * corr
    return where(ax <= 15.0, series, asym)


def _window_length(M, op):
    return operator.index(_concrete(M, op, "M", "pass M as a Python int").item())


def _window(op, M, fn):
    M = _window_length(M, op)
    dt = _dt.default_float()
    if M <= 1:
        return ones(builtins.max(M, 0), dt)
    return fn(M, arange(0, M, dtype=dt))


def bartlett(M):
    return _window("bartlett", M, lambda M, n: 1 - abs(2 * n - (M - 1)) / (M - 1))


def blackman(M):
    return _window("blackman", M, lambda M, n: 0.42 - 0.5 * cos(2 * pi * n / (M - 1))
                   + 0.08 * cos(4 * pi * n / (M - 1)))


def hamming(M):
    return _window("hamming", M, lambda M, n: 0.54 - 0.46 * cos(2 * pi * n / (M - 1)))


def hanning(M):
    return _window("hanning", M, lambda M, n: 0.5 - 0.5 * cos(2 * pi * n / (M - 1)))


def kaiser(M, beta):
    def fn(M, n):
        alpha = (M - 1) / 2.0
        b = asarray(beta, n.dtype)
        return i0(b * sqrt(1 - ((n - alpha) / alpha) ** 2)) / i0(b)
    return _window("kaiser", M, fn)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Points evenly spaced on a log scale, with the endpoints exact."""
    dt = _inexact(result_type(start, stop)) if dtype is None else _dt.canonicalize(dtype)
    start, stop = astype(asarray(start), _inexact(dt)), astype(asarray(stop), _inexact(dt))
    if _dt.is_complex(dt):
        raise NotImplementedError("geomspace: complex start/stop are not supported; use "
                                  "logspace with complex exponents")
    sign = where(signbit(start), -1.0, 1.0).astype(start.dtype)
    logs = linspace(log10(abs(start)), log10(abs(stop)), num, endpoint=endpoint, axis=axis)
    out = power(asarray(10.0, logs.dtype), logs)
    if num > 0:
        nd = out.ndim
        ax = canonicalize_axis(axis, nd)
        first = lax.slice_in_dim(out, 0, 1, 1, ax)
        bounds = [expand_dims(abs(start), ax)]
        out = concatenate([broadcast_to(bounds[0], first.shape),
                           lax.slice_in_dim(out, 1, out.shape[ax], 1, ax)], ax)
        if endpoint and num > 1:
            out = concatenate([lax.slice_in_dim(out, 0, out.shape[ax] - 1, 1, ax),
                               broadcast_to(expand_dims(abs(stop), ax), first.shape)], ax)
    out = out * (expand_dims(sign, canonicalize_axis(axis, out.ndim)) if sign.ndim else sign)
    return astype(out, dt)


# --- nan-aware reductions, statistics -----------------------------------------------------------

def _nan_filled(a, fill):
    a = asarray(a)
    if not _dt.is_inexact(a.dtype):
        return a, None
    mask = isnan(a)
    return where(mask, lax.convert_element_type(asarray(fill), a.dtype), a), mask


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    return sum(_nan_filled(a, 0)[0], axis, dtype, out, keepdims, initial, where)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    return prod(_nan_filled(a, 1)[0], axis, dtype, out, keepdims, initial, where)


def _nan_extreme(name, reducer, fill):
    def f(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        filled, mask = _nan_filled(a, fill)
        r = reducer(filled, axis, out=out, keepdims=keepdims, initial=initial, where=where)
        if mask is None:
            return r
        every = all(mask, axis, keepdims=keepdims, where=where)
        return _select(every, lax.convert_element_type(asarray(_onp.nan), r.dtype), r)
    f.__name__ = name
    return f


nanmax = _nan_extreme("nanmax", max, -_onp.inf)
nanmin = _nan_extreme("nanmin", min, _onp.inf)


def _nan_arg(name, reducer, fill):
    def f(a, axis=None, out=None, keepdims=False):
        filled, mask = _nan_filled(a, fill)
        r = reducer(filled, axis, keepdims=keepdims)
        if mask is None:
            return r
        return where(all(mask, axis, keepdims=keepdims), asarray(-1, r.dtype), r)
    f.__name__ = name
    return f


nanargmax = _nan_arg("nanargmax", argmax, -_onp.inf)
nanargmin = _nan_arg("nanargmin", argmin, _onp.inf)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    a = asarray(a)
    if not _dt.is_inexact(a.dtype):
        return mean(a, axis, dtype, out, keepdims, where=where)
    dtype = dtype or a.dtype
    valid = logical_not(isnan(a))
    if where is not None:
        valid = logical_and(valid, where)
    total = sum(a, axis, dtype, keepdims=keepdims, where=valid)
    return total / sum(valid, axis, dtype=dtype, keepdims=keepdims)


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None,
           correction=None):
    a = asarray(a)
    if correction is not None:
        ddof = correction
    if not _dt.is_inexact(a.dtype):
        return var(a, axis, dtype, out, ddof, keepdims, where=where)
    comp = dtype or a.dtype
    a = astype(a, comp)
    valid = logical_not(isnan(a))
    if where is not None:
        valid = logical_and(valid, where)
    centered = _select(valid, a - nanmean(a, axis, keepdims=True, where=valid), 0)
    sq = real(centered * conj(centered)) if _dt.is_complex(comp) else centered * centered
    n = sum(valid, axis, dtype=sq.dtype, keepdims=keepdims) - ddof
    return sum(sq, axis, keepdims=keepdims) / n


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None,
           correction=None):
    return sqrt(nanvar(a, axis, dtype, out, ddof, keepdims, where, correction))


def _nan_cumulative(name, fn, fill):
    def f(a, axis=None, dtype=None, out=None):
        return fn(_nan_filled(a, fill)[0], axis, dtype)
    f.__name__ = name
    return f


nancumsum = _nan_cumulative("nancumsum", cumsum, 0)
nancumprod = _nan_cumulative("nancumprod", cumprod, 1)

_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(op, a, q, axis, method, keepdims, skip_nans):
    """Sorted values at the positions ``q * (n - 1)``, interpolated by ``method``; with
    ``skip_nans`` n counts the non-NaN entries (sorted NaNs go last)."""
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"{op}: method must be one of {_QUANTILE_METHODS}, got {method!r}")
    a, q = asarray(a), asarray(q)
    (a,) = promote_dtypes_inexact(a)
    if _dt.is_complex(a.dtype):
        raise ValueError(f"{op} does not support complex input{_where_msg()}")
    if q.ndim > 1:
        raise ValueError(f"{op}: q must have rank <= 1, got shape {q.shape}")
    (q,) = promote_dtypes_inexact(q)
    axes = canonicalize_axes(axis, a.ndim, op)
    kept = [d for d in range(a.ndim) if d not in axes]
    moved = transpose(a, kept + list(axes))
    flat = reshape(moved, [a.shape[d] for d in kept] + [-1])
    n_all = flat.shape[-1]
    if skip_nans:
        n = sum(logical_not(isnan(flat)), -1, dtype=q.dtype, keepdims=True)
    else:
        flat = where(any(isnan(flat), -1, keepdims=True), asarray(_onp.nan, flat.dtype), flat)
        n = full((1,) * flat.ndim, n_all, q.dtype)
    s = sort(flat, -1)
    qs = reshape(q, q.shape + (1,) * flat.ndim)                # q dims first
    pos = qs * (n - 1)
    low, high = floor(pos), ceil(pos)
    high_w = pos - low
    low = astype(clip(low, 0, n - 1), int32)
    high = astype(clip(high, 0, n - 1), int32)
    sb = broadcast_to(s, q.shape + s.shape)

    def pick(idx):
        idx = broadcast_to(idx, q.shape + s.shape[:-1] + (1,))
        return take_along_axis(sb, idx, axis=-1)[..., 0]
    lo_v, hi_v = pick(low), pick(high)
    high_w = broadcast_to(high_w, q.shape + s.shape[:-1] + (1,))[..., 0]
    if method == "linear":
        out = lo_v * (1 - high_w) + hi_v * high_w
    elif method == "lower":
        out = lo_v
    elif method == "higher":
        out = hi_v
    elif method == "nearest":
        out = where(less_equal(high_w, 0.5), lo_v, hi_v)
    else:
        out = (lo_v + hi_v) * 0.5
    if keepdims:
        shape = list(a.shape)
        for d in axes:
            shape[d] = 1
        out = reshape(out, q.shape + tuple(shape))
    return astype(out, result_type(a, q)) if out.dtype != result_type(a, q) else out


def _no_out(op, out, overwrite_input):
    if out is not None or overwrite_input:
        raise ValueError(f"{op}: out= and overwrite_input=True are not supported (arrays are "
                         f"immutable); use the return value")


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None):
    _no_out("quantile", out, overwrite_input)
    if weights is not None:
        raise NotImplementedError("quantile: weights= is not supported")
    return _quantile("quantile", a, q, axis, method, keepdims, False)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False):
    _no_out("nanquantile", out, overwrite_input)
    return _quantile("nanquantile", a, q, axis, method, keepdims, True)


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False):
    _no_out("percentile", out, overwrite_input)
    (q,) = promote_dtypes_inexact(asarray(q))
    return _quantile("percentile", a, q / 100, axis, method, keepdims, False)


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                  keepdims=False):
    _no_out("nanpercentile", out, overwrite_input)
    (q,) = promote_dtypes_inexact(asarray(q))
    return _quantile("nanpercentile", a, q / 100, axis, method, keepdims, True)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    _no_out("median", out, overwrite_input)
    return _quantile("median", a, 0.5, axis, "midpoint", keepdims, False)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    _no_out("nanmedian", out, overwrite_input)
    return _quantile("nanmedian", a, 0.5, axis, "midpoint", keepdims, True)


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None,
        dtype=None):
    m = atleast_2d(asarray(m))
    if m.ndim > 2:
        raise ValueError(f"cov: m has more than 2 dimensions (shape {m.shape})")
    if not rowvar and m.shape[0] != 1:
        m = m.T
    if y is not None:
        y = atleast_2d(asarray(y))
        if not rowvar and y.shape[0] != 1:
            y = y.T
        m = concatenate([m, y], 0)
    (m,) = promote_dtypes_inexact(m)
    if dtype is not None:
        m = astype(m, dtype)
    ddof = (0 if bias else 1) if ddof is None else ddof
    w = None
    if fweights is not None:
        w = asarray(fweights)
    if aweights is not None:
        aw = asarray(aweights)
        w = aw if w is None else w * aw
    if w is None:
        n = m.shape[1]
        avg = mean(m, 1, keepdims=True)
        fact = n - ddof
    else:
        w = astype(w, m.dtype)
        wsum = sum(w)
        avg = sum(m * w, 1, keepdims=True) / wsum
        fact = wsum - ddof if aweights is None else \
            wsum - ddof * sum(w * astype(asarray(aweights), m.dtype)) / wsum
    x = m - avg
    xw = x if w is None else x * w
    c = dot(xw, conj(x).T) / fact
    return squeeze(c) if c.shape == (1, 1) else c


def corrcoef(x, y=None, rowvar=True, dtype=None):
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return c / c
    d = diagonal(c)
    stddev = sqrt(real(d))
    c = c / stddev[:, None] / stddev[None, :]
    if _dt.is_complex(c.dtype):
        return lax.complex(clip(real(c), -1, 1), clip(imag(c), -1, 1))
    return clip(c, -1, 1)


# --- searching, counting, histograms ----------------------------------------------------------

def _sort_lt(x, y):
    """x < y in sort order: NaNs after every number (as ``sort`` places them)."""
    if not _dt.is_inexact(typeinfo(x)[0]):
        return less(x, y)
    return logical_or(less(x, y), logical_and(isnan(y), logical_not(isnan(x))))


def searchsorted(a, v, side="left", sorter=None, *, method="scan"):
    """Insertion points of ``v`` in the sorted 1-d ``a``: a count of the entries of ``a``
    before each value (one comparison per pair; exact, and NaN-aware like ``sort``)."""
    a, v = asarray(a), asarray(v)
    if a.ndim != 1:
        raise ValueError(f"searchsorted: a must be 1-dimensional, got shape {a.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    a, v = promote_dtypes(a, v)
    if sorter is not None:
        a = take(a, asarray(sorter), axis=0)
    ae = reshape(a, (1,) * v.ndim + a.shape)
    ve = expand_dims(v, -1)
    before = _sort_lt(ae, ve) if side == "left" else logical_not(_sort_lt(ve, ae))
    return sum(before, -1, dtype=int32)


def digitize(x, bins, right=False, *, method=None):
    x, bins = asarray(x), asarray(bins)
    if bins.ndim != 1:
        raise ValueError(f"digitize: bins must be 1-dimensional, got shape {bins.shape}")
    if bins.shape[0] == 0:
        return zeros(x.shape, int32)
    side = "left" if right else "right"
    increasing = greater_equal(bins[-1], bins[0])
    return where(increasing, searchsorted(bins, x, side),
                 bins.shape[0] - searchsorted(flip(bins), x, side))


def bincount(x, weights=None, minlength=0, *, length=None):
    x = asarray(x)
    if x.dtype == bool_:
        x = astype(x, int32)
    if not _dt.is_int(x.dtype):
        raise TypeError(f"bincount: x must have an integer type, got {x.dtype}{_where_msg()}")
    if x.ndim != 1:
        raise ValueError(f"bincount: only 1-dimensional input is supported, got {x.shape}")
    minlength = operator.index(minlength)
    if length is None:
        vals = _concrete(x, "bincount", "x", "pass length=N, the number of bins")
        length = builtins.max(minlength, builtins.int(vals.max()) + 1 if vals.size else 0)
    w = asarray(1, _dt.default_int()) if weights is None else asarray(weights)
    if weights is not None and w.shape != x.shape:
        raise ValueError(f"bincount: weights shape {w.shape} must match x shape {x.shape}")
    return zeros(length, w.dtype).at[clip(x, 0)].add(w, mode="drop")


def histogram_bin_edges(a, bins=10, range=None, weights=None):
    if isinstance(bins, str):
        raise NotImplementedError("histogram_bin_edges: string values of bins (estimators) "
                                  "are not supported; pass a number of bins or the edges")
    a = asarray(a)
    dt = _inexact(a.dtype)
    if _onp.ndim(bins) == 1:
        return asarray(bins, dt)
    nbins = operator.index(_concrete(bins, "histogram_bin_edges", "bins",
                                     "pass a Python int").item())
    lo, hi = (min(a), max(a)) if range is None else (asarray(range[0]), asarray(range[1]))
    lo, hi = astype(lo, dt), astype(hi, dt)
    flat = equal(lo, hi)
    lo, hi = where(flat, lo - 0.5, lo), where(flat, hi + 0.5, hi)
    return linspace(lo, hi, nbins + 1, dtype=dt)


def histogram(a, bins=10, range=None, weights=None, density=None):
    a = asarray(a)
    if weights is None:
        (a,) = promote_dtypes_inexact(a)
        weights = ones_like(a)
    else:
        if shape_of(weights) != a.shape:
            raise ValueError(f"histogram: weights shape {shape_of(weights)} must match a's "
                             f"shape {a.shape}")
        a, weights = promote_dtypes_inexact(a, asarray(weights))
    edges = histogram_bin_edges(a, bins, range)
    idx = searchsorted(edges, a, side="right")
    idx = where(equal(a, edges[-1]), edges.shape[0] - 1, idx)
    counts = zeros(edges.shape[0], weights.dtype).at[idx].add(weights)[1:]
    if density:
        counts = counts / diff(edges) / sum(counts)
    return counts, edges


def histogramdd(sample, bins=10, range=None, weights=None, density=None):
    sample = asarray(sample)
    if sample.ndim != 2:
        raise ValueError(f"histogramdd: sample must be 2-dimensional (N, D), got {sample.shape}")
    n, d = sample.shape
    if weights is not None and shape_of(weights) != (n,):
        raise ValueError(f"histogramdd: weights shape {shape_of(weights)} must be ({n},)")
    bins_per = bins if isinstance(bins, (list, tuple)) else [bins] * d
    ranges = range if range is not None else [None] * d
    if len(bins_per) != d or len(ranges) != d:
        raise ValueError(f"histogramdd: need one bins/range entry per dimension ({d})")
    edges, flat_idx, shape = [], None, []
    for k in builtins.range(d):
        e = histogram_bin_edges(sample[:, k], bins_per[k], ranges[k])
        col = sample[:, k]
        i = searchsorted(e, col, side="right")
        i = where(equal(col, e[-1]), e.shape[0] - 1, i)
        edges.append(e)
        shape.append(e.shape[0] + 1)
        flat_idx = i if flat_idx is None else flat_idx * (e.shape[0] + 1) + i
    # unweighted counts are integers (as in JAX), made float by density
    w = ones(n, _dt.default_int()) if weights is None else asarray(weights)
    counts = zeros(math.prod(shape), w.dtype).at[flat_idx].add(w)
    counts = reshape(counts, shape)[(builtins.slice(1, -1),) * d]
    if density:
        counts = counts / astype(sum(counts), _inexact(counts.dtype))
        for k, e in enumerate(edges):
            width = reshape(diff(e), [-1 if j == k else 1 for j in builtins.range(d)])
            counts = counts / width
    return counts, edges


def histogram2d(x, y, bins=10, range=None, weights=None, density=None):
    if not isinstance(bins, (list, tuple)) and _onp.ndim(bins) == 1:
        bins = [bins, bins]
    counts, (ex, ey) = histogramdd(stack([asarray(x), asarray(y)], 1), bins, range, weights,
                                   density)
    return counts, ex, ey


def interp(x, xp, fp, left=None, right=None, period=None):
    x, xp, fp = asarray(x), asarray(xp), asarray(fp)
    if xp.ndim != 1 or xp.shape != fp.shape:
        raise ValueError(f"interp: xp and fp must be 1-dimensional of equal size, got "
                         f"{xp.shape} and {fp.shape}")
    x, xp = promote_dtypes_inexact(x, xp)
    (fp,) = promote_dtypes_inexact(fp)
    if _dt.is_complex(x.dtype):
        raise ValueError("interp: complex x values are not supported")
    for name, v in (("left", left), ("right", right)):
        if isinstance(v, str) and v != "extrapolate":
            raise ValueError(f"interp: the only string value of {name} is 'extrapolate', "
                             f"got {v!r}")
    if period is not None:
        period = abs(asarray(period))
        x, xp = remainder(x, period), remainder(xp, period)
        xp, fp = lax.sort((xp, fp), num_keys=1)
        xp = concatenate([xp[-1:] - period, xp, xp[:1] + period])
        fp = concatenate([fp[-1:], fp, fp[:1]])
    i = clip(searchsorted(xp, x, side="right"), 1, xp.shape[0] - 1)
    x0, x1, f0, f1 = take(xp, i - 1), take(xp, i), take(fp, i - 1), take(fp, i)
    dx = x1 - x0
    flat = less_equal(abs(dx), _onp.spacing(finfo(xp.dtype).eps))
    f = where(flat, f0, f0 + (x - x0) / where(flat, ones_like(dx), dx) * (f1 - f0))
    if period is None:
        if not isinstance(left, str):
            f = where(less(x, xp[0]), fp[0] if left is None else asarray(left, f.dtype), f)
        if not isinstance(right, str):
            f = where(greater(x, xp[-1]), fp[-1] if right is None else asarray(right, f.dtype), f)
    return f


# --- sets ----------------------------------------------------------------------------------

def _first_of_runs(s, equal_nan=True):
    """Mask of the first entry of each run of equal sorted values (rows if 2-d)."""
    if s.shape[0] == 0:
        return zeros(0, bool_)
    differ = not_equal(s[1:], s[:-1])
    if equal_nan and _dt.is_inexact(s.dtype):
        differ = logical_and(differ, logical_not(logical_and(isnan(s[1:]), isnan(s[:-1]))))
    if s.ndim > 1:
        differ = any(differ, tuple(builtins.range(1, s.ndim)))
    return concatenate([ones(1, bool_), differ])


def _compact(op, values, mask, size, fill_value, default_fill="first"):
    """The entries of ``values`` where ``mask`` is set, in order: all of them (concrete
    mask), or exactly ``size`` of them padded with ``fill_value``."""
    if size is None:
        size = _count_true(mask, op)
        fill_value = 0 if fill_value is None else fill_value
    n = values.shape[0]
    (idx,) = nonzero(mask, size=size, fill_value=n)
    picked = take(values, idx, axis=0, mode="fill", fill_value=0) if n else \
        zeros((size,) + values.shape[1:], values.dtype)
    valid = less(arange(size), sum(mask))
    valid = reshape(valid, (size,) + (1,) * (values.ndim - 1))
    if fill_value is None:
        if default_fill == "first":
            fill = picked[:1] if size else picked
        else:  # the smallest valid entry (0 if there is none), as JAX fills
            top = max(picked, 0, keepdims=True) if size else picked
            fill = min(where(valid, picked, top), 0, keepdims=True) if size else picked
        return where(valid, picked, fill) if n else picked
    return where(valid, picked, asarray(fill_value, values.dtype))


def _lexsort_rows(rows):
    """Permutation sorting the rows of a 2-d array lexicographically (column 0 first)."""
    n, m = rows.shape
    keys = [rows[:, j] for j in builtins.range(m)]
    return lax.sort(tuple(keys) + (arange(n, dtype=int32),), 0, num_keys=builtins.max(m, 1))[-1]


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, size=None, fill_value=None, sorted=True):
    ar = asarray(ar)
    flat_axis = axis is None
    if flat_axis:
        ar, axis = ravel(ar), 0
    axis = canonicalize_axis(axis, ar.ndim, "unique")
    if ar.shape[axis] == 0 and size and fill_value is None:
        raise ValueError("unique: for an empty input with size > 0, pass fill_value")
    rows = moveaxis(ar, axis, 0)
    n = rows.shape[0]
    if rows.ndim == 1:
        perm = argsort(rows) if n else zeros(0, int32)
        perm = astype(perm, int32)
    else:
        perm = _lexsort_rows(reshape(rows, (n, -1)))
    srt = take(rows, perm, axis=0) if n else rows
    mask = _first_of_runs(srt, equal_nan)
    values = _compact("unique", srt, mask, size, fill_value)
    out = [moveaxis(values, 0, axis)]
    k = values.shape[0]
    (first,) = nonzero(mask, size=k, fill_value=n) if n else (zeros(k, int32),)
    if return_index:  # padding repeats the first index, as in JAX
        out.append(astype(take(perm, nonzero(mask, size=k)[0]), _dt.default_int())
                   if n else zeros(k, _dt.default_int()))
    if return_inverse:
        inv = zeros(n, _dt.default_int())
        if n:
            inv = inv.at[perm].set(astype(cumsum(mask) - 1, _dt.default_int()))
        out.append(reshape(inv, shape_of(ar)) if flat_axis and ar.ndim == 1 else inv)
    if return_counts:
        ends = concatenate([first[1:], asarray([n], first.dtype)]) if k else first
        out.append(astype(where(less(first, n), ends - first, 0), _dt.default_int()))
    return out[0] if len(out) == 1 else tuple(out)


_UniqueCounts = collections.namedtuple("UniqueCountsResult", "values counts")
_UniqueInverse = collections.namedtuple("UniqueInverseResult", "values inverse_indices")
_UniqueAll = collections.namedtuple("UniqueAllResult",
                                    "values indices inverse_indices counts")


def unique_values(x, *, size=None, fill_value=None):
    return unique(x, size=size, fill_value=fill_value)


def unique_counts(x, *, size=None, fill_value=None):
    return _UniqueCounts(*unique(x, return_counts=True, size=size, fill_value=fill_value))


def unique_inverse(x, *, size=None, fill_value=None):
    x = asarray(x)
    vals, inv = unique(x, return_inverse=True, size=size, fill_value=fill_value)
    return _UniqueInverse(vals, reshape(inv, x.shape))


def unique_all(x, *, size=None, fill_value=None):
    x = asarray(x)
    vals, idx, inv, counts = unique(x, True, True, True, size=size, fill_value=fill_value)
    return _UniqueAll(vals, idx, reshape(inv, x.shape), counts)


def isin(element, test_elements, assume_unique=False, invert=False, *, method="auto"):
    element, test = asarray(element), ravel(asarray(test_elements))
    hit = any(equal(expand_dims(element, -1), test), -1) if test.shape[0] else \
        zeros(element.shape, bool_)
    return logical_not(hit) if invert else hit


def _sorted_with_first(a):
    s = sort(ravel(a))
    return s, _first_of_runs(s)


def union1d(ar1, ar2, *, size=None, fill_value=None):
    a, b = promote_dtypes(ravel(asarray(ar1)), ravel(asarray(ar2)))
    return unique(concatenate([a, b]), size=size, fill_value=fill_value)


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False, *, size=None,
                fill_value=None):
    if return_indices:
        raise NotImplementedError("intersect1d: return_indices=True is not supported; use "
                                  "searchsorted on the result")
    a, b = promote_dtypes(ravel(asarray(ar1)), ravel(asarray(ar2)))
    s, first = _sorted_with_first(a)
    return _compact("intersect1d", s, logical_and(first, isin(s, b)), size, fill_value, "min")


def setdiff1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    a, b = ravel(asarray(ar1)), ravel(asarray(ar2))
    s, first = _sorted_with_first(a)
    fill = 0 if fill_value is None else fill_value
    return _compact("setdiff1d", s, logical_and(first, isin(s, b, invert=True)), size, fill)


def setxor1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    a, b = promote_dtypes(ravel(asarray(ar1)), ravel(asarray(ar2)))
    s, first = _sorted_with_first(concatenate([a, b]))
    only_one = logical_xor(isin(s, a), isin(s, b))
    return _compact("setxor1d", s, logical_and(first, only_one), size, fill_value, "min")


def lexsort(keys, axis=-1):
    """Indices sorting by the last key first, ties broken by the earlier keys."""
    keys = [asarray(k) for k in keys] if not isinstance(keys, ARRAY_TYPES) else \
        [keys[i] for i in builtins.range(keys.shape[0])]
    if not keys:
        raise TypeError("lexsort: need at least one key")
    shape = broadcast_shapes(*[k.shape for k in keys])
    keys = [broadcast_to(k, shape) for k in keys]
    if not shape:
        return asarray(0, _dt.default_int())
    ax = canonicalize_axis(axis, len(shape), "lexsort")
    iota = lax.broadcasted_iota(_dt.default_int(), shape, ax)
    return lax.sort(tuple(reversed(keys)) + (iota,), ax, num_keys=len(keys))[-1]


def _partition_args(a, kth, axis):
    """``a`` with ``axis`` moved last, and ``kth`` as a non-negative position on it."""
    a = moveaxis(asarray(a), axis, -1)
    kth = operator.index(kth)
    return a, kth + a.shape[-1] if kth < 0 else kth


def partition(a, kth, axis=-1):
    """The ``kth + 1`` smallest values in ascending order, then the rest in descending
    order (JAX's arrangement)."""
    a, kth = _partition_args(a, kth, axis)
    s = sort(a, -1)
    out = concatenate([s[..., :kth + 1], flip(s[..., kth + 1:], -1)], -1)
    return moveaxis(out, -1, axis)


def argpartition(a, kth, axis=-1):
    """Indices of the ``kth + 1`` smallest values (ascending), then of the others in index
    order (JAX's arrangement)."""
    a, kth = _partition_args(a, kth, axis)
    n = a.shape[-1]
    order = argsort(a, -1)
    low = order[..., :kth + 1]
    in_low = zeros(a.shape, int32)
    in_low = put_along_axis(in_low, low, 1, -1, inplace=False)
    rest = argsort(in_low, -1)[..., :n - kth - 1]
    return moveaxis(concatenate([low, astype(rest, low.dtype)], -1), -1, axis)


def sort_complex(a):
    a = sort(asarray(a), 0 if asarray(a).ndim == 1 else -1)
    return a if _dt.is_complex(a.dtype) else \
        astype(a, _dt.complex_dtype(_inexact(a.dtype)))


# --- differences, integration, convolution, polynomials -----------------------------------------

def diff(a, n=1, axis=-1, prepend=None, append=None):
    a = asarray(a)
    if n < 0:
        raise ValueError(f"diff: order n must be non-negative, got {n}")
    if a.ndim == 0:
        raise ValueError("diff: requires an input of at least one dimension")
    ax = canonicalize_axis(axis, a.ndim, "diff")
    parts = [a]
    if prepend is not None:
        parts.insert(0, _diff_edge(prepend, a, ax))
    if append is not None:
        parts.append(_diff_edge(append, a, ax))
    a = concatenate(parts, ax) if len(parts) > 1 else a
    for _ in builtins.range(n):
        hi = lax.slice_in_dim(a, 1, a.shape[ax], 1, ax)
        lo = lax.slice_in_dim(a, 0, a.shape[ax] - 1, 1, ax)
        a = not_equal(hi, lo) if a.dtype == bool_ else hi - lo
    return a


def _diff_edge(extra, a, ax):
    """``prepend``/``append`` of ``diff``: a scalar becomes a slice of length 1."""
    e = asarray(extra)
    if e.ndim:
        return e
    shape = list(a.shape)
    shape[ax] = 1
    return broadcast_to(e, shape)


def ediff1d(ary, to_end=None, to_begin=None):
    d = diff(ravel(ary))
    pieces = [ravel(asarray(to_begin, d.dtype))] if to_begin is not None else []
    pieces.append(d)
    if to_end is not None:
        pieces.append(ravel(asarray(to_end, d.dtype)))
    return concatenate(pieces) if len(pieces) > 1 else d


def gradient(f, *varargs, axis=None, edge_order=None):
    """Central differences inside, one-sided at the edges; spacing a scalar or coordinates."""
    if edge_order is not None:
        raise NotImplementedError("gradient: edge_order is not supported (first-order edges "
                                  "only, as in JAX)")
    a, *spacing = promote_dtypes_inexact(asarray(f), *varargs)
    axes = canonicalize_axes(axis, a.ndim, "gradient")
    if not axes:
        return []
    if builtins.min(a.shape[ax] for ax in axes) < 2:
        raise ValueError("gradient: the array is too small to compute a numerical gradient, "
                         "at least 2 elements along each axis are required")
    if not spacing:
        spacing = [1.0] * len(axes)
    elif len(spacing) == 1:
        spacing = spacing * len(axes)
    elif len(spacing) != len(axes):
        raise TypeError(f"gradient: {len(spacing)} spacing arguments for {len(axes)} axes")

    def along(ax, h):
        def sl(x, lo, hi):
            return lax.slice_in_dim(x, lo, hi % x.shape[ax] if hi < 0 else hi, 1, ax)
        n = a.shape[ax]
        first = sl(a, 1, 2) - sl(a, 0, 1)
        last = sl(a, n - 1, n) - sl(a, n - 2, n - 1)
        h = asarray(h)
        if h.ndim == 0:
            inner = (sl(a, 2, n) - sl(a, 0, n - 2)) * 0.5 / h
            first, last = first / h, last / h
        elif h.ndim == 1:
            if h.shape[0] != n:
                raise ValueError("gradient: a spacing array must be as long as its axis")
            h = reshape(h, [n if d == ax else 1 for d in builtins.range(a.ndim)])
            first = first / (sl(h, 1, 2) - sl(h, 0, 1))
            last = last / (sl(h, n - 1, n) - sl(h, n - 2, n - 1))
            d1 = sl(h, 1, n - 1) - sl(h, 0, n - 2)
            d2 = sl(h, 2, n) - sl(h, 1, n - 1)
            inner = (-d2 / (d1 * (d1 + d2)) * sl(a, 0, n - 2) + (d2 - d1) / (d1 * d2)
                     * sl(a, 1, n - 1) + d1 / (d2 * (d1 + d2)) * sl(a, 2, n))
        else:
            raise ValueError("gradient: spacing must be scalars or 1-d coordinate arrays")
        return concatenate([first, inner, last], ax)
    out = [along(ax, h) for ax, h in zip(axes, spacing)]
    return out[0] if len(out) == 1 else out


def trapezoid(y, x=None, dx=1.0, axis=-1):
    y = moveaxis(asarray(y), axis, -1)
    if x is None:
        (y,) = promote_dtypes_inexact(y)
        return sum(y[..., 1:] + y[..., :-1], -1) * (0.5 * dx)
    y, x = promote_dtypes_inexact(y, asarray(x))
    x = moveaxis(x, axis, -1) if x.ndim == y.ndim else x
    dxs = diff(x, axis=-1)
    return 0.5 * sum(dxs * (y[..., 1:] + y[..., :-1]), -1)


def _conv1d(op, x, y, mode):
    x, y = asarray(x), asarray(y)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"{op}: only 1-dimensional inputs are supported, got shapes "
                         f"{x.shape} and {y.shape}")
    x, y = promote_dtypes_inexact(x, y)
    if x.shape[0] == 0 or y.shape[0] == 0:
        raise ValueError(f"{op}: inputs cannot be empty, got shapes {x.shape} and {y.shape}")
    reverse_out = False
    if op == "correlate":
        y = conj(y)
        if x.shape[0] < y.shape[0]:
            x, y, reverse_out = y, x, True
    else:
        if x.shape[0] < y.shape[0]:
            x, y = y, x
        y = flip(y)
    m = y.shape[0]
    pads = {"valid": (0, 0), "same": (m // 2, m - m // 2 - 1), "full": (m - 1, m - 1)}
    if mode not in pads:
        raise ValueError(f"{op}: mode must be one of ['full', 'same', 'valid'], got {mode!r}")
    out = lax.conv_general_dilated(reshape(x, (1, 1, -1)), reshape(y, (1, 1, -1)), (1,),
                                   [pads[mode]])[0, 0]
    return flip(out) if reverse_out else out


def convolve(a, v, mode="full", *, precision=None, preferred_element_type=None):
    return _conv1d("convolve", a, v, mode)


def correlate(a, v, mode="valid", *, precision=None, preferred_element_type=None):
    return _conv1d("correlate", a, v, mode)


def _poly1d(op, p):
    p = asarray(p)
    if p.ndim != 1:
        raise ValueError(f"{op}: coefficients must be 1-dimensional, got shape {p.shape}")
    return p


def polyval(p, x, *, unroll=16):
    """Horner's rule: ``p[0] * x**(n-1) + ... + p[n-1]``."""
    p, x = promote_dtypes(asarray(p), x)
    x = asarray(x)
    p = _poly1d("polyval", p)
    y = zeros_like(x)
    for i in builtins.range(p.shape[0]):
        y = y * x + p[i]
    return y


def polyadd(a1, a2):
    a1, a2 = promote_dtypes(_poly1d("polyadd", a1), _poly1d("polyadd", a2))
    n = builtins.max(a1.shape[0], a2.shape[0])
    return pad(a1, (n - a1.shape[0], 0)) + pad(a2, (n - a2.shape[0], 0))


def polysub(a1, a2):
    return polyadd(a1, negative(asarray(a2)))


def polymul(a1, a2, *, trim_leading_zeros=False):
    if trim_leading_zeros:
        raise NotImplementedError("polymul: trim_leading_zeros=True has a value-dependent "
                                  "shape; call trim_zeros(..., 'f') on concrete inputs instead")
    a1, a2 = promote_dtypes_inexact(_poly1d("polymul", a1), _poly1d("polymul", a2))
    if a1.shape[0] == 0:
        a1 = zeros(1, a1.dtype)
    if a2.shape[0] == 0:
        a2 = zeros(1, a2.dtype)
    return convolve(a1, a2, mode="full")


def polyder(p, m=1):
    p = _poly1d("polyder", p)
    if m < 0:
        raise ValueError(f"polyder: order m must be non-negative, got {m}")
    (p,) = promote_dtypes_inexact(p)
    for _ in builtins.range(m):
        n = p.shape[0]
        p = p[:-1] * arange(n - 1, 0, -1, dtype=p.dtype) if n > 1 else zeros(0, p.dtype)
    return p


def polyint(p, m=1, k=None):
    p = _poly1d("polyint", p)
    if m < 0:
        raise ValueError(f"polyint: order m must be non-negative, got {m}")
    (p,) = promote_dtypes_inexact(p)
    if m == 0:
        return p
    ks = zeros(m, p.dtype) if k is None else broadcast_to(asarray(k, p.dtype), (m,))
    for i in builtins.range(m):
        n = p.shape[0]
        p = concatenate([p / arange(n, 0, -1, dtype=p.dtype), ks[i:i + 1]])
    return p


def polydiv(u, v, *, trim_leading_zeros=False):
    """Quotient and remainder of polynomial long division (leading divisor coefficient
    must be nonzero)."""
    u, v = promote_dtypes_inexact(_poly1d("polydiv", u), _poly1d("polydiv", v))
    m, n = u.shape[0] - 1, v.shape[0] - 1
    scale = 1.0 / v[0]
    q = zeros(builtins.max(m - n + 1, 1), u.dtype)
    r = u
    for k in builtins.range(0, m - n + 1):
        d = scale * r[k]
        q = q.at[k].set(d)
        r = r.at[k:k + n + 1].add(-d * v)
    if trim_leading_zeros:
        raise NotImplementedError("polydiv: trim_leading_zeros=True has a value-dependent "
                                  "shape; use trim_zeros on concrete results")
    return q, r


def poly(seq_of_zeros):
    """Coefficients of the monic polynomial with the given roots (1-d input)."""
    z = asarray(seq_of_zeros)
    if z.ndim != 1:
        raise NotImplementedError("poly: only a 1-d sequence of roots is supported (the "
                                  "characteristic polynomial of a matrix needs eigvals)")
    (z,) = promote_dtypes_inexact(z)
    out = ones(1, z.dtype)
    for i in builtins.range(z.shape[0]):
        out = convolve(out, stack([ones((), z.dtype), -z[i]]), mode="full")
    if _dt.is_complex(out.dtype):
        conj_closed = all(isin(z, conj(z)))  # roots in conjugate pairs: real coefficients
        out = where(conj_closed, astype(real(out), out.dtype), out)
    return out


def vander(x, N=None, increasing=False):
    x = asarray(x)
    if x.ndim != 1:
        raise ValueError(f"vander: x must be 1-dimensional, got shape {x.shape}")
    N = x.shape[0] if N is None else operator.index(N)
    if N < 0:
        raise ValueError(f"vander: N must be non-negative, got {N}")
    powers = arange(N, dtype=_dt.default_int())
    if not increasing:
        powers = flip(powers)
    return power(expand_dims(x, -1), powers)


def unwrap(p, discont=None, axis=-1, period=2 * _onp.pi):
    (p,) = promote_dtypes_inexact(asarray(p))
    if _dt.is_complex(p.dtype):
        raise ValueError("unwrap does not support complex input")
    ax = canonicalize_axis(axis, p.ndim, "unwrap")
    half = asarray(period, p.dtype) / 2
    discont = half if discont is None else asarray(discont, p.dtype)
    dd = diff(p, axis=ax)
    ddmod = remainder(dd + half, asarray(period, p.dtype)) - half
    ddmod = where(logical_and(equal(ddmod, -half), greater(dd, 0)), half, ddmod)
    correction = where(less(abs(dd), discont), zeros_like(dd), ddmod - dd)
    first = lax.slice_in_dim(p, 0, 1, 1, ax)
    return concatenate([first, lax.slice_in_dim(p, 1, p.shape[ax], 1, ax)
                        + cumsum(correction, ax)], ax)


def matvec(x1, x2):
    x1, x2 = promote_dtypes(x1, x2)
    return sum(x1 * expand_dims(asarray(x2), -2), -1)


def vecmat(x1, x2):
    x1, x2 = promote_dtypes(x1, x2)
    return sum(expand_dims(conj(asarray(x1)), -1) * x2, -2)


# --- building and editing arrays ---------------------------------------------------------------

def append(arr, values, axis=None):
    if axis is None:
        return concatenate([ravel(arr), ravel(values)])
    return concatenate([arr, values], axis)


def _index_list(op, obj, n):
    """Static, non-negative indices from an int, a sequence or a slice along a length n."""
    if isinstance(obj, builtins.slice):
        return _onp.arange(n)[obj]
    idx = _concrete(obj, op, "obj", "pass the indices as a static NumPy array or slice")
    if idx.dtype == bool_:
        raise TypeError(f"{op}: boolean obj is not supported; pass integer indices")
    idx = idx.astype(_onp.int64)
    if _onp.any((idx < -n) | (idx >= n + (op == "insert"))):
        raise IndexError(f"{op}: index out of bounds for an axis of size {n}: {idx}")
    return _onp.where(idx < 0, idx + n, idx)


def delete(arr, obj, axis=None, *, assume_unique_indices=False):
    arr = asarray(arr)
    if axis is None:
        arr, axis = ravel(arr), 0
    ax = canonicalize_axis(axis, arr.ndim, "delete")
    n = arr.shape[ax]
    drop = _index_list("delete", obj, n)
    keep = _onp.setdiff1d(_onp.arange(n), drop)
    return take(arr, asarray(keep.astype(_onp.int32)), axis=ax)


def insert(arr, obj, values, axis=None):
    arr = asarray(arr)
    if axis is None:
        arr, axis = ravel(arr), 0
    ax = canonicalize_axis(axis, arr.ndim, "insert")
    n = arr.shape[ax]
    where_at = _index_list("insert", obj, n)
    values = asarray(values, arr.dtype)
    shape = list(arr.shape)
    if where_at.ndim == 0:  # one position: values form a block of its own length there
        values = reshape(values, (1,) * (arr.ndim - values.ndim) + values.shape)
        values = moveaxis(values, 0, ax)
        shape[ax] = values.shape[ax]
        where_at = _onp.full(shape[ax], where_at)
    else:
        shape[ax] = where_at.shape[0]
    values = broadcast_to(values, shape)
    # inserted entries go before the original entry at their index, in the order given
    keys = _onp.concatenate([2 * _onp.arange(n) + 1, 2 * where_at])
    src = _onp.argsort(keys, kind="stable")
    return take(concatenate([arr, values], ax), asarray(src.astype(_onp.int32)), axis=ax)


def resize(a, new_shape):
    a = ravel(asarray(a))
    new_shape = _shape_tuple(new_shape, "resize")
    total = math.prod(new_shape)
    if a.size == 0 or total == 0:
        return zeros(new_shape, a.dtype)
    reps = -(-total // a.size)
    return reshape(tile(a, reps)[:total], new_shape)


def block(arrays):
    """Assemble an array from nested lists of blocks (innermost lists join the last axis)."""
    def depth(x):
        return 1 + depth(x[0]) if isinstance(x, list) and x else (1 if isinstance(x, list)
                                                                   else 0)
    d = depth(arrays)
    if isinstance(arrays, tuple):
        raise TypeError("block: arrays must be nested lists, not tuples")
    if d == 0:
        return asarray(arrays)

    def ndim_max(x):
        return builtins.max(ndim_max(e) for e in x) if isinstance(x, list) else asarray(x).ndim
    nd = builtins.max(ndim_max(arrays), d)

    def assemble(x, level):
        if not isinstance(x, list):
            x = asarray(x)
            return reshape(x, (1,) * (nd - x.ndim) + x.shape)
        if not x:
            raise ValueError("block: lists cannot be empty")
        return concatenate([assemble(e, level + 1) for e in x], nd - d + level)
    return assemble(arrays, 0)


def unstack(x, axis=0):
    x = asarray(x)
    if x.ndim == 0:
        raise ValueError("unstack: requires an array of at least one dimension")
    ax = canonicalize_axis(axis, x.ndim, "unstack")
    return tuple(lax.index_in_dim(x, i, ax, keepdims=False) for i in builtins.range(x.shape[ax]))


def diagflat(v, k=0):
    return diag(ravel(v), k)


def fill_diagonal(a, val, wrap=False, *, inplace=True):
    if inplace:
        raise ValueError("fill_diagonal: JAX arrays are immutable; pass inplace=False and use "
                         "the returned array")
    a = asarray(a)
    if a.ndim < 2:
        raise ValueError("fill_diagonal: array must be at least 2-d")
    if a.ndim > 2 and len(set(a.shape)) != 1:
        raise ValueError("fill_diagonal: all dimensions of an array of rank > 2 must be equal")
    if a.ndim == 2:
        step = a.shape[1] + 1
        end = a.size if wrap else builtins.min(a.size, a.shape[1] * a.shape[1])
    else:
        step = 1 + builtins.sum(math.prod(a.shape[:i + 1]) for i in builtins.range(a.ndim - 1))
        end = a.size
    idx = _onp.arange(0, end, step)
    vals = ravel(asarray(val, a.dtype))
    vals = resize(vals, idx.shape) if vals.size else vals
    return reshape(ravel(a).at[asarray(idx.astype(_onp.int32))].set(vals), a.shape)


def _no_inplace(op, inplace):
    if inplace:
        raise ValueError(f"{op}: JAX arrays are immutable; pass inplace=False and use the "
                         f"returned array")


def place(arr, mask, vals, *, inplace=True):
    _no_inplace("place", inplace)
    arr = asarray(arr)
    m = ravel(broadcast_to(_to_bool(asarray(mask)), arr.shape))
    vals = ravel(asarray(vals, arr.dtype))
    if vals.size == 0:
        return arr
    slot = cumsum(astype(m, int32)) - 1
    fill = take(vals, remainder(slot, vals.size))
    return reshape(where(m, fill, ravel(arr)), arr.shape)


def put(a, ind, v, mode=None, *, inplace=True):
    _no_inplace("put", inplace)
    a = asarray(a)
    ind = ravel(asarray(ind))
    v = ravel(asarray(v, a.dtype))
    if v.size == 0 or ind.size == 0:
        return a
    v = resize(v, ind.shape) if v.shape != ind.shape else v
    if mode not in (None, "fill", "drop", "promise_in_bounds", "clip", "wrap"):
        raise ValueError(f"put: mode must be one of 'clip', 'wrap', 'fill', 'drop', got "
                         f"{mode!r}")
    if mode == "wrap":
        ind, mode = remainder(ind, a.size), None
    return reshape(ravel(a).at[ind].set(v, mode=mode), a.shape)


def put_along_axis(arr, indices, values, axis, inplace=True, *, mode=None):
    _no_inplace("put_along_axis", inplace)
    arr, indices = asarray(arr), asarray(indices)
    if axis is None:
        return put(arr, indices, values, mode, inplace=False)
    ax = canonicalize_axis(axis, arr.ndim, "put_along_axis")
    if indices.ndim != arr.ndim:
        raise ValueError(f"put_along_axis: indices must have the same rank as arr "
                         f"({arr.ndim}), got shape {indices.shape}")
    idx_shape = tuple(indices.shape[d] if d == ax else
                      broadcast_shapes((indices.shape[d],), (arr.shape[d],))[0]
                      for d in builtins.range(arr.ndim))
    indices = broadcast_to(indices, idx_shape)
    index = tuple(indices if d == ax else lax.broadcasted_iota(int32, idx_shape, d)
                  for d in builtins.range(arr.ndim))
    return arr.at[index].set(broadcast_to(asarray(values, arr.dtype), idx_shape), mode=mode)


def extract(condition, arr, *, size=None, fill_value=0):
    return compress(ravel(condition), ravel(arr), size=size, fill_value=fill_value)


def compress(condition, a, axis=None, *, size=None, fill_value=0, out=None):
    if out is not None:
        raise NotImplementedError("compress: out= is not supported; use the return value")
    cond = _to_bool(asarray(condition))
    if cond.ndim != 1:
        raise ValueError(f"compress: condition must be 1-dimensional, got {cond.shape}")
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = canonicalize_axis(axis, a.ndim, "compress")
    n = a.shape[ax]
    if cond.shape[0] > n:
        cond = cond[:n]
    elif cond.shape[0] < n:
        cond = concatenate([cond, zeros(n - cond.shape[0], bool_)])
    moved = moveaxis(a, ax, 0)
    return moveaxis(_compact("compress", moved, cond, size, fill_value), 0, ax)


def choose(a, choices, out=None, mode="raise"):
    if out is not None:
        raise NotImplementedError("choose: out= is not supported; use the return value")
    if mode == "raise":
        raise NotImplementedError("choose: mode='raise' needs a value-dependent error, which "
                                  "jit cannot raise; use mode='wrap' or mode='clip'")
    if mode not in ("wrap", "clip"):
        raise ValueError(f"choose: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    a = asarray(a)
    choices = [asarray(c) for c in choices] if not isinstance(choices, ARRAY_TYPES) else \
        [choices[i] for i in builtins.range(choices.shape[0])]
    n = len(choices)
    a = remainder(a, n) if mode == "wrap" else clip(a, 0, n - 1)
    choices = promote_dtypes(*choices)
    shape = broadcast_shapes(a.shape, *[c.shape for c in choices])
    out = broadcast_to(choices[0], shape)
    a = broadcast_to(a, shape)
    for i in builtins.range(1, n):
        out = where(equal(a, i), broadcast_to(choices[i], shape), out)
    return out


def piecewise(x, condlist, funclist, *args, **kw):
    """``funclist[i](x)`` where ``condlist[i]`` holds (the last one wins); one extra
    function is the default for where none holds."""
    x = asarray(x)
    if not isinstance(condlist, (list, tuple)) and asarray(condlist).ndim == x.ndim:
        condlist = [condlist]  # one condition for the whole array
    conds = [broadcast_to(_to_bool(asarray(c)), x.shape) for c in condlist]
    nc, nf = len(conds), len(funclist)
    if nf == nc + 1:
        conds = [ones(x.shape, bool_)] + conds  # the default, overridden by any condition
        funclist = [funclist[-1]] + list(funclist[:-1])
    elif nf != nc:
        raise ValueError(f"piecewise: with {nc} conditions, funclist must have {nc} or "
                         f"{nc + 1} functions, got {nf}")
    out = zeros_like(x)
    for c, f in zip(conds, funclist):
        val = f(x, *args, **kw) if callable(f) else f
        out = where(c, asarray(val, x.dtype), out)
    return out


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    from ..batching import vmap
    arr = asarray(arr)
    ax = canonicalize_axis(axis, arr.ndim, "apply_along_axis")
    fn = lambda v: func1d(v, *args, **kwargs)  # noqa: E731
    for _ in builtins.range(ax):
        fn = vmap(fn, in_axes=0, out_axes=0)
    for _ in builtins.range(arr.ndim - ax - 1):
        fn = vmap(fn, in_axes=-1, out_axes=-1)
    return asarray(fn(arr))


def apply_over_axes(func, a, axes):
    a = asarray(a)
    for ax in [axes] if isinstance(axes, int) else axes:
        res = asarray(func(a, ax))
        a = res if res.ndim == a.ndim else expand_dims(res, ax) \
            if res.ndim == a.ndim - 1 else _bad_apply(res, a)
    return a


def _bad_apply(res, a):
    raise ValueError(f"apply_over_axes: func returned shape {res.shape}, which is neither the "
                     f"input's rank ({a.ndim}) nor one less")


def vectorize(pyfunc, *, excluded=frozenset(), signature=None):
    """``pyfunc`` mapped over the broadcast leading dimensions of its arguments with
    ``vmap``; ``signature`` ("(n),(n)->()") names core dimensions left to ``pyfunc``."""
    import functools as _ft
    from ..batching import vmap
    in_cores, out_cores = _parse_signature(signature) if signature else (None, None)

    @_ft.wraps(pyfunc)
    def wrapped(*args, **kwargs):
        dyn = [i for i in builtins.range(len(args)) if i not in excluded]
        excluded_kw = {k: v for k, v in kwargs.items() if k in excluded}
        dyn_kw = {k: v for k, v in kwargs.items() if k not in excluded}
        if dyn_kw:
            raise NotImplementedError("vectorize: pass mapped arguments positionally")
        vals = [asarray(args[i]) for i in dyn]
        cores = in_cores or [()] * len(vals)
        if len(cores) != len(vals):
            raise TypeError(f"vectorize: signature has {len(cores)} inputs, got {len(vals)}")
        loop_shapes = [v.shape[:v.ndim - len(c)] for v, c in zip(vals, cores)]
        loop = broadcast_shapes(*loop_shapes, op="vectorize")
        vals = [broadcast_to(v, loop + v.shape[v.ndim - len(c):]) for v, c in zip(vals, cores)]

        def call(*dyn_vals):
            full = list(args)
            for i, v in zip(dyn, dyn_vals):
                full[i] = v
            return pyfunc(*full, **excluded_kw)
        fn = call
        for _ in loop:
            fn = vmap(fn)
        return fn(*vals)
    return wrapped


def _parse_signature(signature):
    import re
    m = re.fullmatch(r"\s*(.*?)\s*->\s*(.*?)\s*", signature)
    if not m:
        raise ValueError(f"vectorize: not a valid signature: {signature!r}")

    def groups(s):
        return [tuple(d.strip() for d in g.split(",") if d.strip())
                for g in re.findall(r"\(([^)]*)\)", s)]
    return groups(m.group(1)), groups(m.group(2))


def fromfunction(function, shape, *, dtype=float, **kwargs):
    return function(*indices(shape, dtype=dtype), **kwargs)


def frombuffer(buffer, dtype=float, count=-1, offset=0):
    return asarray(_onp.frombuffer(buffer, dtype, count, offset))


def fromstring(string, dtype=float, count=-1, *, sep):
    return asarray(_onp.fromstring(string, dtype, count, sep=sep))


def fromiter(iterable, dtype, count=-1):
    return asarray(_onp.fromiter(iterable, dtype, count))


def fromfile(*args, **kwargs):
    raise NotImplementedError("fromfile: xform does not read files; use numpy.fromfile and "
                              "pass the result to xform.numpy.asarray")


def array_repr(arr, max_line_width=None, precision=None, suppress_small=None):
    return _onp.array_repr(_onp.asarray(arr), max_line_width, precision, suppress_small)


def array_str(a, max_line_width=None, precision=None, suppress_small=None):
    return _onp.array_str(_onp.asarray(a), max_line_width, precision, suppress_small)


def trim_zeros(filt, trim="fb", axis=None):
    """Drop leading ('f') and/or trailing ('b') zeros; the length depends on the values,
    so ``filt`` must be concrete."""
    vals = _concrete(filt, "trim_zeros", "filt", "trim concrete arrays outside jit")
    nz = _onp.flatnonzero(vals)
    start = nz[0] if "f" in trim and nz.size else (vals.size if "f" in trim else 0)
    stop = nz[-1] + 1 if "b" in trim and nz.size else (0 if "b" in trim and "f" not in trim
                                                       else vals.size)
    return asarray(filt)[start:builtins.max(start, stop)]


def packbits(a, axis=None, bitorder="big"):
    a = asarray(a)
    if not (_dt.is_int(a.dtype) or a.dtype == bool_):
        raise TypeError(f"packbits: expected an integer or bool array, got {a.dtype}")
    if bitorder not in ("big", "little"):
        raise ValueError(f"packbits: bitorder must be 'big' or 'little', got {bitorder!r}")
    bits = astype(_to_bool(a), uint8)
    if axis is None:
        bits, axis = ravel(bits), 0
    ax = canonicalize_axis(axis, bits.ndim, "packbits")
    bits = moveaxis(bits, ax, -1)
    n = bits.shape[-1]
    bits = pad(bits, [(0, 0)] * (bits.ndim - 1) + [(0, -n % 8)])
    bits = reshape(bits, bits.shape[:-1] + (-1, 8))
    shifts = _onp.arange(8, dtype=_onp.uint8)
    shifts = shifts[::-1] if bitorder == "big" else shifts
    packed = sum(bits << asarray(shifts), -1, dtype=uint8)
    return moveaxis(packed, -1, ax)


def unpackbits(a, axis=None, count=None, bitorder="big"):
    a = asarray(a)
    if a.dtype != uint8:
        raise TypeError(f"unpackbits: expected a uint8 array, got {a.dtype}")
    if bitorder not in ("big", "little"):
        raise ValueError(f"unpackbits: bitorder must be 'big' or 'little', got {bitorder!r}")
    shifts = _onp.arange(8, dtype=_onp.uint8)
    shifts = shifts[::-1] if bitorder == "big" else shifts
    bits = (expand_dims(a, -1) >> asarray(shifts)) & asarray(1, uint8)
    if axis is None:
        bits, axis = ravel(bits), 0
    else:
        ax = canonicalize_axis(axis, a.ndim, "unpackbits")
        bits = moveaxis(reshape(moveaxis(bits, ax, -2), a.shape[:ax] + a.shape[ax + 1:]
                                + (a.shape[ax] * 8,)), -1, ax)
        axis = ax
    if count is not None:
        bits = lax.slice_in_dim(bits, 0, builtins.min(count, bits.shape[axis]), 1, axis) \
            if count >= 0 else lax.slice_in_dim(bits, 0, bits.shape[axis] + count, 1, axis)
    return bits


# --- index helpers --------------------------------------------------------------------------

def indices(dimensions, dtype=None, sparse=False):
    dimensions = tuple(operator.index(d) for d in dimensions)
    dt = _dt.canonicalize(dtype or int32)
    nd = len(dimensions)
    out = []
    for i, n in enumerate(dimensions):
        if sparse:
            out.append(reshape(arange(n, dtype=dt), [n if j == i else 1 for j in range(nd)]))
        else:
            out.append(lax.broadcasted_iota(dt, dimensions, i))
    if sparse:
        return tuple(out)
    return stack(out) if out else zeros((0,), dt)


def ix_(*args):
    nd = len(args)
    out = []
    for i, a in enumerate(args):
        a = asarray(a)
        if a.ndim != 1:
            raise ValueError(f"ix_: arguments must be 1-dimensional, got shape {a.shape}")
        if a.dtype == bool_:
            raise TypeError("ix_: boolean arguments are not supported (their nonzero count "
                            "fixes the shape); pass integer indices")
        out.append(reshape(a, [a.shape[0] if j == i else 1 for j in range(nd)]))
    return tuple(out)


def _int_pair(rows, cols):
    return asarray(rows.astype(_onp.int32)), asarray(cols.astype(_onp.int32))


def tril_indices(n, k=0, m=None):
    return _int_pair(*_onp.tril_indices(operator.index(n), operator.index(k), m))


def triu_indices(n, k=0, m=None):
    return _int_pair(*_onp.triu_indices(operator.index(n), operator.index(k), m))


def tril_indices_from(arr, k=0):
    s = shape_of(arr)
    if len(s) != 2:
        raise ValueError(f"tril_indices_from: input array must be 2-d, got shape {s}")
    return tril_indices(s[0], k, s[1])


def triu_indices_from(arr, k=0):
    s = shape_of(arr)
    if len(s) != 2:
        raise ValueError(f"triu_indices_from: input array must be 2-d, got shape {s}")
    return triu_indices(s[0], k, s[1])


def diag_indices(n, ndim=2):
    n, ndim = operator.index(n), operator.index(ndim)
    if n < 0 or ndim < 0:
        raise ValueError(f"diag_indices: n and ndim must be non-negative, got {n}, {ndim}")
    return (arange(n, dtype=int32),) * ndim


def diag_indices_from(arr):
    s = shape_of(arr)
    if len(s) < 2 or len(set(s)) != 1:
        raise ValueError(f"diag_indices_from: input must be at least 2-d with equal dimensions, "
                         f"got shape {s}")
    return diag_indices(s[0], len(s))


def mask_indices(n, mask_func, k=0, *, size=None):
    mask = _concrete(mask_func(ones((n, n), int32), k), "mask_indices", "mask_func's result",
                     "it must be computable from its arguments alone")
    rows, cols = _onp.nonzero(mask)
    if size is not None:
        rows, cols = rows[:size], cols[:size]
        rows = _onp.pad(rows, (0, size - rows.size))
        cols = _onp.pad(cols, (0, size - cols.size))
    return _int_pair(rows, cols)


class _AxisConcat:
    """``r_``/``c_``: concatenate arrays, scalars and slices (``a:b:step`` is ``arange``,
    ``a:b:nj`` is ``linspace`` with n points) along an axis; a leading string
    ``"axis"`` / ``"axis,ndmin"`` / ``"axis,ndmin,trans1d"`` sets the layout."""

    def __init__(self, axis, ndmin, trans1d):
        self.axis, self.ndmin, self.trans1d = axis, ndmin, trans1d

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        if key and isinstance(key[0], str):
            spec, key = key[0], key[1:]
            if spec in ("r", "c"):
                raise NotImplementedError(f"r_/c_: the matrix directive {spec!r} is not "
                                          f"supported")
            parts = [builtins.int(p) for p in spec.split(",")]
            axis = parts[0]
            if len(parts) > 1:
                ndmin = parts[1]
            if len(parts) > 2:
                trans1d = parts[2]
        items = []
        for item in key:
            if isinstance(item, builtins.slice):
                a = _slice_range(item)
            else:
                a = asarray(item)
            if a.ndim < ndmin:
                a0 = a.ndim
                a = reshape(a, (1,) * (ndmin - a0) + a.shape)
                if trans1d != -1 and a0 > 0:
                    t = trans1d % ndmin
                    order = list(range(ndmin - a0, ndmin))
                    rest = list(range(ndmin - a0))
                    perm = rest[:t] + order + rest[t:] if t <= len(rest) else rest + order
                    a = transpose(a, [perm.index(i) for i in range(ndmin)]) \
                        if perm != list(range(ndmin)) else a
            items.append(a)
        if not items:
            return zeros(0)
        return concatenate(items, axis)

    def __len__(self):
        return 0


def _slice_range(s):
    start = 0 if s.start is None else s.start
    step = 1 if s.step is None else s.step
    if isinstance(step, complex):
        return linspace(start, s.stop, builtins.int(builtins.abs(step)), endpoint=True)
    return arange(start, s.stop, step)


r_ = _AxisConcat(0, 1, -1)
c_ = _AxisConcat(-1, 2, 0)


class _Grid:
    """``mgrid`` (dense) / ``ogrid`` (open): index grids from slices."""

    def __init__(self, sparse):
        self.sparse = sparse

    def __getitem__(self, key):
        if isinstance(key, builtins.slice):
            return _slice_range(key)
        ranges = [_slice_range(k) for k in key]
        if not ranges:
            return zeros(0)
        dt = result_type(*ranges)
        grids = meshgrid(*[astype(r, dt) for r in ranges], indexing="ij", sparse=self.sparse)
        return tuple(grids) if self.sparse else stack(grids)


mgrid = _Grid(sparse=False)
ogrid = _Grid(sparse=True)


from . import linalg  # noqa: E402,F401
from . import fft  # noqa: E402,F401
