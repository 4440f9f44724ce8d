"""What the modules of ``xform.scipy.stats`` share: promotion of the arguments (``args``,
as JAX's ``promote_args_inexact``), typed constants (``const``, as JAX's ``lax._const``),
``pdf = exp(logpdf)`` wrappers, ``log1mexp``, and ``distribution``, which gathers a
distribution's functions into the submodule ``xform.scipy.stats.<name>``."""
from __future__ import annotations

import functools
import sys
import types

import numpy as np

from ... import lax, numpy as jnp
from ...api import custom_jvp
from ...numpy._core import broadcast_arrays_for
from ...special._common import check_arraylike

__all__ = ["args", "check_arraylike", "const", "exp_of", "log_of", "mirror_of", "full_shape",
           "log1mexp", "distribution"]


def args(name, *xs):
    """The operands of ``name`` promoted as JAX's ``promote_args_inexact``: one inexact
    dtype, weak only if every operand is weak (a weak operand beside a strong one is made
    strong), and one shape (rank-0 operands stay rank 0; ``xform.lax`` broadcasts them)."""
    check_arraylike(name, *xs)
    xs = jnp.promote_dtypes_inexact(*[jnp.asarray(x) for x in xs])
    if not all(x.weak_type for x in xs):
        xs = [lax.convert_element_type(x, x.dtype, weak_type=False) if x.weak_type else x
              for x in xs]
    return list(broadcast_arrays_for(name, *xs)) if len(xs) > 1 else xs


def const(x, value):
    """``value`` as a constant beside ``x``: a Python scalar (weak) when ``x`` is a weakly
    typed scalar, else a strong scalar of ``x``'s dtype (JAX's ``lax._const``)."""
    if getattr(x, "weak_type", False) and np.ndim(x) == 0:
        return np.asarray(value, x.dtype).item()
    return np.asarray(value, x.dtype)[()]


def _composed(outer, fn, name):
    @functools.wraps(fn)
    def composed(*a, **k):
        return outer(fn(*a, **k))
    composed.__name__ = name
    composed.__doc__ = (f"``{outer.__name__}`` of ``{fn.__name__.rsplit('_', 1)[-1]}`` "
                        "(same arguments).")
    return composed


def exp_of(logfn, name):
    """``exp(logfn(...))`` under ``name`` (``pdf`` from ``logpdf``, ``sf`` from ``logsf``)."""
    return _composed(lax.exp, logfn, name)


def log_of(fn, name):
    """``log(fn(...))`` under ``name`` (``logcdf`` from ``cdf``, ``logsf`` from ``sf``)."""
    return _composed(lax.log, fn, name)


def mirror_of(fn, name, what):
    """The survival function of a symmetric location-scale distribution from its CDF (or
    log-survival from log-CDF): ``fn(-x, -loc, scale)``, named ``name`` (``dist.what``)."""
    def mirrored(x, loc=0, scale=1):
        x, loc, scale = args(name.replace("_", ".", 1), x, loc, scale)
        return fn(-x, -loc, scale)
    mirrored.__name__ = name
    mirrored.__doc__ = f"{what} ``{fn.__name__.rsplit('_', 1)[-1]}(-x, -loc, scale)``."
    return mirrored


def full_shape(fn, *xs):
    """``fn(*xs)`` with the operands broadcast to one shape first: ``xform.special``'s
    iterative functions (``gammainc``, ``gammaincc``, ``betainc``) fail on a rank-0 operand
    beside an array one (their loop carry changes shape).
    Their result is strong even for weak operands, where JAX's is weak: that is restored."""
    out = fn(*jnp.broadcast_arrays(*xs))
    if all(getattr(x, "weak_type", True) for x in xs) and not out.weak_type:
        out = lax.convert_element_type(out, out.dtype, weak_type=True)
    return out


@custom_jvp
def log1mexp(x):
    """``log(1 - exp(-x))`` for ``x > 0``: ``log(-expm1(-x))`` below ``log 2``,
    ``log1p(-exp(-x))`` above; the derivative ``1 / expm1(x)`` is given directly."""
    return jnp.where(x < np.log(2.0), jnp.log(-jnp.expm1(-x)), jnp.log1p(-jnp.exp(-x)))


@log1mexp.defjvp
def _log1mexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1mexp(x), t / jnp.expm1(x)


def distribution(name, doc, *fns):
    """The submodule ``xform.scipy.stats.<name>`` holding ``fns``; each function is named
    ``<name>_<what>`` in the module that writes it and becomes ``<name>.<what>``."""
    mod = types.ModuleType(f"xform.scipy.stats.{name}", doc)
    prefix = name + "_"
    for fn in fns:
        short = fn.__name__[len(prefix):] if fn.__name__.startswith(prefix) else fn.__name__
        fn.__name__ = short
        fn.__qualname__ = f"{name}.{short}"
        fn.__module__ = mod.__name__
        setattr(mod, short, fn)
    mod.__all__ = sorted(f.__name__ for f in fns)
    sys.modules[mod.__name__] = mod
    return mod
