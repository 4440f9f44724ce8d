"""The lax names written as composites (xform/lax/composites.py, convolution.py) against
JAX: values, dtypes, first and second derivatives, vmap, and their errors.  The oracle
sweep covers every name at a few points; this file covers ties, NaN order, axes and the
arguments the sweep does not draw."""
import numpy as np
import pytest

import jax
import jax.lax as jl

import xform
import xform.lax as xl

X = np.array([[3., 1., 3., 2.], [0., 5., 5., -1.], [2., 2., 2., 2.]], np.float32)
W = np.arange(1, 5, dtype=np.float32)


def _close(a, b, tol=1e-5):
    for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        u, v = np.asarray(u), np.asarray(v)
        assert u.dtype == v.dtype, (u.dtype, v.dtype)
        np.testing.assert_allclose(u, v, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp"])
def test_cumulative_reductions_and_their_derivatives_at_ties(name):
    for axis in (0, 1):
        for reverse in (False, True):
            def f(m, x):
                return (getattr(m, name)(x, axis, reverse) * W[:x.shape[-1]]).sum()
            _close(getattr(xl, name)(X, axis, reverse), getattr(jl, name)(X, axis, reverse))
            _close(xform.grad(lambda x: f(xl, x))(X), jax.grad(lambda x: f(jl, x))(X))
    _close(xform.hessian(lambda x: (getattr(xl, name)(x) ** 2).sum())(X[:, 0]),
           jax.hessian(lambda x: (getattr(jl, name)(x) ** 2).sum())(X[:, 0]), 1e-4)
    _close(xform.vmap(lambda r: getattr(xl, name)(r))(X), jax.vmap(lambda r: getattr(jl, name)(r))(X))


def test_cumulative_errors():
    with pytest.raises(TypeError, match="cumlogsumexp: operand must be floating"):
        xl.cumlogsumexp(np.arange(3))
    with pytest.raises(ValueError, match="cumsum: axis 2 is out of bounds"):
        xl.cumsum(X, 2)
    with pytest.raises(ValueError, match="cummax: axis must be non-negative"):
        xl.cummax(X, -1)      # JAX: "XLA operations do not allow negative axes"
    with pytest.raises(ValueError):
        jl.cummax(X, -1)


def test_top_k_ties_nan_and_signed_zero_order_as_xla():
    a = np.array([3., 1., 2., 1., 3., 0., np.nan, 2., -0., -np.nan, np.inf], np.float32)
    for k in (0, 1, 4, 11):
        _close(xl.top_k(a, k), jl.top_k(a, k))
    _close(xl.top_k(X, 2), jl.top_k(X, 2))
    i8 = np.array([1, 5, 3, 5, -128], np.int8)
    _close(xl.top_k(i8, 3), jl.top_k(i8, 3))
    u = np.array([0, 255, 7, 255], np.uint8)
    _close(xl.top_k(u, 2), jl.top_k(u, 2))
    g = xform.grad(lambda x: (xl.top_k(x, 2)[0] * np.array([2., 1.])).sum())(X[0])
    _close(g, jax.grad(lambda x: (jl.top_k(x, 2)[0] * np.array([2., 1.])).sum())(X[0]))
    with pytest.raises(ValueError, match="top_k: k must be between 0 and the size 4"):
        xl.top_k(X, 5)


def test_numpy_partition_is_two_top_ks_as_jax():
    import jax.numpy as jnp
    import xform.numpy as xnp
    a = np.array([3., 1., 2., 1., 3., 0., np.nan, 2., -0., -np.nan, np.inf], np.float32)
    for k in (0, 2, 5, -1):
        _close(xnp.partition(a, k), jnp.partition(a, k))
        _close(xnp.argpartition(a, k), jnp.argpartition(a, k))
    u = np.array([3, 0, 2, 0, 7], np.uint8)
    _close(xnp.argpartition(u, 1), jnp.argpartition(u, 1))
    m = np.arange(12.).reshape(3, 4)[::-1]
    _close(xnp.argpartition(m, 1, axis=0), jnp.argpartition(m, 1, axis=0))


def test_builders_and_shapes():
    _close(xl.full((2, 3), 1.5), jl.full((2, 3), 1.5))
    _close(xl.full((2,), 3, np.int8), jl.full((2,), 3, np.int8))
    _close(xl.full_like(X, 2), jl.full_like(X, 2))
    _close(xl.empty((2,), np.float32), jl.empty((2,), np.float32))
    _close(xl.stack([X, X + 1], 1), jl.stack([X, X + 1], 1))
    _close(xl.unstack(X, 1), jl.unstack(X, 1))
    _close(xl.split(X, [1, 3], 1), jl.split(X, [1, 3], 1))
    _close(xl.tile(X, (2, 3)), jl.tile(X, (2, 3)))
    _close(xl.collapse(np.ones((2, 3, 4)), 1), jl.collapse(np.ones((2, 3, 4)), 1))
    _close(xl.broadcast_to_rank(X, 4), jl.broadcast_to_rank(X, 4))
    _close(xl.broadcast_like(X[0], X), jl.broadcast_like(X[0], X))
    assert xl.broadcast_shapes((2, 1), (3,)) == jl.broadcast_shapes((2, 1), (3,))
    _close(xl.batch_matmul(np.ones((2, 3, 4)), np.ones((2, 4, 5))),
           jl.batch_matmul(np.ones((2, 3, 4)), np.ones((2, 4, 5))))
    idx = [np.array([0, 2, -1]), np.array([1, 1, 3])]
    _close(xl.index_take(X, idx, (0, 1)), jl.index_take(X, idx, (0, 1)))
    assert xl.dtype(1.0) == jl.dtype(1.0) and xl.dtype(X) == jl.dtype(X)
    with pytest.raises(ValueError, match="split: sizes"):
        xl.split(X, [1, 1], 1)
    with pytest.raises(ValueError, match="tile: reps"):
        xl.tile(X, (2,))


def test_reduce_with_a_monoid_and_with_any_associative_computation():
    _close(xl.reduce(X, 0., xl.add, (1,)), jl.reduce(X, 0., jl.add, (1,)))
    _close(xl.reduce(X, -np.inf, xl.max, (0, 1)), jl.reduce(X, -np.inf, jl.max, (0, 1)))

    def argmax_pair(m):
        def comp(a, b):
            take_b = m.gt(b[0], a[0])
            return m.select(take_b, b[0], a[0]), m.select(take_b, b[1], a[1])
        return comp
    iota = np.broadcast_to(np.arange(4, dtype=np.int32), X.shape)
    _close(xl.reduce((X, iota), (np.float32(-np.inf), np.int32(0)), argmax_pair(xl), (1,)),
           jl.reduce((X, iota), (np.float32(-np.inf), np.int32(0)), argmax_pair(jl), (1,)))
    _close(xform.grad(lambda x: xl.reduce(x, 0., lambda a, b: a + b * 1.0, (0,)).sum())(X),
           np.ones_like(X))


def test_scatter_variants_mulhi_and_markers():
    dn = jl.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0,),
                                    scatter_dims_to_operand_dims=(0,))
    idx = np.array([[0], [2]], np.int32)
    upd = np.ones((2, 4), np.float32)
    _close(xl.scatter_sub(X, idx, upd, dn), jl.scatter_sub(X, idx, upd, dn))
    _close(xl.scatter_apply(X, idx, lambda v: v * 10, dn, update_shape=(2, 4)),
           jl.scatter_apply(X, idx, lambda v: v * 10, dn, update_shape=(2, 4)))
    for dt in (np.uint32, np.int32, np.uint8, np.int16):
        info = np.iinfo(dt)
        r = np.random.default_rng(0)
        x = r.integers(info.min, info.max, 64, endpoint=True).astype(dt)
        y = r.integers(info.min, info.max, 64, endpoint=True).astype(dt)
        _close(xl.mulhi(x, y), jl.mulhi(x, y))
    assert xl.optimization_barrier((X, 1.0))[1] == 1.0
    assert xl.dce_sink(X) is None
    f = xl.composite(lambda x: x * 2, "double")
    _close(f(X), X * 2)


