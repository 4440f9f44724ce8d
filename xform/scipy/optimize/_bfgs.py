"""BFGS and (experimental) L-BFGS as ``lax.while_loop`` programs over a state tuple,
following JAX's iteration step for step (same line search, updates and stopping
tests), so that iterate counts agree with ``jax.scipy.optimize.minimize``."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import lax
from ... import numpy as jnp
from ...api import value_and_grad
from ...numpy import linalg as _npla
from ._line_search import dot, line_search


class BFGSState(NamedTuple):
    converged: object
    failed: object
    k: object
    nfev: object
    ngev: object
    nhev: object
    x_k: object
    f_k: object
    g_k: object
    H_k: object
    old_old_fval: object
    status: object
    line_search_status: object


def minimize_bfgs(fun, x0, maxiter=None, norm=np.inf, gtol=1e-5, line_search_maxiter=10):
    """BFGS with the inverse-Hessian update, from the identity; converged when the
    ``norm`` of the gradient falls below ``gtol``.  Status: 0 converged, 1 ``maxiter``
    reached, 2 + the line search's status when it failed, -1 otherwise."""
    maxiter = np.size(x0) * 200 if maxiter is None else maxiter
    d = x0.shape[0]
    eye = jnp.eye(d, dtype=x0.dtype)
    f_0, g_0 = value_and_grad(fun)(x0)
    state = BFGSState(converged=_npla.norm(g_0, ord=norm) < gtol, failed=False, k=0, nfev=1,
                      ngev=1, nhev=0, x_k=x0, f_k=f_0, g_k=g_0, H_k=eye,
                      old_old_fval=f_0 + _npla.norm(g_0) / 2, status=0, line_search_status=0)

    def going(s):
        return ~s.converged & ~s.failed & (s.k < maxiter)

    def step(s):
        p_k = -dot(s.H_k, s.g_k)
        ls = line_search(fun, s.x_k, p_k, old_fval=s.f_k, old_old_fval=s.old_old_fval,
                         gfk=s.g_k, maxiter=line_search_maxiter)
        s_k = ls.a_k * p_k
        y_k = ls.g_k - s.g_k
        rho_k = jnp.reciprocal(dot(y_k, s_k))
        # H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T, skipped if y^T s is 0
        w = eye.astype(rho_k.dtype) - rho_k * (s_k[:, None] * y_k[None, :])
        h = (jnp.einsum("ij,jk,lk", w, s.H_k, w, precision=lax.Precision.HIGHEST)
             + rho_k * s_k[:, None] * s_k[None, :])
        return s._replace(nfev=s.nfev + ls.nfev, ngev=s.ngev + ls.ngev, failed=ls.failed,
                          line_search_status=ls.status,
                          converged=_npla.norm(ls.g_k, ord=norm) < gtol, k=s.k + 1,
                          x_k=s.x_k + s_k, f_k=ls.f_k, g_k=ls.g_k,
                          H_k=jnp.where(jnp.isfinite(rho_k), h, s.H_k), old_old_fval=s.f_k)

    s = lax.while_loop(going, step, state)
    status = jnp.where(s.converged, 0, jnp.where(s.k == maxiter, 1,
                                                 jnp.where(s.failed, 2 + s.line_search_status,
                                                           -1)))
    return s._replace(status=status)


class LBFGSState(NamedTuple):
    converged: object
    failed: object
    k: object
    nfev: object
    ngev: object
    x_k: object
    f_k: object
    g_k: object
    s_history: object
    y_history: object
    rho_history: object
    gamma: object
    status: object
    ls_status: object


def _direction(s):
    """``-H g`` by the two-loop recursion over the stored pairs (newest last)."""
    dtype = s.rho_history.dtype
    size = s.rho_history.shape[0]
    used = jnp.where(s.k < size, s.k, size)

    def backward(j, carry):
        q, alphas = carry
        i = (size - 1 - j).astype(np.int32)   # int64 indices fail to lower under x64
        a_i = s.rho_history[i] * dot(jnp.conj(s.s_history[i]), q).real.astype(dtype)
        return q - a_i * jnp.conj(s.y_history[i]), alphas.at[i].set(a_i)
    q, alphas = lax.fori_loop(0, used, backward,
                              (-jnp.conj(s.g_k), jnp.zeros_like(s.rho_history)))

    def forward(j, q):
        i = (size - used + j).astype(np.int32)
        b_i = s.rho_history[i] * dot(s.y_history[i], q).real.astype(dtype)
        return q + (alphas[i] - b_i) * s.s_history[i]
    return lax.fori_loop(0, used, forward, s.gamma * q)


def _push(history, new):
    return jnp.roll(history, -1, axis=0).at[-1].set(new)


def minimize_lbfgs(fun, x0, maxiter=None, norm=np.inf, maxcor=10, ftol=2.220446049250313e-09,
                   gtol=1e-5, maxfun=None, maxgrad=None, maxls=20):
    """L-BFGS with ``maxcor`` stored pairs.  Status: 0 converged, 1 ``maxiter``, 2
    ``maxfun``, 3 ``maxgrad``, 4 the decrease fell below ``ftol``, 5 the line search
    failed."""
    d = len(x0)
    dtype = np.dtype(jnp.asarray(x0).dtype)
    if maxiter is None and maxfun is None and maxgrad is None:
        maxiter = d * 200
    maxiter = np.inf if maxiter is None else maxiter
    maxfun = np.inf if maxfun is None else maxfun
    maxgrad = np.inf if maxgrad is None else maxgrad
    f_0, g_0 = value_and_grad(fun)(x0)
    state = LBFGSState(converged=jnp.asarray(False), failed=jnp.asarray(False), k=0, nfev=1,
                       ngev=1, x_k=x0, f_k=f_0, g_k=g_0,
                       s_history=jnp.zeros((maxcor, d), dtype),
                       y_history=jnp.zeros((maxcor, d), dtype),
                       rho_history=jnp.zeros((maxcor,), dtype), gamma=1.0, status=0,
                       ls_status=0)

    def step(s):
        p_k = _direction(s)
        ls = line_search(fun, s.x_k, p_k, old_fval=s.f_k, gfk=s.g_k, maxiter=maxls)
        s_k = jnp.asarray(ls.a_k).astype(p_k.dtype) * p_k
        y_k = ls.g_k - s.g_k
        curvature = jnp.real(dot(y_k, s_k))
        gamma = curvature / jnp.real(dot(jnp.conj(y_k), y_k))
        status = jnp.asarray(0)   # the last test that holds wins
        for code, stop in ((4, s.f_k - ls.f_k < ftol), (3, s.ngev >= maxgrad),
                           (2, s.nfev >= maxfun), (1, s.k >= maxiter), (5, ls.failed)):
            status = jnp.where(stop, code, status)
        converged = _npla.norm(ls.g_k, ord=norm) < gtol
        return s._replace(
            converged=converged, failed=(status > 0) & ~converged, k=s.k + 1,
            nfev=s.nfev + ls.nfev, ngev=s.ngev + ls.ngev,
            x_k=(s.x_k + s_k).astype(s.x_k.dtype), f_k=ls.f_k.astype(s.f_k.dtype),
            g_k=ls.g_k.astype(s.g_k.dtype), s_history=_push(s.s_history, s_k),
            y_history=_push(s.y_history, y_k),
            rho_history=_push(s.rho_history, jnp.reciprocal(curvature).astype(y_k.dtype)),
            gamma=gamma.astype(s.g_k.dtype), status=jnp.where(converged, 0, status),
            ls_status=ls.status)

    return lax.while_loop(lambda s: ~s.converged & ~s.failed, step, state)
