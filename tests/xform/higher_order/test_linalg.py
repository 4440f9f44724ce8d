"""xform.numpy.linalg / xform.lax.linalg and the ``linalg`` meta-operators.

Reconstruction identities, values vs ``jax.numpy.linalg`` (invariant quantities where
eigen/singular vectors are only defined up to phase), gradients vs JAX on
gauge-invariant functions, JVPs vs finite differences, the dot-product test of
triangular_solve's transpose, vmap vs a loop, error messages, and the lowered
custom calls compared with JAX's own lowering for CPU and CUDA (text only: no GPU
is needed for that).
"""
import re

import numpy as np
import pytest

import jax
import jax.numpy as jnp

import xform
import xform.numpy as xnp
from xform.lax import linalg as xla
from primitives import linalg as L

pytestmark = pytest.mark.usefixtures("x64_enabled")  # float64 oracles (tests/conftest.py)

F32, F64, C64, C128 = (np.dtype(d) for d in ("float32", "float64", "complex64", "complex128"))
DTYPES = (F32, F64, C64, C128)
RNG = np.random.default_rng(0)


def rand(shape, dtype=F64, rng=RNG):
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def spd(shape, dtype=F64):
    """A well-conditioned Hermitian positive definite batch."""
    x = rand(shape, dtype)
    n = shape[-1]
    return (x @ H(x) + n * np.eye(n)).astype(dtype)


def H(x):
    return np.conj(np.swapaxes(x, -1, -2))


def tol(dtype):
    return 2e-4 if np.dtype(dtype) in (F32, C64) else 1e-10


def close(got, want, dtype=F64, scale=1.0):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=tol(dtype) * 10,
                               atol=tol(dtype) * scale)


# --- every variant has its rules --------------------------------------------------------------

def test_every_variant_has_rules():
    from lowering import RULES as LOWER
    from xform.transforms import batching, jvp as ad_jvp, transpose as ad_transpose
    for name, p in L.linalg.items():
        assert p in ad_jvp.JVP, name
        assert p in batching.RULES, name
        assert p in LOWER, name
    assert L.triangular_solve in ad_transpose.TRANSPOSE


# --- decompositions: identities and values --------------------------------------------------------

@xform.jit
def _decompositions(a):
    """Every rectangular decomposition of ``a`` in one program (one compile per shape)."""
    return (tuple(xnp.linalg.qr(a)), tuple(xnp.linalg.qr(a, mode="complete")),
            xnp.linalg.qr(a, mode="r"), tuple(xnp.linalg.svd(a, full_matrices=False)),
            tuple(xnp.linalg.svd(a)), xnp.linalg.svdvals(a), tuple(xla.lu(a)))


@xform.jit
def _hermitian_decompositions(h):
    return (tuple(xnp.linalg.eigh(h)), xnp.linalg.eigvalsh(h, UPLO="U"),
            xnp.linalg.cholesky(h), xnp.linalg.cholesky(h, upper=True))


def _is_identity(x, dtype):
    n = x.shape[-1]
    close(x, np.broadcast_to(np.eye(n), x.shape[:-2] + (n, n)), dtype, 10)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_decompositions_reconstruct(dtype):
    import scipy.linalg
    t = tol(dtype)
    for shape in ((2, 5, 3), (2, 3, 5), (4, 4)):
        a = rand(shape, dtype)
        m, n = shape[-2:]
        k = min(m, n)
        reduced, complete, r_only, svd_reduced, svd_full, svdvals, (lu, piv, perm) = \
            jax.tree.map(np.asarray, _decompositions(a))
        for (q, r), cols in ((reduced, k), (complete, m)):
            assert q.dtype == dtype and r.dtype == dtype and q.shape[-1] == cols
            close(q @ r, a, dtype, 10)
            _is_identity(H(q) @ q, dtype)
            assert np.all(np.abs(np.tril(r, -1)) <= t)
        # R is unique up to the signs (phases) of its rows
        close(np.abs(r_only), np.abs(np.linalg.qr(a, mode="r")), dtype, 10)
        for u, s, vh in (svd_reduced, svd_full):
            assert s.dtype == np.abs(a).dtype
            close((u[..., :, :k] * s[..., None, :]) @ vh[..., :k, :], a, dtype, 10)
            _is_identity(H(u) @ u, dtype)
            _is_identity(vh @ H(vh), dtype)
            assert np.all(np.diff(s, axis=-1) <= t)
            close(s, np.linalg.svd(a, compute_uv=False), dtype, 10)
        close(svdvals, np.linalg.svd(a, compute_uv=False), dtype, 10)
        # LAPACK's pivots (scipy calls the same getrf), and P L U = A
        if m == n:
            for ai, pi in zip(a.reshape((-1, m, n)), piv.reshape((-1, k))):
                np.testing.assert_array_equal(pi, scipy.linalg.lu_factor(ai)[1])
        l = np.tril(lu[..., :, :k], -1) + np.eye(m, k)
        close(l @ np.triu(lu[..., :k, :]), np.take_along_axis(a, perm[..., :, None], axis=-2),
              dtype, 10)
    h = spd((3, 4, 4), dtype)
    (w, v), w_upper, c, c_upper = jax.tree.map(np.asarray, _hermitian_decompositions(h))
    close((v * w[..., None, :]) @ H(v), h, dtype, 100)
    close(w, np.linalg.eigvalsh(h), dtype, 100)
    close(w_upper, np.linalg.eigvalsh(h), dtype, 100)
    assert np.all(np.diff(w, axis=-1) >= 0)
    close(c, np.linalg.cholesky(h), dtype, 10)
    close(c @ H(c), h, dtype, 100)
    close(c_upper, H(c), dtype, 10)


