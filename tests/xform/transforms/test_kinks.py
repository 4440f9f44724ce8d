"""Derivatives where scientists evaluate them: at zero, at ties, at kinks, at the edges of
a domain (issue 19).  Each case is one a user met as a silently wrong number; JAX is the
oracle for the value, dtype, weak type and every derivative order checked."""
import numpy as np
import pytest

import jax
import jax.numpy as jnp_

import xform
from oracle import assert_same

F = np.float32


def _grads(m, f, order):
    for _ in range(order):
        f = m.grad(f)
    return f


# name -> (function of the library m, point, derivative orders to compare)
CASES = {
    "softplus at 0": (lambda m: m.nn.softplus, 0.0, (1, 2, 3)),
    "log_sigmoid at 0": (lambda m: m.nn.log_sigmoid, 0.0, (1, 2)),
    "logaddexp at a tie": (lambda m: lambda x: m.numpy.logaddexp(x, 0.5), 0.5, (1, 2)),
    "logaddexp2 at a tie": (lambda m: lambda x: m.numpy.logaddexp2(x, -1.0), -1.0, (1, 2)),
    "logaddexp at +inf": (lambda m: lambda x: m.numpy.logaddexp(x, 1.0), np.inf, (1,)),
    "sigmoid far left": (lambda m: m.nn.sigmoid, -1000.0, (1, 2)),
    "silu far left": (lambda m: m.nn.silu, -1000.0, (1,)),
    "sinc at 0": (lambda m: m.numpy.sinc, 0.0, (1, 2, 3, 4)),
    "arccosh at -1": (lambda m: m.numpy.arccosh, -1.0, (1,)),
    "abs at 0": (lambda m: m.numpy.abs, 0.0, (1,)),
    "clamp at its lower bound": (lambda m: lambda x: m.lax.clamp(0.0, x, 1.0), 0.0, (1,)),
    "clamp at its upper bound": (lambda m: lambda x: m.lax.clamp(0.0, x, 1.0), 1.0, (1,)),
    "clamp inside": (lambda m: lambda x: m.lax.clamp(0.0, x, 1.0), 0.5, (1,)),
    "clip at its bound": (lambda m: lambda x: m.numpy.clip(x, 0.0, 1.0), 1.0, (1,)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_derivatives_at_special_points_match_jax(name):
    make, x, orders = CASES[name]
    for order in orders:
        got = _grads(xform, make(xform), order)(F(x))
        want = _grads(jax, make(jax), order)(F(x))
        assert_same(got, want, f"{name}, derivative {order}")


def test_clamp_routes_the_slope_as_jax_for_every_argument():
    pts = [-1.0, 0.0, 0.5, 1.0, 2.0, np.nan]
    for lo in pts:
        for x in pts:
            for hi in pts:
                for argnum in range(3):
                    got = xform.grad(xform.lax.clamp, argnum)(F(lo), F(x), F(hi))
                    want = jax.grad(jax.lax.clamp, argnum)(F(lo), F(x), F(hi))
                    assert_same(got, want, f"clamp({lo}, {x}, {hi}) d/arg{argnum}")
                assert_same(xform.lax.clamp(F(lo), F(x), F(hi)),
                            jax.lax.clamp(F(lo), F(x), F(hi)), f"clamp({lo}, {x}, {hi})")


def _rank(n, r, seed):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, r)) @ rng.normal(size=(r, n))).astype(F)


@pytest.mark.parametrize("a", [np.ones((3, 3), F), np.ones((5, 5), F), _rank(4, 3, 0),
                               _rank(5, 4, 1), np.zeros((4, 4), F), np.eye(2, dtype=F),
                               np.random.default_rng(2).normal(size=(2, 4, 4)).astype(F)],
                         ids=["ones3", "ones5", "rank3of4", "rank4of5", "zeros4", "eye2",
                              "batch"])
def test_det_and_its_gradient_at_singular_matrices(a):
    """det's JVP is trace(adj(a) da), finite where a is singular (rank n - 1: the
    rank-one adjugate; lower: 0); det(ones((3, 3))) has gradient 0, not NaN."""
    tol = 2e-4 * max(1.0, float(np.abs(a).max()) ** a.shape[-1])
    got = xform.grad(lambda a: xform.numpy.sum(xform.numpy.linalg.det(a)))(a)
    want = jax.grad(lambda a: jnp_.sum(jnp_.linalg.det(a)))(a)
    assert np.isfinite(np.asarray(got)).all()
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-4, atol=tol)
    np.testing.assert_allclose(np.asarray(xform.numpy.linalg.det(a)),
                               np.asarray(jnp_.linalg.det(a)), rtol=2e-5, atol=tol)


