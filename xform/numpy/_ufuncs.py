"""Elementwise functions: the promotion wrappers (``_elementwise`` for binary, ``_unary``
for unary functions) with their hot paths, every ufunc built on them, the three-argument
select ``_where``, and the elementwise composites (``round``, ``clip``, ``hypot``,
``logaddexp``, ``frexp``, ``i0``, ...).  ``gcd``/``lcm``, whose loop stops on a
reduction, are in _misc."""
from __future__ import annotations

import builtins
import inspect
from functools import partial

import numpy as _onp

from primitives import dtypes as _dt
from primitives.dtypes import bool_, int16, int32, int64, uint8

from .. import lax
from ..api import custom_jvp as _custom_jvp
from ..core import Array, Tracer, where as _where_msg
from ..core.trace import named
from ._core import (ARRAY_TYPES, asarray, astype, broadcast_arrays_for, broadcast_shapes,
                    broadcast_to_shape, promote_dtypes, promote_dtypes_inexact,
                    promote_dtypes_numeric, shape_of, typeinfo)
from ._dtypes import finfo, iscomplexobj, pi
from ._shape import broadcast_to
from ._creation import full, full_like, ones_like, zeros_like

__all__ = ["add", "subtract", "multiply", "true_divide", "divide", "maximum", "minimum", "arctan2",
           "nextafter", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "equal",
           "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
           "logical_or", "logical_xor", "logical_not", "right_shift", "floor_divide", "remainder",
           "mod", "fmod", "divmod", "power", "pow", "float_power", "negative", "positive", "sign",
           "floor", "ceil", "trunc", "fix", "rint", "exp", "exp2", "log", "log1p", "expm1", "log2",
           "log10", "sqrt", "cbrt", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh",
           "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "asin", "acos", "atan", "asinh",
           "acosh", "atanh", "atan2", "isfinite", "invert", "bitwise_not", "real", "imag",
           "conjugate", "conj", "square", "reciprocal", "abs", "absolute", "fabs", "isinf",
           "isnan", "isposinf", "isneginf", "signbit", "copysign", "round", "around", "round_",
           "clip", "heaviside", "hypot", "logaddexp", "sinc", "deg2rad", "rad2deg", "radians",
           "degrees", "bitwise_invert", "bitwise_left_shift", "bitwise_right_shift",
           "bitwise_count", "fmax", "fmin", "logaddexp2", "angle", "iscomplex", "isreal",
           "nan_to_num", "frexp", "ldexp", "modf", "spacing", "i0"]


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
                        aa.weak_type == ba.weak_type and (not inexact or _dt.is_inexact(aa.dtype)):
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
    f.__signature__ = _BINARY_SIGNATURE   # what inspect (and the array API suite) reads
    return named(f, name,
                 f"Elementwise ``{name}`` with NumPy broadcasting and JAX dtype promotion.")


_BINARY_SIGNATURE = inspect.Signature(
    [inspect.Parameter(n, inspect.Parameter.POSITIONAL_ONLY) for n in ("x1", "x2")])


_BOOL = _onp.dtype(bool_)
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


def _where(condition, x, y):
    """``where(condition, x, y)``: elementwise choice with promotion and broadcasting (the
    public ``where``, in _selection, adds the one-argument form, ``nonzero``)."""
    x, y = promote_dtypes(x, y)
    c = _to_bool(asarray(condition))
    shape = broadcast_shapes(shape_of(c), shape_of(x), shape_of(y), op="where")
    c, x, y = (broadcast_to_shape(v, shape) for v in (c, x, y))
    if shape:  # select_n wants both cases full size; a scalar predicate may stay scalar
        x, y = (v if shape_of(v) == shape else lax.broadcast_in_dim(v, shape, ()) for v in (x, y))
    return lax.select(c, x, y)


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
    """As CPython's float divmod (and JAX): divide ``x - (x rem y)``, which is an exact
    multiple of ``y``, then step down where the remainder's sign disagrees with ``y``'s.
    ``floor(x / y)`` rounds the quotient first: ``-1.0 // 1e-6`` came out -1e6, not
    -1e6 - 1."""
    dt = typeinfo(x)[0]
    if _dt.is_complex(dt):
        return lax.div(x, y)
    r = lax.rem(x, y)
    zero = lax.weak_literal(0, dt)
    q = lax.div(_where(lax.eq(y, zero), x, lax.sub(x, r)), y)   # _where: x may be 0-d
    step = lax.bitwise_and(lax.ne(r, zero), lax.ne(lax.sign(y), lax.sign(r)))
    return lax.round(lax.select(step, lax.sub(q, lax.weak_literal(1, dt)), q))


