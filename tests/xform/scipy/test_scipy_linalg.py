"""xform.scipy.linalg against jax.scipy.linalg (float32; float64 in test_scipy_linalg_x64.py).

Each group of functions runs as one ``xform.jit`` program and one ``jax.jit`` program over
the same inputs, compared leaf by leaf (shape, dtype and value); derivatives of the
differentiable ones (solves, ``det``, ``expm``, ``polar``) are compared as ``grad`` of a
scalar loss.  Pivoted QR, which xform lacks, raises ``NotImplementedError`` naming what is
missing (schur, hessenberg, sqrtm, funm and solve_sylvester: test_linalg_eig.py)."""
import warnings

import jax
import jax.scipy.linalg as jsl
import numpy as np
import pytest

import xform
import xform.scipy.linalg as xsl

F32 = np.float32
RNG = np.random.default_rng(0)
A = RNG.standard_normal((4, 4)).astype(F32)
SPD = (A @ A.T + 4 * np.eye(4)).astype(F32)
B = RNG.standard_normal((4, 2)).astype(F32)
V5 = RNG.standard_normal(5).astype(F32)
V4 = RNG.standard_normal(4).astype(F32)


def check(got, want, what, tol=2e-4):
    got, want = jax.tree.leaves(got), jax.tree.leaves(want)
    assert len(got) == len(want), f"{what}: {len(got)} leaves, want {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"{what}[{i}]: shape {g.shape}, want {w.shape}"
        assert g.dtype == w.dtype, f"{what}[{i}]: dtype {g.dtype}, want {w.dtype}"
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol, err_msg=f"{what}[{i}]")


def both(fn, *args, tol=2e-4):
    """``fn(module, *args)`` jitted with xform (module = xform.scipy.linalg) and with JAX."""
    got = xform.jit(lambda *a: fn(xsl, *a))(*args)
    want = jax.jit(lambda *a: fn(jsl, *a))(*args)
    check(got, want, getattr(fn, "__name__", "fn"), tol)
    return got


def test_solves():
    def solves(m, a, spd, b):
        out = {"chol_u": m.cholesky(spd), "chol_l": m.cholesky(spd, lower=True),
               "lu_factor": m.lu_factor(a), "inv": m.inv(a), "det": m.det(a),
               "solve": m.solve(a, b), "solve_vec": m.solve(a, b[:, 0]),
               "solve_sym": m.solve(spd, b, assume_a="sym"),
               "pos_u": m.solve(spd, b, assume_a="pos"),
               "pos_l_vec": m.solve(spd, b[:, 0], assume_a="pos", lower=True)}
        for lower in (True, False):
            c = m.cho_factor(spd, lower=lower)
            out[f"cho_{lower}"] = (c, m.cho_solve(c, b), m.cho_solve(c, b[:, 0]))
            out[f"tri_{lower}"] = [m.solve_triangular(spd, b, trans=t, lower=lower,
                                                      unit_diagonal=t == 1)
                                   for t in (0, 1, 2, "N", "T", "C")]
        for trans in (0, 1, 2):
            out[f"lu_solve_{trans}"] = (m.lu_solve(m.lu_factor(a), b, trans=trans),
                                        m.lu_solve(m.lu_factor(a), b[:, 0], trans=trans))
        out["lu"] = (m.lu(a), m.lu(a[:, :3]), m.lu(a[:3]), m.lu(a[:3], permute_l=True))
        return out
    both(solves, A, SPD, B)


@pytest.mark.filterwarnings("ignore:jax.scipy.linalg.cho_solve:FutureWarning")  # JAX inside
def test_batched_solves():
    ab, sb = np.stack([A, A.T]), np.stack([SPD, 2 * SPD])
    bb = RNG.standard_normal((3, 2, 4, 2)).astype(F32)

    def batched(m, a, spd, b):
        c = m.cho_factor(spd)
        return (m.solve_triangular(spd, b, lower=True), m.cho_solve(c, b),
                m.lu_solve(m.lu_factor(a), b), m.solve(spd, b[0], assume_a="pos"),
                m.solve(a, b), m.cho_solve(c, b[0, :, :, 0][..., None]))
    both(batched, ab, sb, bb)