def test_convolution_shape_helpers_and_patches():
    dn = ("NHWC", "HWIO", "NHWC")
    assert xl.conv_general_permutations(dn) == jl.conv_general_permutations(dn)
    for pad in ("SAME", "VALID", [(1, 2), (0, 0)]):
        assert tuple(xl.conv_general_shape_tuple((2, 9, 9, 3), (3, 3, 3, 8), (2, 2), pad, dn)) \
            == tuple(int(v) for v in jl.conv_general_shape_tuple((2, 9, 9, 3), (3, 3, 3, 8),
                                                                   (2, 2), pad, dn))
        assert tuple(xl.conv_transpose_shape_tuple((2, 9, 9, 3), (3, 3, 3, 8), (2, 2), pad,
                                                   dn)) == \
            tuple(int(v) for v in jl.conv_transpose_shape_tuple((2, 9, 9, 3), (3, 3, 3, 8),
                                                                 (2, 2), pad, dn))
    assert xl.reduce_window_shape_tuple((4, 5), (2, 2), (1, 2), [(0, 0), (1, 1)], (2, 1),
                                        (1, 2)) == \
        jl.reduce_window_shape_tuple((4, 5), (2, 2), (1, 2), [(0, 0), (1, 1)], (2, 1), (1, 2))
    x = np.random.default_rng(0).normal(size=(2, 3, 5, 6)).astype(np.float32)
    _close(xl.conv_general_dilated_patches(x, (2, 3), (1, 2), "SAME"),
           jl.conv_general_dilated_patches(x, (2, 3), (1, 2), "SAME"))
    xt = np.transpose(x, (0, 2, 3, 1))
    _close(xl.conv_general_dilated_patches(xt, (2, 3), (1, 2), "VALID", dimension_numbers=dn),
           jl.conv_general_dilated_patches(xt, (2, 3), (1, 2), "VALID", dimension_numbers=dn))