def test_det_hessian_matches_jax_at_an_invertible_matrix():
    a = np.random.default_rng(3).normal(size=(4, 4)).astype(F)
    got = xform.jit(xform.hessian(xform.numpy.linalg.det))(a)
    want = jax.hessian(jnp_.linalg.det)(a)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-3, atol=1e-4)


_VECS = [np.array([0., 2.], F), np.array([3., -3., 1.], F), np.array([0., 0.], F),
         np.array([-2., 2., 0.], F)]
_MATS = [np.array([[1., -1.], [1., 1.]], F), np.zeros((2, 2), F), 2 * np.eye(2, dtype=F),
         np.array([[1., 2.], [3., 4.]], F)]


@pytest.mark.parametrize("ord_,xs", [(o, _VECS) for o in (None, 1, 2, np.inf, -np.inf, 0, 3)]
                         + [(o, _MATS) for o in (None, "fro", 1, -1, np.inf, -np.inf, 2,
                                                 -2, "nuc")],
                         ids=lambda v: str(v) if not isinstance(v, list) else "")
def test_norm_values_and_gradients_at_zeros_and_ties_match_jax(ord_, xs):
    """L1 penalties at zero, max-norms at ties: the slope goes where JAX sends it (``max``
    with ``initial=0`` shares it with the initial value at 0), and the matrix 2, -2 and
    nuclear norms exist."""
    for x in xs:
        got = xform.grad(lambda x: xform.numpy.linalg.norm(x, ord=ord_))(x)
        want = jax.grad(lambda x: jnp_.linalg.norm(x, ord=ord_))(x)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6,
                                   err_msg=f"grad of norm(ord={ord_}) at {x.tolist()}")
        assert_same(xform.numpy.linalg.norm(x, ord=ord_), jnp_.linalg.norm(x, ord=ord_),
                    f"norm(ord={ord_}) at {x.tolist()}")


def test_eager_gradient_through_max_of_singular_values():
    """Eager grad seeds its forward pass with the values computed while tracing; svd's JVP
    re-runs svd for u and v, and replacing the seeded s with the new call's (rounded
    differently) left max's tie mask empty: NaN."""
    a = np.array([[1., 2.], [3., 4.]], F)
    got = xform.grad(lambda a: xform.lax.reduce_max(xform.numpy.linalg.svdvals(a), (0,)))(a)
    want = jax.grad(lambda a: jax.lax.reduce_max(jnp_.linalg.svdvals(a), (0,)))(a)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)


def test_digamma_and_lgamma_derivatives_at_poles_as_jax():
    # issue 19: digamma' and lgamma'' at the poles were finite (JAX: inf), and the
    # composite trigamma was only float32-accurate
    d1 = xform.grad(xform.lax.digamma)
    d2 = xform.grad(xform.grad(xform.lax.lgamma))
    d3 = xform.grad(xform.grad(xform.lax.digamma))
    for x in (-1.0, -2.0, -1000.0, -np.inf):
        assert np.isposinf(d1(np.float32(x))) and np.isposinf(d2(np.float32(x)))
    assert np.isnan(d3(np.float32(-2.0))) and np.isnan(d1(np.float32(np.inf)))
    for x in (0.5, 1.0, 2.0, -0.5, 7.25):
        np.testing.assert_allclose(d1(np.float32(x)), jax.grad(jax.lax.digamma)(np.float32(x)),
                                   rtol=2e-6)
        np.testing.assert_allclose(d3(np.float32(x)),
                                   jax.grad(jax.grad(jax.lax.digamma))(np.float32(x)), rtol=1e-5)


def test_scatter_with_repeated_indices_differentiates_the_winning_update():
    # the full oracle sweep: every update written to a repeated index got the gradient
    from jax import lax
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    u = np.array([5.0, 6.0, 7.0, 8.0], np.float32)
    idx = np.array([[0], [0], [2], [9]])          # 0 twice, 9 out of bounds
    w = np.arange(1.0, 5.0, dtype=np.float32)
    xdn = xform.lax.ScatterDimensionNumbers((), (0,), (0,))
    jdn = lax.ScatterDimensionNumbers((), (0,), (0,))
    got = xform.grad(lambda a, b: (xform.lax.scatter(a, idx, b, xdn) * w).sum(), (0, 1))(x, u)
    want = jax.grad(lambda a, b: (lax.scatter(a, idx, b, jdn) * w).sum(), (0, 1))(x, u)
    for g, h in zip(got, want):
        np.testing.assert_array_equal(g, h)
    got = xform.jvp(lambda a, b: xform.lax.scatter(a, idx, b, xdn), (x, u), (w, 10 * w))[1]
    want = jax.jvp(lambda a, b: lax.scatter(a, idx, b, jdn), (x, u), (w, 10 * w))[1]
    np.testing.assert_array_equal(got, want)
    # x.at[i].set(v) with a repeated index is the same scatter
    g = xform.grad(lambda v: (xform.numpy.asarray(x).at[np.array([1, 1])].set(v) * w).sum())
    h = jax.grad(lambda v: (jnp_.asarray(x).at[np.array([1, 1])].set(v) * w).sum())
    np.testing.assert_array_equal(g(u[:2]), h(u[:2]))