def test_batched_vector_rhs_warns():
    ab = np.stack([SPD, 2 * SPD])
    with pytest.warns(FutureWarning, match="solve_triangular"):
        got = xsl.solve_triangular(ab, B.T, lower=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        check(got, jsl.solve_triangular(ab, B.T, lower=True), "batched vectors")


def test_decompositions():
    c_left, c_right = (RNG.standard_normal(s).astype(F32) for s in ((3, 2), (2, 4)))

    def decompositions(m, a, spd, cl, cr):
        out = {"svd": m.svd(a), "svd_econ": m.svd(a[:, :3], full_matrices=False),
               "svd_s": m.svd(a, compute_uv=False), "eigh": m.eigh(spd),
               "eigh_u": m.eigh(a, lower=False, eigvals_only=True)}
        for mode in ("full", "economic", "r"):
            out["qr_" + mode] = (m.qr(a[:, :3], mode=mode), m.qr(a[:3], mode=mode))
        for conj in (False, True):
            out[f"qrm_{conj}"] = (
                m.qr_multiply(a[:, :3], cl, mode="left", conjugate=conj),
                m.qr_multiply(a[:, :3], cr, conjugate=conj),
                m.qr_multiply(a[:3], cl[:, 0], mode="left", conjugate=conj),
                m.qr_multiply(a[:3, :], cr[0, :3], conjugate=conj))
        out["polar"] = (m.polar(a[:, :3]), m.polar(a, method="svd"),
                        m.polar(a[:3], method="svd"), m.polar(a, side="left", method="svd"))
        return out
    both(decompositions, A, SPD, c_left, c_right, tol=5e-4)


def test_rsf2csf_matches_jax_and_is_a_schur_form():
    import scipy.linalg as sl
    t, z = (x.astype(F32) for x in sl.schur(RNG.standard_normal((5, 5))))
    tc, zc = (np.asarray(x) for x in both(lambda m, t, z: m.rsf2csf(t, z), t, z))
    np.testing.assert_allclose(np.tril(tc, -1), 0, atol=1e-6)
    np.testing.assert_allclose(zc @ tc @ zc.conj().T, z @ t @ z.T, atol=1e-4)


def test_expm_and_expm_frechet():
    # the 1-norms pick each float32 Pade degree (3, 5, 7) and 0 to several squarings;
    # vmap (a batch) runs every branch of the switch and of the squaring conds
    a = A * np.array([0.01, 0.3, 1.0, 3.0, 40.0], F32)[:, None, None]
    got = both(lambda m, a, t, big, e: (m.expm(a), m.expm(t, upper_triangular=True),
                                        m.expm_frechet(a[2], e),
                                        m.expm_frechet(a[1], e, compute_expm=False),
                                        m.expm(big, max_squarings=2)),
               a, np.triu(a), A * 100, SPD)
    assert np.isnan(np.asarray(got[-1])).all()   # too many squarings needed: NaN, as JAX


def test_grads():
    def loss(m, a, spd, b):
        c = m.cho_factor(spd, lower=True)
        return (m.solve(a, b).sum() + m.solve(spd, b, assume_a="pos").sum()
                + (m.cho_solve(c, b) ** 2).sum() + m.lu_solve(m.lu_factor(a), b).sum()
                + m.lu_solve(m.lu_factor(a), b, trans=1).sum() + m.det(a)
                + m.solve_triangular(spd, b, lower=True).sum()
                + (m.expm(0.5 * a) ** 2).sum() + m.inv(a).sum())
    # the positive-definite argument enters symmetrised: xform's Cholesky derivative reads
    # the lower triangle of the tangent (what the factorisation reads), JAX's all of it, so
    # they agree on symmetric directions only
    def sym_loss(m, a, x, b):
        return loss(m, a, (x + x.T) / 2, b)
    got = xform.jit(xform.grad(lambda *x: sym_loss(xsl, *x), argnums=(0, 1, 2)))(A, SPD, B)
    want = jax.jit(jax.grad(lambda *x: sym_loss(jsl, *x), argnums=(0, 1, 2)))(A, SPD, B)
    check(got, want, "grad", tol=2e-3)


def test_grad_through_polar():
    # JAX cannot reverse-differentiate its QDWH (an unbounded while_loop); xform bounds the
    # loop by max_iterations, so grad works and agrees with the SVD route's (JAX's)
    def loss(m, a, method):
        u, p = m.polar(a, method=method)
        return (u * a).sum() + (p ** 2).sum()
    got = xform.jit(xform.grad(lambda a: loss(xsl, a, "qdwh")))(A)
    want = jax.jit(jax.grad(lambda a: loss(jsl, a, "svd")))(A)
    check(got, want, "grad polar", tol=2e-3)


def test_eigh_tridiagonal():
    def tri(m, d, e):
        return (m.eigh_tridiagonal(d, e),
                m.eigh_tridiagonal(d, e, eigvals_only=True, select="i", select_range=(1, 3)),
                m.eigh_tridiagonal(d[:1], e[:0]))
    w, v = both(tri, V5, V4)[0]
    t = np.diag(V5) + np.diag(V4, 1) + np.diag(V4, -1)
    np.testing.assert_allclose(t @ np.asarray(v), np.asarray(v) * np.asarray(w), atol=1e-5)


def test_special_matrices():
    def matrices(m, a, b, d, e):
        out = {"block_diag": (m.block_diag(a, b, 3.0, b[0]), m.block_diag()),
               "toeplitz": (m.toeplitz(d, e), m.toeplitz(d), m.toeplitz(a)),
               "hankel": (m.hankel(d, e), m.hankel(d), m.hankel(a, e)),
               "circulant": m.circulant(a), "leslie": m.leslie(d, e),
               "companion": m.companion(a), "fiedler": m.fiedler(d),
               "fiedler_companion": [m.fiedler_companion(d[:n]) for n in (1, 2, 5)],
               "hilbert": m.hilbert(5), "invhilbert": m.invhilbert(4),
               "helmert": (m.helmert(5), m.helmert(5, full=True)),
               "hadamard": (m.hadamard(8), m.hadamard(4, dtype=np.float32)),
               "dft": [m.dft(5, s) for s in (None, "sqrtn", "n")]}
        for kind in (None, "lower", "upper"):
            out[f"pascal_{kind}"] = (m.pascal(6, kind), m.invpascal(6, kind))
        for mode in ("full", "valid", "same"):
            out["conv_" + mode] = [m.convolution_matrix(d, n, mode) for n in (2, 7)]
        return out
    both(matrices, A, B, V5, V4, tol=1e-3)


@pytest.mark.parametrize("call, match", [
    (lambda: xsl.qr(A, pivoting=True), r"qr: needs a column-pivoted QR"),
])
def test_missing_decompositions_say_so(call, match):
    with pytest.raises(NotImplementedError, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda: xsl.solve(A, B[:3]), r"scipy\.linalg\.solve: b must have shape.*\(4, 4\), got \(3, 2\)"),
    (lambda: xsl.solve(A, B[:3], assume_a="pos"), r"solve: with assume_a='pos'.*got \(3, 2\)"),
    (lambda: xsl.solve(A, B, assume_a="diag"), r"assume_a must be one of"),
    (lambda: xsl.solve(A[:3], B, assume_a="pos"), r"solve: a must be a square.*\(3, 4\)"),
    (lambda: xsl.cho_solve((SPD, True), B[:3]), r"cho_solve: b of shape \(3, 2\)"),
    (lambda: xsl.solve_triangular(A, B, trans=3), r"solve_triangular: trans must be"),
    (lambda: xsl.lu_solve(xsl.lu_factor(A), B, trans="T"), r"lu_solve: trans must be"),
    (lambda: xsl.cholesky(A[:3]), r"cholesky: a must be a square matrix.*\(3, 4\)"),
    (lambda: xsl.expm(A[:3]), r"expm: A must be a square matrix.*\(3, 4\)"),
    (lambda: xsl.expm_frechet(A, A[:3, :3]), r"A and E must have the same shape"),
    (lambda: xsl.qr(A, mode="raw"), r"qr: unsupported mode 'raw'"),
    (lambda: xsl.polar(A, side="up"), r"polar: side must be"),
    (lambda: xsl.polar(A, side="left"), r"polar: method='qdwh' supports"),
    (lambda: xsl.block_diag(np.zeros((2, 2, 2))), r"block_diag: .* at argument 0"),
    (lambda: xsl.leslie(V5, V5), r"leslie: s must be one shorter"),
    (lambda: xsl.eigh_tridiagonal(V5, V4.astype(np.complex64)), r"same dtype"),
    (lambda: xsl.eigh_tridiagonal(V5, V4, select="v"), r"select='v' is not implemented"),
])
def test_errors_name_function_argument_and_shapes(call, match):
    with pytest.raises((ValueError, TypeError, NotImplementedError), match=match) as info:
        call()
    assert "test_scipy_linalg.py" in str(info.value), "the message names the user's line"


def test_old_names_still_work_under_jit_with_vmap():
    f = xform.jit(xform.vmap(lambda b: xsl.cho_solve(xsl.cho_factor(SPD), b), in_axes=1,
                             out_axes=1))
    np.testing.assert_allclose(np.asarray(f(B)), np.linalg.solve(SPD, B), rtol=1e-4)