def test_fft_platform_dependent_conj_and_special_names():
    x = np.arange(8.).astype(np.complex64)
    _close(xl.fft(x, xl.FftType.FFT, (8,)), jl.fft(x, jl.FftType.FFT, (8,)))
    _close(xl.fft(x.real.astype(np.float32), "RFFT", (8,)),
           jl.fft(x.real.astype(np.float32), jl.FftType.RFFT, (8,)))
    _close(xl.platform_dependent(2., cpu=lambda v: v * 2, default=lambda v: v),
           jl.platform_dependent(2., cpu=lambda v: v * 2, default=lambda v: v))
    _close(xl.conj(np.float32(2.0)), jl.conj(np.float32(2.0)))
    _close(xform.grad(lambda v: xl.conj(v).real)(1.0), jax.grad(lambda v: jl.conj(v).real)(1.0))
    a = np.array([0.5, 2., 5.], np.float32)
    v = np.array([0.3, 1.5, 7.], np.float32)
    for name in ("igamma", "igammac", "igamma_grad_a", "random_gamma_grad"):
        _close(getattr(xl, name)(a, v), getattr(jl, name)(a, v), 1e-5)
    _close(xl.polygamma(np.float32(2.0), v), jl.polygamma(np.float32(2.0), v), 1e-5)
    _close(xl.zeta(np.float32(3.0), v), jl.zeta(np.float32(3.0), v), 1e-5)
    _close(xl.bessel_i0e(v), jl.bessel_i0e(v))
    _close(xl.betainc(a, a, v / 8), jl.betainc(a, a, v / 8), 1e-5)