def test_symmetrize_input_and_uplo():
    """Without symmetrizing, the ops read one triangle only (as LAPACK), like JAX."""
    h = spd((4, 4))
    junk = h + np.triu(rand((4, 4)), 1)   # garbage above the diagonal
    close(xnp.linalg.cholesky(junk, symmetrize_input=False), np.linalg.cholesky(h))
    close(xnp.linalg.eigh(junk, symmetrize_input=False).eigenvalues, np.linalg.eigvalsh(h))
    close(xnp.linalg.eigh(H(junk), UPLO="U", symmetrize_input=False).eigenvalues,
          np.linalg.eigvalsh(h))


def test_failures_are_nan():
    bad = -spd((2, 3, 3))
    c = np.asarray(xnp.linalg.cholesky(bad))
    rows, cols = np.tril_indices(3)
    assert np.isnan(c[:, rows, cols]).all() and (np.triu(c, 1) == 0).all()
    assert np.isnan(np.asarray(jnp.linalg.cholesky(bad))).any()


# --- composites vs jax.numpy.linalg --------------------------------------------------------------

def _composites(m, a, b_vec, b_mat, tall, rank_one, h, ints, zeros):
    """The composites of numpy.linalg, from module ``m`` (xform.numpy or jax.numpy)."""
    return (m.linalg.inv(a), m.linalg.det(a), tuple(m.linalg.slogdet(a)),
            m.linalg.solve(a, b_vec), m.linalg.solve(a, b_mat), m.linalg.solve(a[0], b_vec),
            m.linalg.matrix_power(a, 0), m.linalg.matrix_power(a, 5),
            m.linalg.matrix_power(a, -2), m.linalg.pinv(tall), m.linalg.matrix_rank(rank_one),
            m.linalg.svd(h, hermitian=True)[1], m.linalg.matrix_transpose(a),
            tuple(m.linalg.lstsq(tall, tall[:, 0] + 1)),
            # integers are promoted to the default float dtype
            m.linalg.inv(ints), m.linalg.det(ints), m.linalg.cholesky(ints),
            m.linalg.eigvalsh(ints), m.linalg.svdvals(ints),
            tuple(m.linalg.slogdet(zeros)))


@pytest.mark.parametrize("dtype", (F32, C128), ids=str)
def test_composites_vs_jax(dtype):
    args = (rand((2, 4, 4), dtype) + 4 * np.eye(4).astype(dtype), rand((4,), dtype),
            rand((3, 1, 4, 2), dtype), rand((5, 3), dtype),
            np.outer(np.arange(4.0), np.ones(3)).astype(dtype), spd((4, 4), dtype),
            np.array([[2, 1], [1, 3]]), np.zeros((3, 3), dtype))
    got = xform.jit(lambda *a: _composites(xnp, *a))(*args)
    want = jax.jit(lambda *a: _composites(jnp, *a))(*args)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        assert np.asarray(g).dtype == np.asarray(w).dtype
        close(g, w, dtype, 100)
    sign, logdet = got[-1]
    assert float(np.abs(sign)) == 0 and np.isneginf(float(logdet))


# --- gradients vs JAX ------------------------------------------------------------------------------