floor_divide = _elementwise("floor_divide", _float_floor_divide, numeric=True, real=True,
                            int_fn=_int_floor_divide)


def _nonzero_divisor(y):
    """As in JAX, an integer ``x % 0`` is 0: the divisor 0 is replaced by 1."""
    dt = typeinfo(y)[0]
    if _dt.is_inexact(dt):
        return y
    # lax, not where: promoting two weak ints would widen y to the default int (int64)
    return lax.select(lax.eq(y, lax.full_like(y, 0)), lax.full_like(y, 1), y)


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
_fmod_int = _elementwise("fmod", lambda x, y: lax.rem(x, _nonzero_divisor(y)), numeric=True,
                         real=True)
_fmod_bool = _elementwise("fmod", lax.rem, numeric=True, real=True)


def fmod(x1, x2, /):
    """``x1 - trunc(x1 / x2) * x2``.  As in JAX, an integer divisor 0 is replaced by 1
    (the result is 0), but only when the operands' common type is an integer: for two
    boolean operands JAX divides by the 0 as it is (``fmod(True, False)`` is 1), and so
    does xform."""
    both_bool = _dt.is_bool(typeinfo(x1)[0]) and _dt.is_bool(typeinfo(x2)[0])
    return (_fmod_bool if both_bool else _fmod_int)(x1, x2)


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
    return named(f, name, f"Elementwise ``{name}``.")


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
    return _where(signbit(y), negative(abs(x)), abs(x))


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
    return _where(less(x1, zero), zero,
                  _where(greater(x1, zero), ones_like(x1), _where(isnan(x1), x1, x2)))


def hypot(x1, x2):
    x1, x2 = broadcast_arrays_for("hypot",
                                  *_reject_complex("hypot", *promote_dtypes_inexact(x1, x2)))
    # JAX's formula (no overflow for large operands; the same values and gradients)
    x1, x2 = absolute(x1), absolute(x2)
    inf = logical_or(isposinf(x1), isposinf(x2))
    x1, x2 = maximum(x1, x2), minimum(x1, x2)
    zero = equal(x1, 0)
    r = _where(zero, x1, x1 * sqrt(1 + square(true_divide(x2, _where(zero, ones_like(x1), x1)))))
    return _where(inf, full_like(r, _onp.inf), r)


@partial(_custom_jvp, nondiff_argnums=(2,))
def log_add_exp(x1, x2, base2=False):
    """``log(e^x1 + e^x2)`` (``base2``: ``log2(2^x1 + 2^x2)``) of real operands of one
    dtype and shape, with JAX's values and derivatives (``nn.softplus``, ``log_sigmoid``
    and ``logaddexp``/``logaddexp2`` build on it).

    The value is ``max + log1p(exp(min - max))`` (``min - max`` is JAX's ``-|x1 - x2|``
    to the bit); its derivative is given, not derived: differentiating the formula
    would go through the kinks of ``max``/``min``, which the function does not have, and
    the second derivative at a tie (``softplus''(0)``) would be 0, not 1/4."""
    amax, amin = lax.max(x1, x2), lax.min(x1, x2)
    delta = lax.sub(x1, x2)
    if base2:
        tail = lax.mul(lax.log1p(lax.exp2(lax.sub(amin, amax))),
                       lax.weak_literal(1 / _onp.log(2), amax.dtype))
    else:
        tail = lax.log1p(lax.exp(lax.sub(amin, amax)))
    # NaN, or infinities of one sign: x1 + x2 is the answer
    return lax.select(lax.ne(delta, delta), lax.add(x1, x2), lax.add(amax, tail))


@log_add_exp.defjvp
def _log_add_exp_jvp(base2, primals, tangents):
    # d/dx1 = e^(x1 - out) (base 2: 2^(x1 - out)); +inf operands and outputs read as 0 so
    # that logaddexp(inf, x) has slope 1 in x1 and 0 in x2, not NaN
    x1, x2 = primals
    t1, t2 = tangents
    out = log_add_exp(x1, x2, base2)
    power = lax.exp2 if base2 else lax.exp

    def finite(v):
        return lax.select(lax.eq(v, lax.weak_literal(_onp.inf, v.dtype)),
                          zeros_like(v), v)
    return out, lax.add(lax.mul(t1, power(lax.sub(finite(x1), finite(out)))),
                        lax.mul(t2, power(lax.sub(finite(x2), finite(out)))))


