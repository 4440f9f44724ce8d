"""The non-symmetric ``linalg`` variants: ``eig`` (LAPACK geev), ``schur`` (gees),
``hessenberg`` (gehrd) and ``tridiagonal`` (sytrd/hetrd), and what is built on them
(``numpy.linalg.eig``/``eigvals``, ``numpy.roots``/``poly``, ``scipy.linalg.schur``,
``hessenberg``, ``sqrtm``, ``funm``, ``solve_sylvester``, ``rsf2csf``).

xform and JAX call the same LAPACK routines on the same inputs, so the raw
decompositions must agree bit for bit; the identities (``a v = v w``, ``a = z t z^H``,
...) are checked too, eigenvalues against NumPy as sorted sets.  Derivatives: ``eig``'s
JVP against JAX's and against finite differences; the others have none (as in JAX) and
must say so.  Then vmap vs a loop, jit, and the lowered custom calls vs JAX's.
"""
import re

import numpy as np
import pytest

import jax
import jax.numpy as jnp

import xform
import xform.numpy as xnp
from xform.lax import linalg as xla

pytestmark = pytest.mark.usefixtures("x64_enabled")  # float64 oracles (tests/conftest.py)

F32, F64, C64, C128 = (np.dtype(d) for d in ("float32", "float64", "complex64", "complex128"))
DTYPES = (F32, F64, C64, C128)


def rand(shape, dtype=F64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def H(x):
    return np.conj(np.swapaxes(x, -1, -2))


def tol(dtype):
    return 1e-4 if np.dtype(dtype) in (F32, C64) else 1e-11


def close(got, want, dtype=F64, scale=1.0):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=tol(dtype) * 10 * scale,
                               atol=tol(dtype) * scale)