def _gauge_invariant_cases():
    """(name, fn(m, linalg_module, lax_linalg), input): scalar functions whose value does
    not depend on the sign/phase of eigen- or singular vectors."""
    rng = np.random.default_rng(2)
    w4, w3 = rand((4, 4), F64, rng), rand((3, 3), F64, rng)
    tall, wide, sq = rand((4, 3), F64, rng), rand((3, 4), F64, rng), rand((3, 3), F64, rng)
    csq = rand((3, 3), C128, rng)
    sym = spd((3, 3))
    return [
        ("cholesky", lambda m, la: m.sum(m.linalg.cholesky(sym + 0 * la) * w3), sq),
        ("cholesky_arg", lambda m, la: m.sum(m.linalg.cholesky(la @ la.T + 3 * m.eye(3)) * w3),
         sq),
        ("cholesky_c", lambda m, la: m.real(m.sum(m.linalg.cholesky(
            la @ m.conj(la.T) + 3 * m.eye(3)) * w3)), csq),
        ("qr_tall", lambda m, la: m.sum(m.linalg.qr(la)[0] * w4[:, :3]) +
         m.sum(m.linalg.qr(la)[1] ** 2), tall),
        ("qr_wide", lambda m, la: m.sum(m.linalg.qr(la)[0] * w3) +
         m.sum(m.linalg.qr(la)[1] * w4[:3]), wide),
        ("qr_c", lambda m, la: m.sum(m.abs(m.linalg.qr(la)[0] * w3) ** 2) +
         m.sum(m.abs(m.linalg.qr(la)[1])), csq),
        ("eigh", lambda m, la: m.sum(m.linalg.eigh(la)[0] ** 3) +
         m.sum(m.linalg.eigh(la)[1] ** 2 * w3), sq),
        ("eigh_c", lambda m, la: m.sum(m.abs(m.linalg.eigh(la)[1]) ** 2 * w3) +
         m.sum(m.linalg.eigh(la)[0] ** 2), csq),
        ("svdvals", lambda m, la: m.sum(m.linalg.svd(la, compute_uv=False) ** 3), tall),
        ("svd_tall", lambda m, la: _svd_invariant(m, la, w4), tall),
        ("svd_wide", lambda m, la: _svd_invariant(m, la, w3), wide),
        ("svd_c", lambda m, la: m.sum(m.abs(m.linalg.svd(la)[0]) ** 2 * w3) +
         m.sum(m.linalg.svd(la)[1] ** 2), csq),
        ("det", lambda m, la: m.linalg.det(la), sq),
        ("det_c", lambda m, la: m.abs(m.linalg.det(la)), csq),
        ("slogdet", lambda m, la: m.linalg.slogdet(la)[1], sq),
        ("inv", lambda m, la: m.sum(m.linalg.inv(la) * w3), sq),
        ("solve", lambda m, la: m.sum(m.linalg.solve(la, w3[0]) ** 2), sq),
        ("solve_c", lambda m, la: m.sum(m.abs(m.linalg.solve(la, w3)) ** 2), csq),
        ("pinv", lambda m, la: m.sum(m.linalg.pinv(la) * w4[:3]), tall),
        ("matrix_power", lambda m, la: m.sum(m.linalg.matrix_power(la, 3) * w3), sq),
    ]


def _svd_invariant(m, a, w):
    u, s, vh = m.linalg.svd(a, full_matrices=False)
    return m.sum((u * s[None, :] ** 2) @ u.T * w) + m.sum(vh.T @ vh * 2.0)


def test_grad_vs_jax():
    """All cases in one jitted program per library (compiles dominate the runtime)."""
    cases = _gauge_invariant_cases()
    xs = [x for _, _, x in cases]
    got = xform.jit(lambda xs: [xform.grad(lambda a: f(xnp, a))(x)
                                for (_, f, _), x in zip(cases, xs)])(xs)
    want = jax.jit(lambda xs: [jax.grad(lambda a: f(jnp, a))(x)
                               for (_, f, _), x in zip(cases, xs)])(xs)
    for (name, _, _), g, w in zip(cases, got, want):
        assert np.asarray(g).dtype == np.asarray(w).dtype, name
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-8, atol=1e-8,
                                   err_msg=name)


def test_grad_under_jit_and_lax_lu():
    x = rand((4, 3))
    w = rand((4, 3))
    got = xform.jit(xform.grad(lambda a: xnp.sum(xla.lu(a)[0] * w)))(x)
    want = jax.jit(jax.grad(lambda a: jnp.sum(jax.lax.linalg.lu(a)[0] * w)))(x)
    close(got, want)


