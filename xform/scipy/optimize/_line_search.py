"""A line search satisfying the strong Wolfe conditions (Nocedal and Wright, Algorithms
3.5 and 3.6), written with ``lax.while_loop`` so that it runs under ``jit``.

The step follows JAX's ``line_search`` decision for decision (the same trial steps,
interpolations, safeguards and counts), so that the optimizers built on it take the
same iterates as JAX's.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import lax
from ... import numpy as jnp
from ...api import value_and_grad


def dot(a, b):
    return jnp.dot(a, b, precision=lax.Precision.HIGHEST)


def _cubic_minimizer(a, fa, fpa, b, fb, c, fc):
    """The minimizer of the cubic through ``(a, fa)`` with slope ``fpa``, ``(b, fb)`` and
    ``(c, fc)``."""
    dtype = jnp.result_type(a, fa, fpa, b, fb, c, fc)
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    m = jnp.array([[dc ** 2, -db ** 2], [-dc ** 3, db ** 3]], dtype=dtype)
    rhs = jnp.array([fb - fa - fpa * db, fc - fa - fpa * dc], dtype=dtype)
    p, q = dot(m, rhs) / denom   # f(a + t) ~ fa + fpa t + q t^2 + p t^3
    return a + (-q + jnp.sqrt(q * q - 3.0 * p * fpa)) / (3.0 * p)


def _quadratic_minimizer(a, fa, fpa, b, fb):
    """The minimizer of the parabola through ``(a, fa)`` with slope ``fpa`` and
    ``(b, fb)``."""
    db = b - a
    curvature = (fb - fa - fpa * db) / db ** 2
    return a - fpa / (2.0 * curvature)


def _select(pred, state, **new):
    """``state`` with the named fields replaced where ``pred`` holds."""
    return state._replace(**{k: jnp.where(pred, v, getattr(state, k)) for k, v in new.items()})


class _Zoom(NamedTuple):
    done: object
    failed: object
    j: object
    a_lo: object
    phi_lo: object
    dphi_lo: object
    a_hi: object
    phi_hi: object
    dphi_hi: object
    a_rec: object      # the previous a_hi or a_lo: the third point of the cubic
    phi_rec: object
    a_star: object
    phi_star: object
    dphi_star: object
    g_star: object
    nfev: object
    ngev: object


def _zoom(phi_and_grad, sufficient_decrease_fails, curvature_holds, a_lo, phi_lo, dphi_lo,
          a_hi, phi_hi, dphi_hi, g_0, skip):
    """Shrink the bracket ``[a_lo, a_hi]`` (which holds a step satisfying the strong Wolfe
    conditions) by interpolation until one is found; does nothing where ``skip``."""
    state = _Zoom(done=False, failed=False, j=0, a_lo=a_lo, phi_lo=phi_lo, dphi_lo=dphi_lo,
                  a_hi=a_hi, phi_hi=phi_hi, dphi_hi=dphi_hi, a_rec=(a_lo + a_hi) / 2.0,
                  phi_rec=(phi_lo + phi_hi) / 2.0, a_star=1.0, phi_star=phi_lo,
                  dphi_star=dphi_lo, g_star=g_0, nfev=0, ngev=0)
    cubic_margin, quadratic_margin = 0.2, 0.1

    def body(s):
        width = s.a_hi - s.a_lo
        left, right = jnp.minimum(s.a_hi, s.a_lo), jnp.maximum(s.a_hi, s.a_lo)
        too_narrow = 1e-5 if np.finfo(np.dtype(width.dtype)).bits < 64 else 1e-10
        s = s._replace(failed=s.failed | (width <= too_narrow))
        # a cubic step if it falls well inside the bracket, else a quadratic one, else
        # bisection
        cubic = _cubic_minimizer(s.a_lo, s.phi_lo, s.dphi_lo, s.a_hi, s.phi_hi, s.a_rec,
                                 s.phi_rec)
        use_cubic = ((s.j > 0) & (cubic > left + cubic_margin * width)
                     & (cubic < right - cubic_margin * width))
        quad = _quadratic_minimizer(s.a_lo, s.phi_lo, s.dphi_lo, s.a_hi, s.phi_hi)
        use_quad = (~use_cubic & (quad > left + quadratic_margin * width)
                    & (quad < right - quadratic_margin * width))
        a_j = jnp.where(use_cubic, cubic, s.a_rec)
        a_j = jnp.where(use_quad, quad, a_j)
        a_j = jnp.where(~use_cubic & ~use_quad, (s.a_lo + s.a_hi) / 2.0, a_j)
        phi_j, dphi_j, g_j = phi_and_grad(a_j)
        phi_j = phi_j.astype(s.phi_lo.dtype)
        dphi_j = dphi_j.astype(s.dphi_lo.dtype)
        g_j = g_j.astype(s.g_star.dtype)
        s = s._replace(nfev=s.nfev + 1, ngev=s.ngev + 1)
        to_hi = sufficient_decrease_fails(a_j, phi_j) | (phi_j >= s.phi_lo)
        found = curvature_holds(dphi_j) & ~to_hi
        lo_to_hi = (dphi_j * (s.a_hi - s.a_lo) >= 0.0) & ~to_hi & ~found
        to_lo = ~to_hi & ~found
        s = _select(to_hi, s, a_hi=a_j, phi_hi=phi_j, dphi_hi=dphi_j, a_rec=s.a_hi,
                    phi_rec=s.phi_hi)
        s = _select(found, s, a_star=a_j, phi_star=phi_j, dphi_star=dphi_j, g_star=g_j)
        s = s._replace(done=found | s.done)
        s = _select(lo_to_hi, s, a_hi=s.a_lo, phi_hi=s.phi_lo, dphi_hi=s.dphi_lo,
                    a_rec=s.a_hi, phi_rec=s.phi_hi)
        s = _select(to_lo & ~lo_to_hi, s, a_rec=s.a_lo, phi_rec=s.phi_lo)
        s = _select(to_lo, s, a_lo=a_j, phi_lo=phi_j, dphi_lo=dphi_j)
        s = s._replace(j=s.j + 1)
        return s._replace(failed=s.failed | (s.j >= 30))

    return lax.while_loop(lambda s: ~s.done & ~skip & ~s.failed, body, state)


class _Search(NamedTuple):
    done: object
    failed: object
    i: object
    a_i1: object       # the previous trial step and its values
    phi_i1: object
    dphi_i1: object
    nfev: object
    ngev: object
    a_star: object
    phi_star: object
    dphi_star: object
    g_star: object


class LineSearchResults(NamedTuple):
    """What ``line_search`` returns (the fields of JAX's ``_LineSearchResults``)."""
    failed: object
    nit: object
    nfev: object
    ngev: object
    k: object
    a_k: object
    f_k: object
    g_k: object
    status: object


def line_search(f, xk, pk, old_fval=None, old_old_fval=None, gfk=None, c1=1e-4, c2=0.9,
                maxiter=20):
    """A step ``a_k`` along ``pk`` from ``xk`` with ``f(xk + a pk) <= f(xk) + c1 a
    f'(xk) pk`` and ``|f'(xk + a pk) pk| <= c2 |f'(xk) pk|``; status 0 (found), 1 (zoom
    failed) or 3 (``maxiter`` trial steps)."""
    xk, pk = jnp.promote_dtypes_inexact(jnp.asarray(xk), jnp.asarray(pk))

    def phi_and_grad(t):
        value, g = value_and_grad(f)(xk + jnp.asarray(t, dtype=pk.dtype) * pk)
        return value, jnp.real(dot(g, pk)), g

    given = old_fval is not None and gfk is not None
    if given:
        phi_0, dphi_0 = old_fval, jnp.real(dot(gfk, pk))
    else:
        phi_0, dphi_0, gfk = phi_and_grad(0)
    if old_old_fval is None:
        first_step = 1
    else:   # the step that repeats the last decrease, at most 1
        guess = 1.01 * 2 * (phi_0 - old_old_fval) / dphi_0
        first_step = jnp.where(guess > 1, 1.0, guess)

    def sufficient_decrease_fails(a, phi):
        return phi > phi_0 + c1 * a * dphi_0

    def curvature_holds(dphi):
        return jnp.abs(dphi) <= -c2 * dphi_0

    state = _Search(done=jnp.asarray(False), failed=jnp.asarray(False), i=1, a_i1=0.0,
                    phi_i1=phi_0, dphi_i1=dphi_0, nfev=0 if given else 1,
                    ngev=0 if given else 1, a_star=0.0, phi_star=phi_0, dphi_star=dphi_0,
                    g_star=gfk)
    picked = ("a_star", "phi_star", "dphi_star", "g_star")

    def body(s):
        a_i = jnp.where(s.i == 1, first_step, s.a_i1 * 2.0)
        phi_i, dphi_i, g_i = phi_and_grad(a_i)
        s = s._replace(nfev=s.nfev + 1, ngev=s.ngev + 1)
        zoom_up = sufficient_decrease_fails(a_i, phi_i) | ((phi_i >= s.phi_i1) & (s.i > 1))
        found = curvature_holds(dphi_i) & ~zoom_up
        zoom_down = (dphi_i >= 0.0) & ~zoom_up & ~found
        up = _zoom(phi_and_grad, sufficient_decrease_fails, curvature_holds, s.a_i1,
                   s.phi_i1, s.dphi_i1, a_i, phi_i, dphi_i, gfk, ~zoom_up)
        down = _zoom(phi_and_grad, sufficient_decrease_fails, curvature_holds, a_i, phi_i,
                     dphi_i, s.a_i1, s.phi_i1, s.dphi_i1, gfk, ~zoom_down)
        s = s._replace(nfev=s.nfev + up.nfev + down.nfev, ngev=s.ngev + up.ngev + down.ngev)
        s = _select(zoom_up, s, **{k: getattr(up, k) for k in picked})
        s = s._replace(done=zoom_up | s.done, failed=(zoom_up & up.failed) | s.failed)
        s = _select(found, s, a_star=a_i, phi_star=phi_i, dphi_star=dphi_i, g_star=g_i)
        s = s._replace(done=found | s.done)
        s = _select(zoom_down, s, **{k: getattr(down, k) for k in picked})
        s = s._replace(done=zoom_down | s.done, failed=(zoom_down & down.failed) | s.failed)
        return s._replace(i=s.i + 1, a_i1=a_i, phi_i1=phi_i, dphi_i1=dphi_i)

    s = lax.while_loop(lambda s: ~s.done & (s.i <= maxiter) & ~s.failed, body, state)
    status = jnp.where(s.failed, 1, jnp.where(s.i > maxiter, 3, 0))
    a_k = jnp.asarray(s.a_star)
    if np.finfo(np.dtype(a_k.dtype)).bits != 64:   # keep tiny float32 steps away from 0
        a_k = jnp.where(jnp.abs(a_k) < 1e-8, jnp.sign(a_k) * 1e-8, a_k)
    return LineSearchResults(failed=s.failed | ~s.done, nit=s.i - 1, nfev=s.nfev, ngev=s.ngev,
                             k=s.i, a_k=a_k, f_k=s.phi_star, g_k=s.g_star, status=status)
