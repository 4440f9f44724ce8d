"""What the modules of ``xform.scipy.special`` share: argument checks, promotion to one
inexact dtype and shape (``args``), the refusal of complex operands, typed constants, and
the polynomial and Chebyshev evaluators the Cephes-style approximations are written with."""
from __future__ import annotations

import operator

import numpy as np

from primitives import dtypes as _dt

from .. import lax, numpy as jnp
from ..api import custom_jvp
from ..core import Array, Tracer, where
from ..numpy._core import broadcast_arrays_for

_SCALARS = (bool, int, float, complex, np.ndarray, np.generic)


def _arraylike(x):
    return (isinstance(x, (Array, Tracer) + _SCALARS) or hasattr(x, "__jax_array__")
            or type(x).__name__ == "ArrayImpl")


def check_arraylike(name, *xs):
    for i, x in enumerate(xs):
        if not _arraylike(x):
            raise TypeError(f"{name} requires ndarray or scalar arguments, got "
                            f"{type(x).__name__} at position {i}{where()}")


def args(name, *xs):
    """The operands of ``name`` as arrays of one inexact dtype (integers and bools become
    float32, or float64 for 64-bit integers; weak types as JAX) and one shape."""
    check_arraylike(name, *xs)
    out = jnp.promote_dtypes_inexact(*[jnp.asarray(x) for x in xs])
    if len(out) == 1:
        return out
    out = broadcast_arrays_for(name, *out)   # (leaves a rank-0 operand as it is)
    shape = max((x.shape for x in out), key=len)
    # every operand at full shape: the iterative algorithms carry them through loops
    return [x if x.shape == shape else jnp.broadcast_to(x, shape) for x in out]


def real(name, *xs, error=ValueError):
    """Refuse complex operands: a ``ValueError`` where JAX's ``scipy.special`` checks, a
    ``TypeError`` (``error=``) where JAX's ``lax`` operation refuses the dtype."""
    for x in xs:
        if _dt.is_complex(x.dtype):
            raise error(f"{name} does not support complex-valued inputs{where()}")
    return xs


def full(x, value):
    """``value`` in ``x``'s dtype, shape and weak type."""
    return jnp.full_like(x, value)


def is64(x):
    return np.dtype(x.dtype) == np.dtype(np.float64)


def compute_dtype(x):
    """float16/bfloat16 compute in float32 (the iterative algorithms need the range)."""
    return x.dtype if np.dtype(x.dtype).itemsize >= 4 else np.dtype(np.float32)


def polyval(coeffs, x):
    """Horner's rule, highest power first (as ``jnp.polyval`` with constant coefficients)."""
    acc = jnp.zeros_like(x)
    for c in coeffs:
        acc = acc * x + np.asarray(c, x.dtype)[()]
    return acc


def chebyshev(x, coeffs):
    """Clenshaw's recurrence for a Chebyshev series in Cephes' ``chbevl`` convention
    (highest order first, half the last coefficient)."""
    b0 = jnp.zeros_like(x)
    b1 = b0
    b2 = b0
    for c in coeffs:
        b2 = b1
        b1 = b0
        b0 = x * b1 - b2 + float(c)
    return (b0 - b2) * 0.5


def gate(name, message, error=ValueError):
    """An identity whose derivative raises ``error`` naming ``name``: placed on an argument
    whose derivative is not supported, it fails only when that argument is differentiated
    (the rule of a ``custom_jvp`` runs only for a nonzero tangent)."""
    @custom_jvp
    def ident(x):
        return x

    @ident.defjvp
    def _rule(primals, tangents):
        raise error(f"{name}: {message}{where()}")
    ident.__name__ = f"{name}_gate"
    return ident


def concrete_int(name, what, value):
    """A static Python int (``bernoulli(n)``, ``multigammaln``'s ``d``, ``bessel_jn``'s
    ``v``): a traced value is refused by name."""
    if isinstance(value, Tracer):
        raise TypeError(f"{name}: {what} must be a concrete integer, not a traced value"
                        f"{where()}")
    try:
        return operator.index(value if not isinstance(value, Array) else np.asarray(value)[()])
    except TypeError:
        raise TypeError(f"{name}: {what} must be an integer, got {value!r}{where()}") from None


def weak_as(out, weak: bool):
    """``out`` with the weak type JAX gives this function's result (its algorithms lose or
    keep it differently from ours: a loop carry is strong, a custom rule keeps it)."""
    if out.aval.weak_type == weak:
        return out
    return lax.convert_element_type(out, out.dtype, weak_type=weak)