# --- JVPs vs finite differences (the primitives themselves) ----------------------------------------

def _fd_cases():
    ts = dict(left_side=True, lower=True, transpose_a=True, conjugate_a=False,
              unit_diagonal=False)
    tri = np.tril(rand((2, 3, 3))) + 3 * np.eye(3)
    return [
        ("cholesky", lambda a: xla.cholesky(a, symmetrize_input=False), spd((2, 3, 3))),
        ("triangular_solve_a", lambda a: xla.triangular_solve(a, tri[..., :2] + 1.0, **ts), tri),
        ("triangular_solve_b", lambda b: xla.triangular_solve(tri, b, **ts), rand((2, 3, 2))),
        ("lu", lambda a: xla.lu(a)[0], rand((2, 4, 3))),
        ("qr", lambda a: xla.qr(a, full_matrices=False), rand((2, 4, 3))),
        ("qr_wide", lambda a: xla.qr(a), rand((3, 5))),
        ("eigh", lambda a: _eigh_invariant(a), spd((2, 3, 3))),
        ("svd", lambda a: _svd_fd_invariant(a), rand((2, 4, 3))),
    ]


def _eigh_invariant(a):
    v, w = xla.eigh(a, symmetrize_input=False)
    return w, (v * xnp.exp(w)[..., None, :]) @ xnp.swapaxes(v, -1, -2)


def _svd_fd_invariant(a):
    u, s, vh = xla.svd(a, full_matrices=False)
    return s, u @ xnp.swapaxes(u, -1, -2), xnp.swapaxes(vh, -1, -2) @ (vh * s[..., :, None])



def test_jvp_vs_finite_differences():
    cases = _fd_cases()
    rng = np.random.default_rng(3)
    ts = []
    for name, _, x in cases:
        t = rand(x.shape, F64, rng)
        # a symmetric direction for the ops that read one triangle of a Hermitian matrix
        ts.append(t + np.swapaxes(t, -1, -2) if name in ("cholesky", "eigh") else t)
    eps = 1e-6

    @xform.jit
    def run(xs, ts):
        out = []
        for (_, f, _), x, t in zip(cases, xs, ts):
            _, tangent = xform.jvp(f, (x,), (t,))
            out.append((tangent, f(x + eps * t), f(x - eps * t)))
        return out

    for (name, _, _), (tangent, plus, minus) in zip(cases, run([c[2] for c in cases], ts)):
        for g, p, q in zip(jax.tree.leaves(tangent), jax.tree.leaves(plus),
                           jax.tree.leaves(minus)):
            np.testing.assert_allclose(np.asarray(g), (np.asarray(p) - np.asarray(q)) / (2 * eps),
                                       rtol=1e-5, atol=1e-6, err_msg=name)


# --- triangular_solve: transpose rule (dot-product test), all op variants ----------------------

def test_triangular_solve_transpose():
    """Every op(a) variant: values vs JAX and the dot-product test of the transpose rule
    (the linear transpose, no conjugation: <T(ct), b> == <ct, L(b)>)."""
    a = rand((2, 3, 3), C128) + 4 * np.eye(3)
    variants = [dict(left_side=left, lower=lower, transpose_a=trans, conjugate_a=conj,
                     unit_diagonal=not lower)
                for left in (True, False) for lower in (True, False)
                for trans in (False, True) for conj in (False, True)]
    bs = [rand((2, 3, 2) if kw["left_side"] else (2, 2, 3), C128) for kw in variants]
    cts = [rand(b.shape, C128) for b in bs]

    def run(lib, bs, cts):
        out = []
        for kw, b, ct in zip(variants, bs, cts):
            x, vjp = lib.vjp(lambda q: solve(a, q, **kw), b)
            out.append((x, vjp(ct)[0]))
        return out

    solve = xla.triangular_solve
    got = xform.jit(lambda bs, cts: run(xform, bs, cts))(bs, cts)
    solve = jax.lax.linalg.triangular_solve
    want = jax.jit(lambda bs, cts: run(jax, bs, cts))(bs, cts)
    for kw, b, ct, (x, tb), (jx, jtb) in zip(variants, bs, cts, got, want):
        close(x, jx, C128, 10)
        close(tb, jtb, C128, 10)
        close(np.sum(np.asarray(tb) * b), np.sum(ct * np.asarray(x)), C128, 10)


# --- vmap vs a loop -------------------------------------------------------------------------------

