"""The confluent and Gauss hypergeometric functions ``hyp1f1`` and ``hyp2f1`` and the
spherical harmonics ``sph_harm_y``, on the algorithms JAX runs.

``hyp1f1``: the Taylor series for ``|x| < 100``, else the asymptotic series (Pearson, Olver
and Porter 2014, eqs. 3.2 and 3.8), each run elementwise to convergence (at most 250
terms); ``a = 0`` gives 1, ``a = b`` gives ``e^x``, ``b = 0`` gives ``inf``.

``hyp2f1``: the special values and the Euler transformation ``(1-x)^(c-a-b) 2F1(c-a, c-b;
c; x)`` where ``c - a - b <= -1``, then per element the terminating polynomial (``a`` or
``b`` a non-positive integer), the Taylor series, or, for ``x > 0.9`` with ``c - a - b`` an
integer, the digamma transformation (AMS55 15.3.10-12).  Every loop runs only on the
elements that use its result (JAX's ``vectorize`` runs all of them on every element, which
can take forever on an element that does not use them: its polynomial loop runs ``|a|``
times); the values of the elements that do are the same.

Derivatives are JAX's rules, one per argument: the series of ``d/da`` (``d/db``, ``d/dc``)
with digamma differences, and ``d/dx = a/b 1F1(a+1; b+1; x)`` (``ab/c 2F1(a+1, b+1; c+1;
x)``).  As JAX's, the rules see an explicit zero for an argument that is not
differentiated: forward mode at ``a`` a negative integer gives ``NaN * 0 = NaN`` where the
``a``-series has a NaN term, in both libraries; reverse mode drops that term.  The
parameter series share one loop (each sum stopping on its own test, as JAX's separate
loops), bounded with ``max_steps`` so that reverse mode runs through it: ``grad`` of
``grad`` in ``x`` needs that (the rule evaluates the series on the zero tangent), and
second derivatives in the parameters work in reverse mode too, where JAX raises (see
docs/differences.md).

``sph_harm_y``: the normalized associated Legendre functions by the three recurrences of
JAX's ``_gen_associated_legendre`` (degree ``n_max = max(n)``, static), gathered at
``(|m|, n, i)`` with clipping, times ``e^{i |m| phi}``, conjugated with ``(-1)^m`` for
``m < 0``; differentiated through its operations."""
from __future__ import annotations

import numpy as np

from .. import lax, numpy as jnp
from ..api import custom_jvp, jit
from ..core import ConcretizationError, Tracer, where as _where_msg
from ..core.pytree import tree_map
from ._common import args, real, weak_as
from ._gamma import digamma, gamma

__all__ = ["hyp1f1", "hyp2f1", "sph_harm_y"]

_MAX_TERMS = 250


def _eps(x, scale=1):
    return np.asarray(np.finfo(np.dtype(x.dtype)).eps * scale, x.dtype)[()]


def _many(f, *xs):
    """``[f(x) for x in xs]`` as one call of the elementwise ``f`` on the stacked ``xs``
    (one copy of its program: the loops below call ``digamma`` and ``gamma`` often)."""
    out = f(jnp.stack(xs))
    return [out[i] for i in range(len(xs))]


def _loop(active, cond, body, state, max_steps=None):
    """``while cond(s): s = body(s)`` on each element where ``active`` holds, until no
    element's condition does (a ``vmap``-ed ``while_loop``, restricted to ``active``)."""
    def on(s):
        return active & cond(s)

    def step(s):
        go = on(s)
        new = body(s)
        return tree_map(lambda n, o: jnp.where(go, n, o), new, s)
    return lax.while_loop(lambda s: jnp.any(on(s)), step, state, max_steps=max_steps)


