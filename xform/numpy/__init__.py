"""``xform.numpy``: the NumPy API of ``jax.numpy``, composed from meta-operators.

Dtype promotion, weak Python scalars and x64 canonicalisation follow
``jax.numpy`` exactly (see primitives/dtypes.py); results are ``xform.Array``.
"""
from __future__ import annotations

import builtins
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

def _elementwise(name, fn, inexact=False, numeric=False, real=False, int_fn=None):
    """``numeric``: bools compute as ints; ``real``: complex operands are rejected."""
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
                    return fn(a, b)
        args = promote(*args)
        if real and _dt.is_complex(typeinfo(args[0])[0]):
            raise TypeError(f"{name} does not support complex-valued inputs{_where_msg()}")
        if len(args) > 1:
            args = broadcast_arrays_for(name, *args)
        if int_fn is not None and not _dt.is_inexact(typeinfo(args[0])[0]):
            return int_fn(*args)
        return fn(*args)
    f.__name__ = name
    f.__doc__ = f"Elementwise ``{name}`` with NumPy broadcasting and JAX dtype promotion."
    return f


def _bool_as(op, bool_op):
    def fn(x, y):
        if typeinfo(x)[0] == bool_:
            return bool_op(x, y)
        return op(x, y)
    return fn


add = _elementwise("add", _bool_as(lax.add, lax.bitwise_or))
subtract = _elementwise("subtract", lax.sub)
multiply = _elementwise("multiply", _bool_as(lax.mul, lax.bitwise_and))
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
    a, b = abs(x1), abs(x2)
    for _ in range(8 * a.dtype.itemsize * 2):  # Euclid, enough steps for the bit width
        nz = not_equal(b, 0)
        safe_b = where(nz, b, ones_like(b))
        a, b = where(nz, b, a), where(nz, remainder(a, safe_b), b)
    return a


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

from . import linalg  # noqa: E402,F401
from . import fft  # noqa: E402,F401