def test_vmap_vs_loop():
    xs = rand((3, 4, 3))
    hs = spd((3, 3, 3))
    tri = np.tril(rand((3, 3))) + 3 * np.eye(3)
    cases = [
        (lambda a: xla.qr(a, full_matrices=False), xs, 0),
        (lambda a: xla.svd(a, full_matrices=False)[1], xs, 0),
        (lambda a: xla.lu(a), np.moveaxis(xs, 0, 2), 2),
        (lambda a: xla.cholesky(a), hs, 0),
        (lambda a: xla.eigh(a)[1], np.moveaxis(hs, 0, 1), 1),
        (lambda b: xla.triangular_solve(tri, b, left_side=True, lower=True), xs[:, :3], 0),
        (lambda a: xla.triangular_solve(a, xs[0, :3], left_side=True, lower=False), hs, 0),
        (lambda a: xnp.linalg.det(a), hs, 0),
    ]

    @xform.jit
    def run(xs):
        return [(xform.vmap(f, in_axes=axis)(x), [f(lax_index(x, i, axis))
                                                   for i in range(x.shape[axis])])
                for (f, _, axis), x in zip(cases, xs)]

    for got, want in run([c[1] for c in cases]):
        for g, *ws in zip(jax.tree.leaves(got), *[jax.tree.leaves(w) for w in want]):
            close(g, np.stack([np.asarray(w) for w in ws]))
    # vmap of grad and grad of vmap agree with JAX
    f = lambda a: jnp.sum(jnp.linalg.eigh(a)[0] ** 2)
    xf = lambda a: xnp.sum(xnp.linalg.eigh(a)[0] ** 2)
    close(xform.jit(xform.vmap(xform.grad(xf)))(hs), jax.jit(jax.vmap(jax.grad(f)))(hs))


def lax_index(x, i, axis):
    return xform.lax.index_in_dim(x, i, axis, keepdims=False)


# --- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, words", [
    (lambda: xnp.linalg.cholesky(np.ones((2, 3))), ("cholesky", "square", "(2, 3)")),
    (lambda: xnp.linalg.eigh(np.ones((3, 2))), ("eigh", "square", "(3, 2)")),
    (lambda: xnp.linalg.inv(np.ones((4, 3))), ("inv", "square", "(4, 3)")),
    (lambda: xnp.linalg.qr(np.ones(3)), ("qr", "2 dimensions", "(3,)")),
    (lambda: xnp.linalg.svd(np.ones(3)), ("svd", "2 dimensions", "(3,)")),
    (lambda: xnp.linalg.solve(np.eye(3), np.ones(4)), ("solve", "(4,)", "(3, 3)")),
    (lambda: xla.cholesky(np.eye(3, dtype=np.int32)), ("cholesky", "int32", "float32")),
    (lambda: xla.svd(np.ones(3, np.float32)), ("svd", "rank", "(3,)")),
    (lambda: xla.triangular_solve(np.eye(3, dtype=np.float32), np.ones((2, 3), np.float32),
                                  left_side=True), ("triangular_solve", "rows", "f32[2,3]")),
    (lambda: xnp.linalg.qr(np.eye(3), mode="raw"), ("qr", "raw", "reduced")),
    (lambda: xnp.linalg.cholesky(np.eye(3, dtype=np.float16)), ("cholesky", "float16")),
    (lambda: xform.grad(lambda a: xnp.sum(xnp.linalg.qr(a, mode="complete")[0]))(
        np.ones((4, 3))), ("qr", "full_matrices", "reduced")),
    (lambda: xform.grad(lambda a: xnp.sum(xnp.linalg.svd(a)[0]))(np.ones((4, 3))),
     ("svd", "full_matrices=False")),
])
def test_bad_input(call, words):
    with pytest.raises((TypeError, ValueError, NotImplementedError)) as e:
        call()
    for w in words:
        assert w in str(e.value), (w, str(e.value))


# --- the lowered custom calls are JAX's --------------------------------------------------------------