def _derivative_series(x, init_term, update, psi_fixed, psi_args, signs):
    """The series of the derivatives in the parameters, ``sum_{k >= 1} term_k sign_i
    (psi(p_i + k) - psi(p_i))`` (``p_i + k`` is ``psi_args(k)[i]``), all of them in one
    loop: their terms share ``term_{k+1} = term_k * update(k)``, and each sum stops on its
    own test (``|term| / |sum| <= eps`` or 250 terms), as JAX's separate loops do.

    They are differentiated in their turn (second derivatives), in reverse mode too, so
    the loop has a bound (``max_steps``): JAX refuses reverse mode through its
    ``while_loop``, which here would also refuse the second derivative in ``x`` alone
    (the rule evaluates these series on a zero tangent)."""
    eps = _eps(x)
    n = len(signs)

    def go(sums, done, k, term):
        return [~d & (k < _MAX_TERMS) & (lax.abs(term) / lax.abs(s) > eps)
                for s, d in zip(sums, done)]

    def cond(st):
        on = go(*st)
        out = on[0]
        for o in on[1:]:
            out = out | o
        return out

    def body(st):
        sums, done, k, term = st
        on = go(sums, done, k, term)
        psi = _many(digamma, *psi_args(k))
        sums = tuple(jnp.where(o, s + term * (sg * (p - f)), s)
                     for o, s, p, f, sg in zip(on, sums, psi, psi_fixed, signs))
        done = tuple(d | ~o for d, o in zip(done, on))
        return sums, done, k + 1, term * update(k)
    zero = jnp.zeros_like(x)
    no = jnp.zeros(x.shape, bool)
    state = ((zero,) * n, (no,) * n, jnp.ones_like(x), init_term)
    # 256 = 16 segments of 16 steps: no padded last segment (the cond stops at 249 steps)
    return _loop(jnp.ones(x.shape, bool), cond, body, state, max_steps=256)[0]


def _as_arrays(*xs):
    """JAX's ``vectorize`` takes lists and tuples too (as arrays)."""
    return [jnp.asarray(x) if isinstance(x, (list, tuple)) else x for x in xs]


# ---- hyp1f1 ---------------------------------------------------------------------------------

def _series(active, x, init_sum, init_term, update, add, max_steps=None):
    """``sum_{k >= 0} add(k, term_k)`` with ``term_{k+1} = term_k * update(k)`` (``k``
    from 1 on the first update), stopping at 250 terms or when ``|term| / |sum| <= eps``
    (JAX's test, NaN stopping it)."""
    eps = _eps(x)

    def cond(s):
        serie, k, term = s
        return (k < _MAX_TERMS) & (lax.abs(term) / lax.abs(serie) > eps)

    def body(s):
        serie, k, term = s
        return add(serie, k, term), k + 1, term * update(k)
    k0 = jnp.ones_like(x)
    return _loop(active, cond, body, (init_sum, k0, init_term), max_steps)[0]


def _hyp1f1_taylor(active, a, b, x):
    return _series(active, x, jnp.ones_like(x), a / b * x,
                   lambda k: (a + k) / (b + k) * x / (k + 1),
                   lambda s, k, t: s + t)


def _hyp1f1_asymptotic(active, a, b, x):
    serie = _series(active, x, jnp.ones_like(x), (b - a) * (1 - a) / x,
                    lambda k: (b - a + k) * (1 - a + k) / (k + 1) / x,
                    lambda s, k, t: s + t)
    g_b, g_a = _many(gamma, b, a)
    return g_b / g_a * lax.exp(x) * lax.pow(x, a - b) * serie


@jit
def _hyp1f1_value(a, b, x):
    small = lax.abs(x) < 100
    result = jnp.where(small, _hyp1f1_taylor(small, a, b, x),
                       _hyp1f1_asymptotic(~small, a, b, x))
    index = ((a == 0).astype(np.int32) + ((a == b) & (a != 0)).astype(np.int32) * 2
             + ((b == 0) & (a != 0)).astype(np.int32) * 3)
    one = jnp.ones_like(x)
    return lax.select_n(index, result, one, lax.exp(x), jnp.full_like(x, np.inf))


@jit
def _hyp1f1_dab(a, b, x):
    """``d/da 1F1 = sum_k (a)_k / (b)_k x^k / k! (psi(a + k) - psi(a))`` and ``d/db 1F1``
    (``psi(b) - psi(b + k)``)."""
    psi = _many(digamma, a, b)
    return _derivative_series(x, a / b * x, lambda k: (a + k) / (b + k) * x / (k + 1),
                              psi, lambda k: (a + k, b + k), (1, -1))