def logaddexp(x1, x2):
    x1, x2 = broadcast_arrays_for("logaddexp", *promote_dtypes_inexact(x1, x2))
    if iscomplexobj(x1):  # log1p(exp(x1 + x2 - 2 amax)), imaginary part wrapped into [-pi, pi]
        amax = maximum(x1, x2)
        out = amax + log1p(exp((x1 + x2) - amax * 2))
        im = lax.rem(lax.imag(out) + pi, 2 * pi)
        im = _where(im < 0, im + 2 * pi, im) - pi
        return lax.complex(lax.real(out), im)
    return log_add_exp(x1, x2)


def sinc(x):
    (x,) = promote_dtypes_inexact(asarray(x))
    pix = x * pi
    zero = equal(x, 0)
    safe = _where(zero, ones_like(x), pix)
    return _where(zero, _sin_over_at_zero(0, pix), sin(safe) / safe)


@partial(_custom_jvp, nondiff_argnums=(0,))
def _sin_over_at_zero(k, y):
    """The k-th derivative of ``sin(y) / y`` at ``y = 0`` (its Maclaurin coefficient times
    k!: 0 for odd k, (-1)^(k/2) / (k + 1) for even), shaped like ``y``.  ``sinc`` takes
    its value at 0 from here, and each derivative asks for the next k: the guarded
    division alone has derivative 0 at 0 in every order (``sinc''(0)`` is -pi^2/3)."""
    c = 0.0 if k % 2 else (-1.0) ** (k // 2) / (k + 1)
    return y * 0 + c


@_sin_over_at_zero.defjvp
def _sin_over_at_zero_jvp(k, primals, tangents):
    (y,), (t,) = primals, tangents
    return _sin_over_at_zero(k, y), _sin_over_at_zero(k + 1, y) * t


def deg2rad(x):
    (x,) = promote_dtypes_inexact(asarray(x))
    return x * (pi / 180)


def rad2deg(x):
    (x,) = promote_dtypes_inexact(asarray(x))
    return x * (180 / pi)


radians, degrees = deg2rad, rad2deg

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
    return _where(logical_or(greater(x1, x2), isnan(x2)), x1, x2)


def fmin(x1, x2):
    """Elementwise minimum that ignores NaNs (NaN only where both are NaN)."""
    x1, x2 = broadcast_arrays_for("fmin", *promote_dtypes(x1, x2))
    return _where(logical_or(less(x1, x2), isnan(x2)), x1, x2)


def logaddexp2(x1, x2):
    """log2(2**x1 + 2**x2) without overflow."""
    x1, x2 = broadcast_arrays_for("logaddexp2",
                                  *_reject_complex("logaddexp2", *promote_dtypes_inexact(x1, x2)))
    return log_add_exp(x1, x2, True)


def angle(z, deg=False):
    z = asarray(z)
    re, im = real(z), imag(z)
    if not _dt.is_inexact(re.dtype):
        # the default float, not to_inexact: JAX's angle of int32 is float64 under x64
        re, im = astype(re, _dt.default_float()), astype(im, _dt.default_float())
    out = arctan2(im, re)
    return out * (180 / pi) if deg else out


def iscomplex(x):
    return not_equal(imag(x), 0)


def isreal(x):
    return equal(imag(x), 0)


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
    out = _where(isnan(x), asarray(nan, x.dtype), x)
    out = _where(isposinf(out), asarray(posinf, x.dtype), out)
    return _where(isneginf(out), asarray(neginf, x.dtype), out)


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
    m, e = _where(is_sub, sub_m, m), _where(is_sub, sub_e, e)
    special = logical_or(logical_and(equal(biased, 0), equal(mant, 0)), equal(biased, exp_mask))
    return _where(special, x, m), astype(_where(special, zeros_like(e), e), int32)


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
    away = _where(signbit(x), asarray(-_onp.inf, x.dtype), asarray(_onp.inf, x.dtype))
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
    return _where(ax <= 15.0, series, asym)
