"""``minimize``: the SciPy-style front end over BFGS and L-BFGS."""
from __future__ import annotations

import inspect
from typing import NamedTuple

from ... import numpy as jnp
from ...core import where
from ._bfgs import minimize_bfgs, minimize_lbfgs


class OptimizeResults(NamedTuple):
    """The result of ``minimize``: the solution ``x``, whether it converged
    (``success``, ``status`` 0), the value ``fun`` and gradient ``jac`` there, the inverse
    Hessian estimate ``hess_inv`` (BFGS only, else None), and the counts of function and
    gradient evaluations and of iterations."""
    x: object
    success: object
    status: object
    fun: object
    jac: object
    hess_inv: object
    nfev: object
    njev: object
    nit: object


_LBFGS = "l-bfgs-experimental-do-not-rely-on-this"


def minimize(fun, x0, args=(), *, method, tol=None, options=None):
    """Minimize ``fun(x, *args)`` from ``x0`` (a 1-d array) with ``method`` 'BFGS' or
    'l-bfgs-experimental-do-not-rely-on-this'; ``options`` go to the method (``maxiter``,
    ``gtol``, ``norm``, ``line_search_maxiter``; L-BFGS also ``maxcor``, ``ftol``,
    ``maxfun``, ``maxgrad``, ``maxls``).  ``tol`` is accepted and ignored, as in JAX."""
    options = {} if options is None else dict(options)
    if not isinstance(args, tuple):
        raise TypeError(f"scipy.optimize.minimize: args must be a tuple, got "
                        f"{type(args).__name__} {args!r}{where()}")
    if not isinstance(method, str) or method.lower() not in ("bfgs", _LBFGS):
        raise ValueError(f"scipy.optimize.minimize: method {method!r} not recognized (use "
                         f"'BFGS' or {_LBFGS!r}){where()}")
    x0 = jnp.asarray(x0)
    if x0.ndim != 1:
        raise ValueError(f"scipy.optimize.minimize: x0 must be 1-d, got shape {x0.shape}"
                         f"{where()}")

    def objective(x):
        return fun(x, *args)
    lbfgs = method.lower() == _LBFGS
    solver = minimize_lbfgs if lbfgs else minimize_bfgs
    known = list(inspect.signature(solver).parameters)[2:]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(f"scipy.optimize.minimize: unknown option(s) {unknown} for method "
                        f"{method!r} (known: {known}){where()}")
    r = solver(objective, x0, **options)
    return OptimizeResults(x=r.x_k, success=r.converged & ~r.failed, status=r.status,
                           fun=r.f_k, jac=r.g_k, hess_inv=None if lbfgs else r.H_k,
                           nfev=r.nfev, njev=r.ngev, nit=r.k)