@custom_jvp
def _hyp1f1(a, b, x):
    return _hyp1f1_value(a, b, x)


@_hyp1f1.defjvp
def _hyp1f1_jvp(primals, tangents):
    (a, b, x), (ta, tb, tx) = primals, tangents
    out = _hyp1f1(a, b, x)
    dx = a / b * _hyp1f1(a + 1, b + 1, x)
    da, db = _hyp1f1_dab(a, b, x)
    return out, da * ta + db * tb + dx * tx


def hyp1f1(a, b, x):
    """The confluent hypergeometric function ``1F1(a; b; x) = sum_k (a)_k / (b)_k x^k / k!``
    (real arguments; ``1F1(0; 0; x) = 1``, unlike SciPy)."""
    a, b, x = args("hyp1f1", *_as_arrays(a, b, x))
    real("hyp1f1", x)
    return weak_as(_hyp1f1(a, b, x), False)


# ---- hyp2f1 ---------------------------------------------------------------------------------

def _hyp2f1_terminal(active, a, b, c, x):
    """The polynomial ``2F1`` when ``a`` or ``b`` is a non-positive integer: the loop runs
    over ``i = 1 .. |a|`` (after swapping in ``b`` if it is the integer with the larger
    magnitude that does not pass a pole of ``c``)."""
    eps = _eps(x, 50)
    swap = (b < a) & (lax.abs(b - jnp.round(b)) < eps) & \
        ~((jnp.remainder(c, 1) == 0) & (c <= 0) & (c > b))
    a, b = jnp.where(swap, b, a), jnp.where(swap, a, b)
    a = lax.abs(a)
    upper = a + 1

    def cond(s):
        i, _, _ = s
        return (i < upper) & (i + 1 > i)

    def body(s):
        i, serie, term = s
        term = term * (-(a - i + 1) / (c + i - 1) * (b + i - 1) / i * x)
        return i + 1, serie + term, term
    one = jnp.ones_like(x)
    return _loop(active, cond, body, (one, one, one))[1]


def _hyp2f1_taylor(active, a, b, c, x):
    rtol = _eps(x)

    def cond(s):
        serie, k, term = s
        return (k < _MAX_TERMS) & (lax.abs(term) > rtol * lax.abs(serie))

    def body(s):
        serie, k, term = s
        return (serie + term, k + 1,
                term * ((a + k - 1) * (b + k - 1) / (c + k - 1) / k * x))
    one = jnp.ones_like(x)
    return _loop(active, cond, body, (jnp.zeros_like(x), one, one))[0]


def _hyp2f1_digamma(active, a, b, c, x):
    """AMS55 15.3.10-12: ``2F1`` near ``x = 1`` when ``c - a - b`` is an integer."""
    rtol = _eps(x)
    d = c - a - b
    s = 1 - x
    rd = jnp.round(d)
    pos = rd >= 0
    zero = jnp.zeros_like(d)
    e = jnp.where(pos, d, -d)
    d1 = jnp.where(pos, d, zero)
    d2 = jnp.where(pos, zero, d)
    ard = jnp.where(active, jnp.where(pos, rd, -rd), zero).astype(np.int32)
    ax = lax.log(s)
    psi_e1, psi_ad1, psi_bd1 = _many(digamma, 1.0 + e, a + d1, b + d1)
    g_e1, g_e2, g_c, g_e, g_ad1, g_bd1, g_ad2, g_bd2, g_a, g_b = _many(
        gamma, e + 1.0, e + 2.0, c, e, a + d1, b + d1, a + d2, b + d2, a, b)
    y = digamma(1.0) + psi_e1 - psi_ad1 - psi_bd1 - ax
    y = y / g_e1
    p = (a + d1) * (b + d1) * s / g_e2

    def cond(st):
        p, q, t, y = st
        return (t < _MAX_TERMS) & (lax.abs(q) >= rtol * lax.abs(y))

    def body(st):
        p, q, t, y = st
        psi = _many(digamma, 1.0 + t, 1.0 + t + e, a + t + d1, b + t + d1)
        r = psi[0] + psi[1] - psi[2] - psi[3] - ax
        q = p * r
        y = y + q
        p = p * (s * (a + t + d1) / (t + 1.0))
        p = p * ((b + t + d1) / (t + 1.0 + e))
        return p, q, t + 1.0, y
    y = _loop(active, cond, body, (p, y, jnp.ones_like(x), y))[3]

    # the finite sum: i = 1 .. |rd| - 1
    def fcond(st):
        i, _, _, _ = st
        return i < ard

    def fbody(st):
        i, p, t, y1 = st
        r = 1.0 - e + t
        p = p * (s * (a + t + d2) * (b + t + d2) / r)
        t = t + 1.0
        p = p / t
        return i + 1, p, t, y1 + p
    one = jnp.ones_like(x)
    i0 = jnp.ones(x.shape, np.int32)
    y1 = _loop(active, fcond, fbody, (i0, one, jnp.zeros_like(x), one))[3]
    y1 = y1 * (g_e * g_c / (g_ad1 * g_bd1))
    ys = y * (g_c / (g_ad2 * g_bd2))
    ys = jnp.where((ard & 1) != 0, -ys, ys)
    q = lax.pow(s, rd)
    summed = jnp.where(rd > 0, ys * q + y1, ys + y1 * q)
    return jnp.where(rd == 0, y * g_c / (g_a * g_b), summed)