_OPS = [
    ("cholesky", lambda a: jax.lax.linalg.cholesky(a, symmetrize_input=False),
     lambda a: xla.cholesky(a, symmetrize_input=False), (2, 3, 3)),
    ("lu", lambda a: jax.lax.linalg.lu(a)[:2], lambda a: xla.lu(a)[:2], (2, 4, 3)),
    ("qr", lambda a: jax.lax.linalg.qr(a, full_matrices=False),
     lambda a: xla.qr(a, full_matrices=False), (2, 4, 3)),
    ("qr_complete", lambda a: jax.lax.linalg.qr(a), lambda a: xla.qr(a), (4, 3)),
    ("qr_wide", lambda a: jax.lax.linalg.qr(a), lambda a: xla.qr(a), (3, 4)),
    ("eigh", lambda a: jax.lax.linalg.eigh(a, symmetrize_input=False),
     lambda a: xla.eigh(a, symmetrize_input=False), (2, 3, 3)),
    ("svd", lambda a: jax.lax.linalg.svd(a, full_matrices=False),
     lambda a: xla.svd(a, full_matrices=False), (2, 4, 3)),
    ("svd_full", lambda a: jax.lax.linalg.svd(a), lambda a: xla.svd(a), (3, 5)),
    ("svdvals", lambda a: jax.lax.linalg.svd(a, compute_uv=False),
     lambda a: xla.svd(a, compute_uv=False), (5, 3)),
    ("svd_big_tall", lambda a: jax.lax.linalg.svd(a, full_matrices=False),
     lambda a: xla.svd(a, full_matrices=False), (1030, 2)),
    ("svd_big_wide", lambda a: jax.lax.linalg.svd(a, full_matrices=False),
     lambda a: xla.svd(a, full_matrices=False), (2, 1030)),
    ("trsm", lambda a: jax.lax.linalg.triangular_solve(a, a, left_side=True, lower=True,
                                                       transpose_a=True, conjugate_a=True),
     lambda a: xla.triangular_solve(a, a, left_side=True, lower=True, transpose_a=True,
                                    conjugate_a=True), (2, 3, 3)),
]


def _custom_calls(text):
    """(target, operand layouts, result layouts, backend config, aliases) of every custom
    call in a module, as printed by MLIR's generic printer (canonical attribute order)."""
    from jax._src.interpreters import mlir
    from jax._src.lib.mlir import ir
    with mlir.make_ir_context():
        module = ir.Module.parse(text)
        asm = module.operation.get_asm(print_generic_op_form=True, enable_debug_info=False)
    found = []
    for line in asm.splitlines():
        if '"stablehlo.custom_call"' not in line and '"stablehlo.triangular_solve"' not in line:
            continue
        keys = ("call_target_name", "operand_layouts", "result_layouts", "mhlo.backend_config",
                "output_operand_aliases", "transpose_a", "left_side", "lower")
        found.append(tuple(m.group(0) if (m := re.search(
            rf"{re.escape(k)} = (\[[^\]]*\]|\{{[^}}]*\}}|\"[^\"]*\"|#[^,}}>]*>?|\w+)", line))
            else None for k in keys) + (line.split(" : ")[-1],))
    return found


# the large-matrix SVD path (cuSOLVER gesvd) exists on GPU only; float32 covers it
_LOWERING_CASES = [(c, d, p) for c in _OPS for d in (F32, C128) for p in ("cpu", "cuda")
                   if not c[0].startswith("svd_big") or (d == F32 and p == "cuda")]


@pytest.mark.parametrize("case, dtype, platform", _LOWERING_CASES,
                         ids=lambda v: v[0] if isinstance(v, tuple) else str(v))
def test_lowering_matches_jax(case, dtype, platform):
    name, jax_fn, our_fn, shape = case
    x = rand(shape, dtype)
    lowered = jax.jit(jax_fn).trace(x).lower(lowering_platforms=(platform,))
    # JAX turns pivots into a permutation inside lu's lowering; ours is a composite
    want = [c for c in _custom_calls(lowered.as_text()) if "pivots_to_permutation" not in (c[0] or "")]
    from lowering import lower_module
    ours = _custom_calls(lower_module(xform.make_jaxpr(our_fn)(x).jaxpr, platform=platform))
    assert ours == want


def test_scipy_linalg_vs_jax():
    import jax.scipy.linalg as jsl
    import xform.scipy.linalg as xsl
    a, b = spd((4, 4)), rand((4, 2))

    def run(sl, a, b):
        out = [sl.lu_factor(a)]
        for lower in (True, False):
            out.append(sl.cho_solve(sl.cho_factor(a, lower=lower), b))
            out += [sl.solve_triangular(a, b[:, 0], trans=t, lower=lower) for t in (0, 1, "C")]
        return out
    got = xform.jit(lambda a, b: run(xsl, a, b))(a, b)
    want = jax.jit(lambda a, b: run(jsl, a, b))(a, b)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        close(g, w)