def same(got, want):
    """Bit for bit (NaNs in the same places)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, want.dtype)
    np.testing.assert_array_equal(got, want)


def sorted_eigs(w):
    w = np.asarray(w)
    return np.sort_complex(np.round(w, 6))


# --- values: bit for bit with JAX, and the identities ------------------------------------------

_EIG_MODES = [dict(compute_left_eigenvectors=left, compute_right_eigenvectors=right)
              for left in (True, False) for right in (True, False)]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_eig_vs_jax(dtype):
    a = rand((2, 4, 4), dtype)
    for kw in _EIG_MODES:
        got = xla.eig(a, **kw)
        want = jax.lax.linalg.eig(a, **kw)
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            same(g, w)
    w, vl, vr = (np.asarray(v) for v in xla.eig(a))
    assert w.dtype == np.result_type(dtype, np.complex64)
    close(a @ vr, vr * w[..., None, :], dtype, 10)             # a vr = vr diag(w)
    close(H(vl) @ a, w[..., :, None] * H(vl), dtype, 10)       # vl^H a = diag(w) vl^H
    close(np.linalg.norm(vr, axis=-2), np.ones(w.shape), dtype)
    for wi, ai in zip(w, a):
        np.testing.assert_allclose(sorted_eigs(wi), sorted_eigs(np.linalg.eigvals(ai)),
                                   atol=1e-3 if dtype in (F32, C64) else 1e-9)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_numpy_eig_eigvals_vs_jax(dtype):
    a = rand((3, 3), dtype, seed=1)
    got, want = xnp.linalg.eig(a), jnp.linalg.eig(a)
    assert type(got).__name__ == "EigResult" and got._fields == ("eigenvalues", "eigenvectors")
    same(got.eigenvalues, want.eigenvalues)
    same(got.eigenvectors, want.eigenvectors)
    same(xnp.linalg.eigvals(a), jnp.linalg.eigvals(a))
    # integers promote to the default float, as in JAX
    i = np.array([[2, 1], [1, 3]], np.int32)
    same(xnp.linalg.eigvals(i), jnp.linalg.eigvals(i))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_schur_hessenberg_tridiagonal_vs_jax(dtype):
    a = rand((2, 5, 5), dtype, seed=2)
    for vectors in (True, False):
        got = xla.schur(a, compute_schur_vectors=vectors)
        want = jax.lax.linalg.schur(a, compute_schur_vectors=vectors)
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            same(g, w)
    t, z = (np.asarray(v) for v in xla.schur(a))
    close(z @ t @ H(z), a, dtype, 10)
    close(H(z) @ z, np.broadcast_to(np.eye(5), z.shape), dtype, 10)
    below = -2 if dtype in (F32, F64) else -1    # real: 2x2 blocks on the diagonal
    assert np.all(np.tril(t, below) == 0)
    for g, w in zip(xla.hessenberg(a), jax.lax.linalg.hessenberg(a)):
        same(g, w)
    h_packed, taus = xla.hessenberg(a)
    assert taus.shape == (2, 4) and taus.dtype == dtype
    for lower in (True, False):
        got = xla.tridiagonal(a, lower=lower)
        want = jax.lax.linalg.tridiagonal(a, lower=lower)
        for g, w in zip(got, want):
            same(g, w)
    _, d, e, taus = xla.tridiagonal(a)
    real = np.abs(np.zeros((), dtype)).dtype
    assert d.dtype == real and e.dtype == real and taus.dtype == dtype
    assert d.shape == (2, 5) and e.shape == (2, 4) and taus.shape == (2, 4)
    # the tridiagonal matrix has the eigenvalues of the Hermitian matrix of a's lower triangle
    herm = np.tril(a) + H(np.tril(a, -1))
    herm[..., np.arange(5), np.arange(5)] = np.real(herm[..., np.arange(5), np.arange(5)])
    d, e = np.asarray(d), np.asarray(e)
    for k in range(2):
        tk = np.diag(d[k]) + np.diag(e[k], -1) + np.diag(e[k], 1)
        close(np.linalg.eigvalsh(tk), np.linalg.eigvalsh(herm[k]), dtype, 100)


def test_edge_shapes():
    for n in (0, 1):
        a = np.ones((n, n), np.float32)
        for g, w in zip(xla.eig(a), jax.lax.linalg.eig(a)):
            same(g, w)
        for g, w in zip(xla.schur(a), jax.lax.linalg.schur(a)):
            same(g, w)
    for g, w in zip(xla.hessenberg(np.ones((1, 1), np.float32)),
                    jax.lax.linalg.hessenberg(np.ones((1, 1), np.float32))):
        same(g, w)
    with pytest.raises(ValueError, match="tridiagonal"):
        xla.tridiagonal(np.ones((0, 0), np.float32))


def test_nan_input_gives_nan():
    a = rand((2, 3, 3), F64, seed=4)
    a[1, 0, 0] = np.nan
    got, want = xla.eig(a), jax.lax.linalg.eig(a)
    for g, w in zip(got, want):
        assert np.array_equal(np.isnan(np.asarray(g)), np.isnan(np.asarray(w)))
    assert np.all(np.isfinite(np.asarray(got[0][0])))


# --- roots and poly ------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [[1., -3, 2], [0, 0, 1, 2, 3.], [0., 0, 0], [2.], [1, 0, 0, 1.],
                               [0, 1, 0, 0.], [3, -1, 0.5, 2, -4.], [1.5 + 1j, 2, 1j]],
                         ids=str)
@pytest.mark.parametrize("dtype", ("float32", "float64", "int32"))
def test_roots_vs_jax(p, dtype):
    p = np.asarray(p)
    if p.dtype.kind == "c" and dtype != "float64":
        p = p.real
    p = p.astype(dtype) if p.dtype.kind != "c" else p
    same(xnp.roots(p), jnp.roots(p))
    same(xnp.roots(p, strip_zeros=False), jnp.roots(p, strip_zeros=False))
    got = xform.jit(lambda q: xnp.roots(q, strip_zeros=False))(p)
    same(got, jax.jit(lambda q: jnp.roots(q, strip_zeros=False))(p))


def test_roots_needs_concrete_under_jit():
    with pytest.raises(TypeError, match="strip_zeros=False"):
        xform.jit(xnp.roots)(np.ones(3))
    with pytest.raises(ValueError, match="rank-1"):
        xnp.roots(np.ones((2, 2)))


def test_poly_of_a_matrix():
    m = rand((3, 3), F32, seed=5)
    close(xnp.poly(m), jnp.poly(m), F32, 10)
    close(xnp.poly(m.astype(F64)), np.poly(m.astype(F64)), F64, 10)
    same(xnp.poly(np.zeros(0, np.float32)), jnp.poly(np.zeros(0, np.float32)))


# --- derivatives ---------------------------------------------------------------------------------

def _jvp_modes():
    return [dict(compute_left_eigenvectors=False, compute_right_eigenvectors=False),
            dict(enable_eigvec_derivs=True),
            dict(compute_left_eigenvectors=False, enable_eigvec_derivs=True),
            dict(compute_right_eigenvectors=False, enable_eigvec_derivs=True)]


@pytest.mark.parametrize("dtype", (F32, F64, C128), ids=str)
def test_eig_jvp_vs_jax(dtype):
    a, t = rand((2, 4, 4), dtype, seed=6), rand((2, 4, 4), dtype, seed=7)
    for kw in _jvp_modes():
        got = xform.jvp(lambda x: tuple(xla.eig(x, **kw)), (a,), (t,))
        want = jax.jvp(lambda x: tuple(jax.lax.linalg.eig(x, **kw)), (a,), (t,))
        for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            close(g, w, dtype, 100)


@pytest.mark.parametrize("dtype", (F64, C128), ids=str)
def test_eig_jvp_vs_finite_differences(dtype):
    """Eigenvalues, and eigenvectors under geev's normalisation (continuous in the input
    while the eigenvalues stay distinct and the largest components untied)."""
    a, t = rand((4, 4), dtype, seed=8), rand((4, 4), dtype, seed=9)
    eps = 1e-6
    for kw in _jvp_modes():
        def f(x):
            return tuple(xla.eig(x, **kw))
        _, tangent = xform.jvp(f, (a,), (t,))
        plus, minus = f(a + eps * t), f(a - eps * t)
        for g, p, m in zip(tangent, plus, minus):
            np.testing.assert_allclose(np.asarray(g), (np.asarray(p) - np.asarray(m)) / (2 * eps),
                                       rtol=1e-5, atol=1e-6, err_msg=str(kw))


def test_eig_grad_and_jit_vs_jax():
    a = rand((2, 4, 4), F64, seed=10)

    def loss(lib, la, x):
        w = la.eig(x, compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0]
        w2, v = la.eig(x, compute_left_eigenvectors=False, enable_eigvec_derivs=True)
        return lib.sum(lib.abs(w) ** 2) + lib.sum(lib.real(w2 * lib.sum(v * lib.conj(v))))
    got = xform.jit(xform.grad(lambda x: loss(xnp, xla, x)))(a)
    want = jax.jit(jax.grad(lambda x: loss(jnp, jax.lax.linalg, x)))(a)
    close(got, want, F64, 100)
    # numpy.linalg.eigvals is differentiable; eig's eigenvectors are not (as in JAX)
    got = xform.grad(lambda x: xnp.sum(xnp.real(xnp.linalg.eigvals(x))))(a[0])
    close(got, jax.grad(lambda x: jnp.sum(jnp.real(jnp.linalg.eigvals(x))))(a[0]))
    # second order: the JVP rule's eig computes eigenvectors, whose derivative needs
    # enable_eigvec_derivs (JAX raises too) ...
    with pytest.raises(NotImplementedError, match="enable_eigvec_derivs"):
        xform.hessian(lambda x: xnp.sum(xnp.abs(xnp.linalg.eigvals(x)) ** 2))(a[0])
    with pytest.raises(NotImplementedError):
        jax.hessian(lambda x: jnp.sum(jnp.abs(jnp.linalg.eigvals(x)) ** 2))(a[0])

    # ... which, given, makes it twice differentiable (through the LU solve of the rule)
    def sq(lib, la, x):
        w, _ = la.eig(x, compute_left_eigenvectors=False, enable_eigvec_derivs=True)
        return lib.sum(lib.real(w * w))
    close(xform.hessian(lambda x: sq(xnp, xla, x))(a[0]),
          jax.hessian(lambda x: sq(jnp, jax.lax.linalg, x))(a[0]), F64, 1000)


@pytest.mark.parametrize("call, words", [
    (lambda a: xnp.sum(xnp.real(xnp.linalg.eig(a)[1])), ("enable_eigvec_derivs",)),
    (lambda a: xnp.sum(xla.schur(a)[0]), ("schur", "not implemented")),
    (lambda a: xnp.sum(xla.hessenberg(a)[0]), ("hessenberg", "not implemented")),
    (lambda a: xnp.sum(xla.tridiagonal(a)[1]), ("tridiagonal", "not implemented")),
])
def test_no_derivative_raises(call, words):
    a = rand((3, 3), F64, seed=11)
    with pytest.raises(NotImplementedError) as e:
        xform.grad(call)(a)
    for w in words:
        assert w in str(e.value)
    # as JAX: it raises NotImplementedError too
    jcall = {"schur": lambda a: jnp.sum(jax.lax.linalg.schur(a)[0]),
             "hessenberg": lambda a: jnp.sum(jax.lax.linalg.hessenberg(a)[0]),
             "tridiagonal": lambda a: jnp.sum(jax.lax.linalg.tridiagonal(a)[1]),
             "enable_eigvec_derivs": lambda a: jnp.sum(jnp.real(jnp.linalg.eig(a)[1]))}[words[0]]
    with pytest.raises(NotImplementedError):
        jax.grad(jcall)(a)


# --- vmap and jit --------------------------------------------------------------------------------

def test_vmap_vs_loop_and_jit():
    xs = rand((3, 4, 4), F64, seed=12)
    cases = [
        (lambda a: xla.eig(a), xs, 0),
        (lambda a: xla.eig(a, compute_left_eigenvectors=False), np.moveaxis(xs, 0, 2), 2),
        (lambda a: xnp.linalg.eigvals(a), np.moveaxis(xs, 0, 1), 1),
        (lambda a: xla.schur(a), xs, 0),
        (lambda a: xla.hessenberg(a), np.moveaxis(xs, 0, 2), 2),
        (lambda a: xla.tridiagonal(a, lower=False), xs, 0),
    ]
    for f, x, axis in cases:
        got = xform.jit(xform.vmap(f, in_axes=axis))(x)
        want = [f(np.take(x, i, axis)) for i in range(x.shape[axis])]
        for g, *ws in zip(jax.tree.leaves(got), *[jax.tree.leaves(w) for w in want]):
            same(g, np.stack([np.asarray(w) for w in ws]))
    # a batched JVP: vmap of jvp vs JAX
    ts = rand(xs.shape, F64, seed=13)
    f = lambda a, t: xform.jvp(lambda x: xnp.linalg.eigvals(x), (a,), (t,))[1]
    jf = lambda a, t: jax.jvp(lambda x: jnp.linalg.eigvals(x), (a,), (t,))[1]
    close(xform.vmap(f)(xs, ts), jax.vmap(jf)(xs, ts), F64, 100)


# --- the lowered custom calls are JAX's -----------------------------------------------------------

_OPS = [
    ("eig", lambda a: jax.lax.linalg.eig(a), lambda a: xla.eig(a)),
    ("eig_right", lambda a: jax.lax.linalg.eig(a, compute_left_eigenvectors=False),
     lambda a: xla.eig(a, compute_left_eigenvectors=False)),
    ("eigvals", lambda a: jax.lax.linalg.eig(a, compute_left_eigenvectors=False,
                                             compute_right_eigenvectors=False),
     lambda a: xla.eig(a, compute_left_eigenvectors=False, compute_right_eigenvectors=False)),
    ("schur", lambda a: jax.lax.linalg.schur(a), lambda a: xla.schur(a)),
    ("schur_t", lambda a: jax.lax.linalg.schur(a, compute_schur_vectors=False),
     lambda a: xla.schur(a, compute_schur_vectors=False)),
    ("hessenberg", lambda a: jax.lax.linalg.hessenberg(a), lambda a: xla.hessenberg(a)),
    ("tridiagonal", lambda a: jax.lax.linalg.tridiagonal(a), lambda a: xla.tridiagonal(a)),
    ("tridiagonal_upper", lambda a: jax.lax.linalg.tridiagonal(a, lower=False),
     lambda a: xla.tridiagonal(a, lower=False)),
]
_CPU_ONLY = ("eig", "schur", "hessenberg")


def _cases():
    for name, jf, xf in _OPS:
        for dtype in (F32, C128):
            for platform in ("cpu", "cuda"):
                if platform == "cpu" or not name.startswith(_CPU_ONLY):
                    yield pytest.param(jf, xf, dtype, platform, id=f"{name}-{dtype}-{platform}")


def _custom_calls(text):
    """(target, layouts, backend config, aliases, types) of every custom call, from MLIR's
    generic printer (canonical attribute order), as tests/xform/higher_order/test_linalg.py."""
    from jax._src.interpreters import mlir
    from jax._src.lib.mlir import ir
    with mlir.make_ir_context():
        asm = ir.Module.parse(text).operation.get_asm(print_generic_op_form=True,
                                                      enable_debug_info=False)
    keys = ("call_target_name", "operand_layouts", "result_layouts", "mhlo.backend_config",
            "output_operand_aliases")
    found = []
    for line in asm.splitlines():
        if '"stablehlo.custom_call"' in line:
            found.append(tuple(m.group(0) if (m := re.search(
                rf"{re.escape(k)} = (\[[^\]]*\]|\{{[^}}]*\}}|\"[^\"]*\"|#[^,}}>]*>?|\w+)",
                line)) else None for k in keys) + (line.split(" : ")[-1],))
    return found


@pytest.mark.parametrize("jax_fn, our_fn, dtype, platform", list(_cases()))
def test_lowering_matches_jax(jax_fn, our_fn, dtype, platform):
    from lowering import lower_module
    x = rand((2, 3, 3), dtype)
    lowered = jax.jit(jax_fn).trace(x).lower(lowering_platforms=(platform,))
    want = _custom_calls(lowered.as_text())
    ours = _custom_calls(lower_module(xform.make_jaxpr(our_fn)(x).jaxpr, platform=platform))
    assert want and ours == want


@pytest.mark.parametrize("name", _CPU_ONLY)
def test_gpu_lowering_raises(name):
    from lowering import lower_module
    fn = dict((n, f) for n, _, f in _OPS)[name]
    jaxpr = xform.make_jaxpr(fn)(rand((3, 3), F32)).jaxpr
    with pytest.raises(NotImplementedError, match=rf"linalg\.{name}.*'cuda'.*CPU only"):
        lower_module(jaxpr, platform="cuda")


# --- scipy.linalg ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", (F32, F64, C128), ids=str)
def test_scipy_linalg_vs_jax(dtype):
    import jax.scipy.linalg as jsl
    import xform.scipy.linalg as xsl
    a, b, c = rand((4, 4), dtype, seed=14), rand((3, 3), dtype, seed=15), rand((4, 3), dtype, 16)
    for output in ("real", "complex"):
        for g, w in zip(xsl.schur(a, output), jsl.schur(a, output)):
            same(g, w)
    same(xsl.hessenberg(a), jsl.hessenberg(a))
    h, q = xsl.hessenberg(a, calc_q=True)
    close(h, jsl.hessenberg(a, calc_q=True)[0], dtype)
    close(q, jsl.hessenberg(a, calc_q=True)[1], dtype, 10)   # our householder_product rounds
    close(np.asarray(q) @ np.asarray(h) @ H(np.asarray(q)), a, dtype, 10)
    spd = a @ H(a) + np.eye(4, dtype=dtype)
    for m in (a, spd):
        s = xsl.sqrtm(m)
        close(s, jsl.sqrtm(m), dtype, 10)
        close(np.asarray(s) @ np.asarray(s), m, dtype, 100)
    close(xsl.funm(a, xnp.exp), jsl.funm(a, jnp.exp), dtype, 10)
    f, err = xsl.funm(a, xnp.sin, disp=False)
    jf, jerr = jsl.funm(a, jnp.sin, disp=False)
    close(f, jf, dtype, 10)
    close(err, jerr, dtype, 10)
    for method in ("schur", "eigen"):
        x = xsl.solve_sylvester(a, b, c, method=method)
        close(x, jsl.solve_sylvester(a, b, c, method=method), dtype, 100)
        close(np.asarray(a) @ np.asarray(x) + np.asarray(x) @ b, c, dtype, 100)
    t, z = jsl.schur(a)
    for g, w in zip(xsl.rsf2csf(t, z), jsl.rsf2csf(t, z)):
        close(g, w, dtype)
    # batched hessenberg and schur
    ab = rand((2, 4, 4), dtype, seed=17)
    same(xsl.hessenberg(ab), jsl.hessenberg(ab))
    for g, w in zip(xsl.schur(ab), jsl.schur(ab)):
        same(g, w)


# --- qdwh and ormqr (composites) -----------------------------------------------------------------

@pytest.mark.parametrize("dtype", (F32, F64, C64), ids=str)
def test_qdwh_vs_jax(dtype):
    x = rand((6, 4), dtype, seed=18)
    for kw in ({}, {"max_iterations": 2}, {"eps": 1e-3}):
        u, h, k, ok = xla.qdwh(x, **kw)
        ju, jh, jk, jok = jax.lax.linalg.qdwh(x, **kw)
        close(u, ju, dtype, 10)
        close(h, jh, dtype, 10)
        assert int(k) == int(jk) and bool(ok) == bool(jok), (kw, k, jk, ok, jok)
        assert np.asarray(k).dtype == np.asarray(jk).dtype
    u, h, _, _ = (np.asarray(v) for v in xla.qdwh(x))
    close(u @ h, x, dtype, 10)
    close(H(u) @ u, np.eye(4), dtype, 10)
    with pytest.raises(ValueError, match="M >= N"):
        xla.qdwh(x.T)
    # batched by vmap, as JAX
    xs = rand((3, 5, 3), dtype, seed=19)
    got = xform.vmap(lambda a: xla.qdwh(a)[:2])(xs)
    want = jax.vmap(lambda a: jax.lax.linalg.qdwh(a)[:2])(xs)
    for g, w in zip(got, want):
        close(g, w, dtype, 10)


@pytest.mark.parametrize("dtype", (F32, F64, C128), ids=str)
def test_ormqr_vs_jax(dtype):
    x = rand((2, 5, 3), dtype, seed=20)
    h, taus = jnp.linalg.qr(x, mode="raw")
    a, taus = np.swapaxes(np.asarray(h), -1, -2), np.asarray(taus)
    q = np.asarray(jnp.linalg.qr(x, mode="complete")[0])
    for left in (True, False):
        for transpose in (True, False):
            c = rand((2, 5, 4) if left else (2, 4, 5), dtype, seed=21)
            got = xla.ormqr(a, taus, c, left=left, transpose=transpose)
            close(got, jax.lax.linalg.ormqr(a, taus, c, left=left, transpose=transpose),
                  dtype, 10)
            qq = H(q) if transpose else q
            close(got, qq @ c if left else c @ qq, dtype, 10)
    with pytest.raises(ValueError, match="ormqr"):
        xla.ormqr(a, taus, rand((2, 4, 4), dtype))


def test_polar_uses_lax_qdwh():
    import jax.scipy.linalg as jsl
    import xform.scipy.linalg as xsl
    x = rand((5, 3), F64, seed=22)
    for g, w in zip(xsl.polar(x), jsl.polar(x)):
        close(g, w, F64, 10)