def _hyp2f1_terminal_or_series(active, a, b, c, x):
    eps = _eps(x, 50)
    d = c - a - b
    neg_int_a = (a <= 0) & (lax.abs(a - jnp.round(a)) < eps)
    neg_int_b = (b <= 0) & (lax.abs(b - jnp.round(b)) < eps)
    neg_int = neg_int_a | neg_int_b
    near_one = (x > 0.9) & ~neg_int
    use_digamma = near_one & ~(lax.abs(d - jnp.round(d)) >= eps)    # (NaN: digamma)
    use_taylor = ~use_digamma & ~neg_int
    out = _hyp2f1_taylor(active & use_taylor, a, b, c, x)
    out = jnp.where(use_digamma, _hyp2f1_digamma(active & use_digamma, a, b, c, x), out)
    return jnp.where(neg_int & ~near_one,
                     _hyp2f1_terminal(active & neg_int & ~near_one, a, b, c, x), out)


@jit
def _hyp2f1_value(a, b, c, x):
    eps = _eps(x, 50)
    d = c - a - b
    s = 1 - x
    ca = c - a
    cb = c - b
    id_ = jnp.round(d)
    i32 = np.int32
    index = jnp.where(
        (x == 0) | (((a == 0) | (b == 0)) & (c != 0)), i32(0),
        jnp.where((c == 0) | ((c < 0) & (jnp.remainder(c, 1) == 0)), i32(1),
        jnp.where((d <= -1) & ~((lax.abs(d - id_) >= eps) & (s < 0)), i32(2),
        jnp.where((d <= 0) & (x == 1), i32(1),
        jnp.where((x < 1) & (b == c), i32(3),
        jnp.where((x < 1) & (a == c), i32(4),
        jnp.where(x > 1, i32(1),
        jnp.where(x == 1, i32(5), i32(6)))))))))
    # the Euler transform (index 2) and the direct evaluation (index 6) run one program on
    # the parameters of each element's branch
    euler = index == 2
    series = _hyp2f1_terminal_or_series(euler | (index == 6), jnp.where(euler, ca, a),
                                        jnp.where(euler, cb, b), c, x)
    g_c, g_d, g_ca, g_cb = _many(gamma, c, d, ca, cb)
    gauss = g_c * g_d / (g_ca * g_cb)
    return lax.select_n(index, jnp.ones_like(x), jnp.full_like(x, np.inf),
                        lax.pow(s, d) * series, lax.pow(s, -a), lax.pow(s, -b), gauss, series)


