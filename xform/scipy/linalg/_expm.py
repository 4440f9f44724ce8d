"""``expm`` by scaling and squaring with Pade approximants (Higham 2005, the degrees and
bounds JAX uses for each precision) and ``expm_frechet`` as its JVP."""
from __future__ import annotations

from fractions import Fraction
from math import factorial

import numpy as np

from ... import lax
from ... import numpy as jnp
from ...api import jvp
from ...core import where
from ...lax import linalg as _la
from ...numpy import linalg as _npla
from ._solves import inexact, solve_triangular

# Higham's theta_m: the largest 1-norm for which the degree-m approximant is accurate to
# the unit roundoff; the last one bounds the norm after scaling.
_THETA = {
    np.dtype("float64"): ((3, 0.01495585217958292), (5, 0.2539398330063230),
                          (7, 0.9504178996162932), (9, 2.097847961257068),
                          (13, 5.371920351148152)),
    np.dtype("float32"): ((3, 0.4258730016922831), (5, 1.880152677804762),
                          (7, 3.925724783138660)),
}


def _pade_coefficients(m):
    """The coefficients ``b_0 .. b_m`` of the degree-``m`` diagonal Pade approximant of
    ``exp``, scaled so that ``b_m = 1`` (integers, exact in float64 up to ``m = 13``)."""
    c = [Fraction(factorial(2 * m - j) * factorial(m),
                  factorial(2 * m) * factorial(j) * factorial(m - j)) for j in range(m + 1)]
    return [float(x / c[m]) for x in c]


def _dot(x, y):
    return _la.matmul(x, y)


def _pade(m):
    """``A -> (U, V)``: the odd and even parts of the numerator, ``p(A) = U + V``,
    ``q(A) = V - U``."""
    b = _pade_coefficients(m)

    def series(terms):   # highest power first, as the sums are written out by hand
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    def uv(a):
        ident = jnp.eye(a.shape[0], dtype=a.dtype)
        a2 = _dot(a, a)
        powers = [ident, a2]
        if m == 13:
            a4 = _dot(a2, a2)
            a6 = _dot(a4, a2)
            u = _dot(a, _dot(a6, b[13] * a6 + b[11] * a4 + b[9] * a2)
                     + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * ident)
            v = (_dot(a6, b[12] * a6 + b[10] * a4 + b[8] * a2)
                 + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * ident)
            return u, v
        while len(powers) <= m // 2:
            powers.append(_dot(powers[-1], a2))   # a^4 = a^2 a^2, a^6 = a^4 a^2, ...
        u = _dot(a, series([b[2 * i + 1] * powers[i] for i in reversed(range(m // 2 + 1))]))
        v = series([b[2 * i] * powers[i] for i in reversed(range(m // 2 + 1))])
        return u, v
    return uv


_PADE = {m: _pade(m) for m in (3, 5, 7, 9, 13)}


def _expm_2d(a, upper_triangular, max_squarings):
    theta = _THETA[np.dtype(np.finfo(a.dtype).dtype)]
    norm = _npla.norm(a, 1)
    max_norm = theta[-1][1]
    n_squarings = jnp.maximum(0, jnp.floor(jnp.log2(norm / max_norm)))
    a = a / (2 ** n_squarings.astype(a.dtype))
    index = jnp.digitize(norm, jnp.asarray([t for _, t in theta[:-1]], norm.dtype))
    u, v = lax.switch(index, [_PADE[m] for m, _ in theta], a)
    p, q = u + v, -u + v

    def compute(a, p, q):
        r = solve_triangular(q, p) if upper_triangular else _npla.solve(q, p)

        def square(r, i):
            return lax.cond(i < n_squarings, lambda x: _dot(x, x), lambda x: x, r), None
        r, _ = lax.scan(square, r, jnp.arange(max_squarings, dtype=n_squarings.dtype))
        return r

    return lax.cond(n_squarings > max_squarings, lambda a, p, q: jnp.full_like(a, np.nan),
                    compute, a, p, q)


def expm(A, *, upper_triangular=False, max_squarings=16):
    """The matrix exponential of square ``A`` (batched over leading axes).  NaN where it
    would take more than ``max_squarings`` squarings; ``upper_triangular`` uses a
    triangular solve for the Pade quotient."""
    (A,) = inexact(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"scipy.linalg.expm: A must be a square matrix (or a batch of them), "
                         f"got shape {A.shape}{where()}")
    return jnp.vectorize(lambda x: _expm_2d(x, bool(upper_triangular), int(max_squarings)),
                         signature="(n,n)->(n,n)")(A)


def expm_frechet(A, E, *, method=None, compute_expm=True):
    """The Frechet derivative of ``expm`` at ``A`` in the direction ``E`` (a JVP), with
    ``expm(A)`` first when ``compute_expm``.  ``method`` is ignored, as in JAX."""
    A, E = jnp.asarray(A), jnp.asarray(E)
    for name, x in (("A", A), ("E", E)):
        if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
            raise ValueError(f"scipy.linalg.expm_frechet: {name} must be a square matrix (or "
                             f"a batch of them), got shape {x.shape}{where()}")
    if A.shape != E.shape:
        raise ValueError(f"scipy.linalg.expm_frechet: A and E must have the same shape, got "
                         f"{A.shape} and {E.shape}{where()}")
    value, frechet = jvp(expm, (A,), (E,))
    return (value, frechet) if compute_expm else frechet