def test_pinv_derivative_at_repeated_singular_values_as_jax():
    # the full oracle sweep: pinv's derivative went through svd's, NaN at the identity
    for a in (np.eye(3, dtype=np.float32), np.diag([2.0, 2.0, 1.0]).astype(np.float32),
              np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 1.0]], np.float32)):
        got = xform.jacfwd(xform.numpy.linalg.pinv)(a)
        want = jax.jacfwd(jnp_.linalg.pinv)(a)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
        got = xform.grad(lambda m: (xform.numpy.linalg.pinv(m) ** 2).sum())(a)
        want = jax.grad(lambda m: (jnp_.linalg.pinv(m) ** 2).sum())(a)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


_NONFINITE = np.array([[np.inf, 1.0, -np.inf, 0.0], [np.nan, 2.0, 1.0, -1.0],
                       [0.5, -0.5, 2.0, np.inf]], F)
_ZEROS = np.array([[0.0, -0.0, 0.0, 2.0], [-0.0, 3.0, 0.0, -0.0], [1.0, 0.0, -0.0, 0.0]], F)
_TAN = (np.arange(12, dtype=F).reshape(3, 4) % 5 + 1) / 7


# name -> function of the library m on a 3x4 array
_AT_NONFINITE = {
    "prod": lambda m: lambda a: m.numpy.prod(a, axis=1),
    "prod of all": lambda m: m.numpy.prod,
    "nanprod": lambda m: lambda a: m.numpy.nanprod(a, axis=0),
    "cumprod": lambda m: lambda a: m.numpy.cumprod(a, axis=1),
    "nancumprod": lambda m: m.numpy.nancumprod,
    "lax.cumlogsumexp": lambda m: lambda a: m.lax.cumlogsumexp(a, 0),
    "lax.cumlogsumexp reverse": lambda m: lambda a: m.lax.cumlogsumexp(a, 1, reverse=True),
    "reduce_window max": lambda m: lambda a: m.lax.reduce_window(
        a, -np.inf, m.lax.max, (2, 2), (1, 1), "VALID"),
    "reduce_window min": lambda m: lambda a: m.lax.reduce_window(
        a, np.inf, m.lax.min, (2, 3), (1, 1), "SAME"),
    "polyval": lambda m: lambda a: m.numpy.polyval(a[0], a[1:]),
    "piecewise": lambda m: lambda a: m.numpy.piecewise(
        a, [a < 0, a >= 0], [lambda v: -v, lambda v: v * v]),
}


@pytest.mark.parametrize("x", [_NONFINITE, _ZEROS], ids=["nonfinite", "zeros"])
@pytest.mark.parametrize("name", list(_AT_NONFINITE))
def test_derivatives_at_nan_inf_and_zero_as_jax(name, x):
    """The full oracle sweep: which products of 0 and inf turn a derivative NaN is fixed by
    JAX's formulation (a pairwise product tree for prod, the associative scan for cumprod
    and cumlogsumexp with logaddexp's own JVP, a running >= for a window's max, a scan
    for polyval, a switch per element for piecewise); every order follows it."""
    f, g = _AT_NONFINITE[name](xform), _AT_NONFINITE[name](jax)
    w = lambda y: np.asarray((np.arange(y.size) % 3 + 1) / 4, F).reshape(y.shape)  # noqa: E731
    assert_same(xform.jvp(f, (x,), (_TAN,)), jax.jvp(g, (x,), (_TAN,)), f"{name} jvp")
    out, pull = xform.vjp(f, x)
    assert_same(pull(w(out)), jax.vjp(g, x)[1](w(out)), f"{name} vjp")

    def hvp(m, fn):
        inner = m.grad(lambda a: (fn(a) * w(out)).sum())
        return m.grad(lambda a: (inner(a) * _TAN).sum())
    assert_same(hvp(xform, f)(x), hvp(jax, g)(x), f"{name} grad of grad")