@jit
def _hyp2f1_dabc(a, b, c, x):
    """``d/da 2F1 = sum_k (a)_k (b)_k / (c)_k x^k / k! (psi(a + k) - psi(a))``, ``d/db``,
    and ``d/dc`` (``psi(c) - psi(c + k)``)."""
    psi = _many(digamma, a, b, c)
    return _derivative_series(x, a * b / c * x,
                              lambda k: (a + k) * (b + k) / (c + k) / (k + 1) * x,
                              psi, lambda k: (a + k, b + k, c + k), (1, 1, -1))


@custom_jvp
def _hyp2f1(a, b, c, x):
    return _hyp2f1_value(a, b, c, x)


@_hyp2f1.defjvp
def _hyp2f1_jvp(primals, tangents):
    (a, b, c, x), (ta, tb, tc, tx) = primals, tangents
    out = _hyp2f1(a, b, c, x)
    dx = a * b / c * _hyp2f1(a + 1, b + 1, c + 1, x)
    da, db, dc = _hyp2f1_dabc(a, b, c, x)
    return out, da * ta + db * tb + dc * tc + dx * tx


def hyp2f1(a, b, c, x):
    """The Gauss hypergeometric function ``2F1(a, b; c; x) = sum_k (a)_k (b)_k / (c)_k
    x^k / k!`` (real arguments)."""
    a, b, c, x = args("hyp2f1", *_as_arrays(a, b, c, x))
    return weak_as(_hyp2f1(a, b, c, x), False)


# ---- sph_harm_y -----------------------------------------------------------------------------

def _legendre_constants(l_max, dtype):
    """Constants of the normalized recurrences, in ``dtype`` (IEEE operations: numpy's
    values are XLA's): ``f_a[l-1] = prod_{i <= l} -sqrt(1 + 1/(2i))`` (the diagonal),
    ``f_b[m] = sqrt(2m + 3)`` (the first off-diagonal), and ``d0[m, l]`` (``l > m``),
    ``d1[m, l]`` (``l > m + 1``) of ``P_l^m = d0 x P_{l-1}^m - d1 P_{l-2}^m``, 0 elsewhere."""
    t = np.dtype(dtype).type
    a_idx = np.arange(1, l_max + 1, dtype=dtype)
    f_a = np.cumprod(t(-1) * np.sqrt(t(1.0) + t(0.5) / a_idx)).astype(dtype)  # in order
    f_b = np.sqrt(t(2.0) * np.arange(l_max, dtype=dtype) + t(3.0)).astype(dtype)
    m, l = np.meshgrid(np.arange(l_max + 1, dtype=dtype), np.arange(l_max + 1, dtype=dtype),
                       indexing="ij")
    with np.errstate(divide="ignore", invalid="ignore"):
        c0, c1, c2, c3 = l * l, m * m, t(2.0) * l, (l - t(1.0)) * (l - t(1.0))
        d0 = np.sqrt((t(4.0) * c0 - t(1.0)) / (c0 - c1))
        d1 = np.sqrt(((c2 + t(1.0)) * (c3 - c1)) / ((c2 - t(3.0)) * (c0 - c1)))
    d0 = np.where(np.triu(np.ones(d0.shape, bool), 1), d0, t(0)).astype(dtype)
    d1 = np.where(np.triu(np.ones(d1.shape, bool), 2), d1, t(0)).astype(dtype)
    return f_a, f_b, d0, d1