def test_lax_linalg_composites_match_jax():
    import jax._src.lax.linalg as jlinalg_internal
    from jax.lax import linalg as JL
    from xform.lax import linalg as XL
    r = np.random.RandomState(0)
    a = r.randn(3, 2).astype(np.float32)
    c = np.eye(3, dtype=np.float32)
    _close(XL.symmetric_product(a, c, alpha=2., beta=3.),
           JL.symmetric_product(a, c, alpha=2., beta=3.))
    m = r.randn(4, 4).astype(np.float32)
    spd = m @ m.T + 4 * np.eye(4, dtype=np.float32)
    upper = np.linalg.cholesky(spd).T.astype(np.float32)
    w = r.randn(4).astype(np.float32)
    _close(XL.cholesky_update(upper, w), JL.cholesky_update(upper, w), 1e-5)
    dl = np.array([0., 1., -0.5, 2.], np.float32)
    d = np.array([4., 3., 5., 6.], np.float32)
    du = np.array([1., 0.5, 1.5, 0.], np.float32)
    b = r.randn(4, 2).astype(np.float32)
    _close(XL.tridiagonal_solve(dl, d, du, b), JL.tridiagonal_solve(dl, d, du, b))
    batch = [np.stack([v, v + 1]) for v in (dl, d, du)] + [np.stack([b, b])]
    _close(XL.tridiagonal_solve(*batch), JL.tridiagonal_solve(*batch))
    _close(xform.grad(lambda d: XL.tridiagonal_solve(dl, d, du, b).sum())(d),
           jax.grad(lambda d: JL.tridiagonal_solve(dl, d, du, b).sum())(d))
    packed, taus = jlinalg_internal.geqrf(r.randn(5, 3).astype(np.float32))
    _close(XL.householder_product(np.asarray(packed), np.asarray(taus)),
           JL.householder_product(packed, taus))
    with pytest.raises(NotImplementedError, match="perturb_singular"):
        XL.tridiagonal_solve(dl, d, du, b, perturb_singular=True)


def test_numpy_ops_take_jax_arrays():
    import jax.numpy as jnp
    import xform.numpy as xnp
    _close(xnp.ones(2, np.float32) - jnp.ones(2, np.float32), np.zeros(2, np.float32))
    _close(xform.jit(lambda u, v: u * v)(xnp.ones(2), jnp.full(2, 3.0)), np.full(2, 3.0, np.float32))


def test_random_gamma_grad_out_of_its_domain_as_jax():
    """The full oracle sweep: JAX computes dx/da with the prefactor x^a e^-x / Gamma(a)
    cancelled (0 at x = 0, finite where the prefactor underflows, NaN out of the domain by a
    select, whose tangent is 0); the ratio of the two partial derivatives was NaN there."""
    pts = [(1.0, 0.0), (2.0, 0.0), (1e-30, 1e30), (1e30, 1e-30), (0.0, 1.0), (-1.0, 1.0),
           (1.0, -1.0), (np.nan, 1.0), (1.0, np.nan), (0.5, 0.3), (2.0, 5.0), (3.0, 0.5)]
    a = np.array([p[0] for p in pts], np.float32)
    x = np.array([p[1] for p in pts], np.float32)
    ta, tx = np.linspace(0.5, 1.5, len(pts), dtype=np.float32), np.full(len(pts), 0.7, np.float32)
    np.testing.assert_allclose(xl.random_gamma_grad(a, x), jl.random_gamma_grad(a, x),
                               rtol=1e-5, atol=0)
    got = xform.jvp(xl.random_gamma_grad, (a, x), (ta, tx))[1]
    want = jax.jvp(jl.random_gamma_grad, (a, x), (ta, tx))[1]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=0)


def test_cumlogsumexp_of_complex_values_and_tangents_as_jax():
    # its combine is JAX's logaddexp with that function's own JVP, complex branch included
    x = np.array([1 + 1j, 2 - 0.5j, -1 + 3j, 0.5 + 0j], np.complex64)
    t = np.array([0.5 + 1j, -1 + 0.2j, 2 + 0j, 1j], np.complex64)
    _close(xform.jit(xl.cumlogsumexp)(x), jl.cumlogsumexp(x))
    _close(xform.jvp(xl.cumlogsumexp, (x,), (t,)), jax.jvp(jl.cumlogsumexp, (x,), (t,)))