def _normalized_legendre(l_max, x):
    """``p[m, l, j]``: the normalized associated Legendre function of order ``m`` and
    degree ``l`` at ``x[j]`` (0 for ``m > l``), ``(l_max + 1, l_max + 1, len(x))``: JAX's
    diagonal, off-diagonal and three-term recurrences, the last run along ``l`` (one
    ``scan`` step per degree, for every order at once)."""
    dt = np.dtype(x.dtype)
    num = x.shape[0]
    size = l_max + 1
    f_a, f_b, d0, d1 = _legendre_constants(l_max, dt)
    init = jnp.asarray(0.5 / jnp.sqrt(np.pi), dt)
    # diagonal: p[l, l] = init f_a[l-1] s^l, s = sqrt(1 - x^2) (the power as a running
    # product, in order: JAX's cumprod)
    s = jnp.sqrt(1.0 - x * x)
    if l_max > 0:
        powers = lax.scan(lambda c, _: (c * s, c * s), jnp.ones_like(x), None,
                          length=l_max)[1]
        diag = jnp.concatenate([jnp.broadcast_to(init, (1, num)),
                                init * (jnp.asarray(f_a)[:, None] * powers)], axis=0)
        # first off-diagonal: p[m, m + 1] = f_b[m] x p[m, m]
        off = jnp.asarray(f_b)[:, None] * x[None, :] * diag[:l_max]
    else:
        diag = jnp.broadcast_to(init, (1, num))
    eye = np.eye(size, dtype=bool)[:, :, None]
    p = jnp.where(eye, diag[:, None, :], jnp.zeros((), dt))
    if l_max > 0:
        sup = np.eye(size, k=1, dtype=bool)[:, :, None]
        off = jnp.concatenate([off, jnp.zeros((1, num), dt)], axis=0)
        p = jnp.where(sup, off[:, None, :], p)
    if l_max > 1:
        rows = np.arange(size)[:, None]

        def step(carry, col):
            prev2, prev1 = carry
            c0, c1, base, l = col
            new = jnp.where(rows <= l - 2, c0[:, None] * (prev1 * x) - c1[:, None] * prev2,
                            base)
            return (prev1, new), new
        cols = (jnp.asarray(d0[:, 2:].T), jnp.asarray(d1[:, 2:].T),
                jnp.moveaxis(p[:, 2:, :], 1, 0), jnp.arange(2, size))
        rest = lax.scan(step, (p[:, 0, :], p[:, 1, :]), cols)[1]
        p = jnp.concatenate([p[:, :2, :], jnp.moveaxis(rest, 0, 1)], axis=1)
        # JAX's recurrence adds zero-masked terms to the whole table: NaN in a NaN column
        p = p + jnp.where(jnp.isnan(x), np.nan, 0.0).astype(dt)
    return p


@jit(static_argnums=(4,))
def _sph_harm(n, m, theta, phi, n_max):
    legendre = _normalized_legendre(n_max, jnp.cos(theta))
    am = jnp.abs(m)
    points = jnp.arange(n.shape[0])

    def clip(i, size):    # (JAX's mode="clip" gather, negative indices counted from the end)
        return jnp.clip(jnp.where(i < 0, i + size, i), 0, size - 1)
    idx = jnp.broadcast_arrays(clip(am, n_max + 1), clip(n, n_max + 1),
                               clip(points, legendre.shape[2]))
    val = legendre[idx[0], idx[1], idx[2]]
    angle = am * phi
    vc, vs = jnp.cos(angle), jnp.sin(angle)
    harmonics = lax.complex(val * vc, val * vs)
    return jnp.where(m < 0, (-1.0) ** am * jnp.conjugate(harmonics), harmonics)


def sph_harm_y(n, m, theta, phi, diff_n=None, n_max=None):
    """The spherical harmonics ``Y_n^m(theta, phi)`` (``theta`` the colatitude, ``phi`` the
    longitude), for ``n >= 0`` and ``|m| <= n``.  As JAX's: ``n_max``, the largest degree,
    must be static (by default ``max(n)``, so ``n`` must be concrete); ``diff_n`` is not
    supported; element ``i`` uses ``theta[i]`` (a scalar ``theta`` is used for all)."""
    if diff_n is not None:
        raise NotImplementedError("The 'diff_n' argument to xform.scipy.special.sph_harm_y "
                                  f"is not supported{_where_msg()}.")
    if jnp.isscalar(theta):
        theta = jnp.array([theta])
    if n_max is None:
        n_max = np.max(n)
    if isinstance(n_max, Tracer) and n_max.val is None:
        raise ConcretizationError(
            "The `n_max` argument of `xform.scipy.special.sph_harm_y` must be statically "
            f"specified to use `sph_harm_y` within transformations{_where_msg()}.")
    n_max = int(n_max)
    n = jnp.asarray(n)
    if n.ndim == 0:
        raise TypeError("len() of unsized object")
    return _sph_harm(n, jnp.asarray(m), theta, phi, n_max)
