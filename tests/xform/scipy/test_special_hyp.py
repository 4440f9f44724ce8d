"""xform.scipy.special's ``hyp1f1``, ``hyp2f1`` and ``sph_harm_y`` against
jax.scipy.special, in float32 and (the ``TestX64`` class, jax_enable_x64 on in both
libraries) float64: values on grids with the special points (``a <= 0`` integers, ``a = b``,
``b = 0``, ``|x| >= 100``; ``x = 0, 1``, ``x > 1``, ``c`` a non-positive integer, ``c - a -
b`` an integer near ``x = 1``), dtype and weak type, first derivatives in every argument
(``grad`` and ``jvp``), the second derivative in ``x``, ``vmap`` against a loop and ``jit``.

JAX hangs on ``hyp2f1(inf, ...)`` (its polynomial loop runs ``|c - a|`` times on every
element); xform runs that loop only where its result is used, so the grids leave ``inf``
out of ``a`` and ``b`` for the comparison and check xform alone there."""
import jax
import jax.numpy as jnp_ref
import jax.scipy.special as jss
import numpy as np
import pytest

import xform
import xform.numpy as xnp
import xform.scipy.special as xss

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def grid(dt, *axes):
    return [g.ravel().astype(dt) for g in np.meshgrid(*axes, indexing="ij")]


def check(got, want, what, rtol, atol=0.0):
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    assert got.weak_type == want.weak_type, f"{what}: weak_type {got.weak_type}"
    kind = np.complex128 if np.iscomplexobj(want) else np.float64
    g, w = np.asarray(got, kind), np.asarray(want, kind)
    assert g.shape == w.shape, f"{what}: shape {g.shape} != {w.shape}"
    with np.errstate(invalid="ignore"):
        ok = (g == w) | (np.isnan(g) & np.isnan(w)) | (np.abs(g - w) <= atol + rtol * np.abs(w))
    assert ok.all(), (f"{what}: {(~ok).sum()} mismatches, first at {np.argwhere(~ok)[0]}: "
                      f"got {g[~ok][:4]}, want {w[~ok][:4]}")


def check_tree(got, want, what, rtol, atol=0.0):
    gl, wl = jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)
    assert len(gl) == len(wl), what
    for i, (g, w) in enumerate(zip(gl, wl)):
        check(g, w, f"{what}[{i}]", rtol, atol)


# ---- the grids ------------------------------------------------------------------------------

A1 = [0.0, -1.0, -2.0, -3.0, -0.5, 0.5, 1.0, 2.5, 7.0, -7.5, 30.0, np.nan, np.inf]
B1 = [0.0, 1.0, 1.5, -0.5, 2.0, 3.0, 10.0, -2.0, 0.5]
X1 = [0.0, 0.5, -0.5, 2.0, -3.0, 20.0, -40.0, 99.0, 101.0, 150.0, -150.0, 800.0, np.nan,
      1e-3]
P2 = [0.0, -1.0, -2.0, -0.5, 0.5, 1.0, 2.5, -3.0, np.nan]
C2 = [0.0, 1.0, 2.5, -1.0, -2.0, -2.5, 0.5, 6.0]
X2 = [0.0, 0.5, -0.5, 0.95, 1.0, -2.0, 0.3, 0.999, 1.5]


def _everything(lib, ss, name, n):
    """One program per library: the values, ``vmap`` of ``grad`` in every argument,
    ``grad`` of ``grad`` in ``x`` and (``hyp1f1``) ``jvp`` in all arguments at once (JAX
    compiles these slowly: one program per function and dtype keeps the file quick)."""
    f = getattr(ss, name)

    def run(*p):
        out = (f(*p), lib.vmap(lib.grad(f, tuple(range(n))))(*p),
               lib.vmap(lib.grad(lib.grad(f, n - 1), n - 1))(*p))
        if n == 3:     # (hyp2f1's jvp: the same rules, another 5 s of JAX's compiling)
            tangents = tuple(q * 0 + t for q, t in zip(p, (0.5, -1.0, 2.0)))
            out += (lib.jvp(f, p, tangents),)
        return out
    return lib.jit(run)


def run_all(name, points, dt, rtol, derivs=True):
    n = len(points)
    pts = grid(dt, *points)
    if not derivs:
        check(getattr(xss, name)(*pts), getattr(jss, name)(*pts), name, rtol)
        return
    check_tree(_everything(xform, xss, name, n)(*pts), _everything(jax, jss, name, n)(*pts),
               name, rtol)


SN = np.array([0, 1, 2, 3, 5, 5, 4, 6, 6])
SM = np.array([0, 0, 1, -2, 5, -3, -4, 6, -1])


def _sph_scalar(lib, ss):
    n, m = SN[1:-1], SM[1:-1]

    def f(t, p):
        y = ss.sph_harm_y(n, m, t, p)
        return lib.numpy.sum(lib.numpy.real(y) * lib.numpy.arange(7.0)) + \
            lib.numpy.sum(lib.numpy.imag(y))
    return f


def _sph_derivs(lib, ss):
    f = _sph_scalar(lib, ss)

    def run(t, p):
        # the gradient, and its directional derivative (a second derivative)
        return lib.jvp(lambda t, p: lib.grad(f, (0, 1))(t, p), (t, p),
                       (t * 0 + 1, p * 0 - 0.5))
    return lib.jit(run)


def run_sph(dt, rtol, full=True):
    """``full``: every value case, ``jit`` and ``vmap``; else the first case and the
    derivatives."""
    th = np.linspace(0, np.pi, 9).astype(dt)
    ph = np.linspace(-1, 7, 9).astype(dt)
    th_nan = np.where(np.arange(9) == 4, np.nan, th).astype(dt)
    # a NaN angle (NaN in JAX's whole column of Legendre values); a scalar angle (used for
    # every element); n_max below max(n), |m| > n and n < 0 (JAX's clipped gather); fewer
    # degrees than angles and one longitude
    cases = [((SN, SM, th_nan, ph), {}), ((SN, SM, dt(0.3), ph), {}),
             ((np.array([-1, 2, 5]), np.array([0, 7, 1]), th[:4], ph[:1]), {"n_max": 3})]
    for i, (args, kw) in enumerate(cases if full else cases[:1]):
        check(xss.sph_harm_y(*args, **kw), jss.sph_harm_y(*args, **kw), f"sph_harm_y {i}",
              rtol)
    if full:
        got = xform.jit(xss.sph_harm_y, static_argnums=5)(SN, SM, th, ph, None, 6)
        check(got, jss.sph_harm_y(SN, SM, th, ph), "sph_harm_y jit", rtol)
        got = xform.jit(xform.vmap(lambda t: xss.sph_harm_y(SN, SM, t, 0.2, n_max=6)))(th)
        want = jax.jit(jax.vmap(lambda t: jss.sph_harm_y(SN, SM, t, 0.2, n_max=6)))(th)
        check(got, want, "sph_harm_y vmap", rtol)
    if full:
        return
    t, p = th[1:-1], ph[1:-1]
    # (sums of terms of both signs: an absolute tolerance at the scale of the terms)
    check_tree(_sph_derivs(xform, xss)(t, p), _sph_derivs(jax, jss)(t, p),
               "sph_harm_y derivatives", 8 * rtol, atol=8 * rtol)


# ---- float32 --------------------------------------------------------------------------------

F32 = np.float32


def test_hyp1f1_f32():
    run_all("hyp1f1", (A1, B1, X1), F32, 2e-5)


def test_hyp2f1_f32():
    run_all("hyp2f1", (P2, P2, C2, X2), F32, 2e-5)


def test_sph_harm_y_f32():
    run_sph(F32, 1e-6)


def test_dtypes_and_weak_types():
    # Python scalars (weak, the result strong), ints, float16 (computed in float16, as JAX)
    for a in [(1.0, 2, 0.5), tuple(np.float16(v) for v in (1, 2, 0.5)), ([1.0, 2.0], 2.0, 0.5)]:
        check(xss.hyp1f1(*a), jss.hyp1f1(*a), f"hyp1f1{a}", 1e-3)
    check(xform.grad(xss.hyp1f1, 2)(1.0, 2.0, 0.5), jax.grad(jss.hyp1f1, 2)(1.0, 2.0, 0.5),
          "grad hyp1f1 (weak)", 1e-6)
    assert xss.hyp1f1(np.ones((2, 1)), np.ones(3), 0.5).shape == (2, 3)


def test_vmap_matches_loop_and_jit():
    a, b, x = grid(F32, [-2.0, 0.5], [1.5, -0.5], [0.3, 150.0])
    loop = np.array([np.asarray(xss.hyp1f1(*p)) for p in zip(a, b, x)])
    np.testing.assert_allclose(np.asarray(xform.vmap(xss.hyp1f1)(a, b, x)), loop, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(xform.jit(xss.hyp1f1)(a, b, x)), loop, rtol=1e-6)
    a, b, c, x = grid(F32, [-2.0, 0.5], [1.0], [2.5, 1.0], [0.3, 0.95])
    loop = np.array([np.asarray(xss.hyp2f1(*p)) for p in zip(a, b, c, x)])
    np.testing.assert_allclose(np.asarray(xform.vmap(xss.hyp2f1)(a, b, c, x)), loop,
                               rtol=1e-6)


def test_hyp2f1_infinite_parameter():
    # JAX does not return here (its polynomial loop runs forever); xform does
    got = xss.hyp2f1(np.array([np.inf, 1.0], F32), F32(1.0), F32(0.5), F32(0.5))
    assert np.asarray(got)[0] == np.inf and np.isfinite(np.asarray(got)[1])


def test_second_derivative_in_a_parameter():
    # JAX refuses reverse mode through the series' while_loop; xform bounds the loop
    # (max_steps), so grad of grad works and equals JAX's forward-over-reverse
    a = np.array([1.0, 2.0, -0.5], F32), np.array([2.0, 0.5, 3.0], F32), \
        np.array([0.5, -3.0, 2.0], F32)
    got = xform.jit(xform.vmap(xform.grad(xform.grad(xss.hyp1f1, 0), (0, 2))))(*a)
    want = jax.jit(jax.vmap(jax.jacfwd(jax.grad(jss.hyp1f1, 0), (0, 2))))(*a)
    check_tree(got, want, "d2 hyp1f1 / da (da, dx)", 1e-4)


def test_errors():
    with pytest.raises(ValueError, match="complex"):
        xss.hyp1f1(1 + 1j, 2.0, 0.5)
    with pytest.raises(TypeError):
        xss.hyp2f1(1 + 1j, 2.0, 3.0, 0.5)
    th = np.array([0.3, 1.0], F32)
    with pytest.raises(NotImplementedError, match="diff_n"):
        xss.sph_harm_y(SN[:2], SM[:2], th, 0.2, diff_n=1)
    with pytest.raises(TypeError, match="unsized"):
        xss.sph_harm_y(2, 1, th, 0.2)
    with pytest.raises(xform.ConcretizationError, match="n_max"):
        xform.jit(xss.sph_harm_y)(SN[:2], SM[:2], th, 0.2)
    # n as an xform array: fine outside transformations
    check(xss.sph_harm_y(xnp.asarray(SN[:2]), xnp.asarray(SM[:2]), xnp.asarray(th), 0.2),
          jss.sph_harm_y(jnp_ref.asarray(SN[:2]), jnp_ref.asarray(SM[:2]),
                         jnp_ref.asarray(th), 0.2), "sph_harm_y arrays", 1e-6)


# ---- float64 --------------------------------------------------------------------------------

# conftest's module-scoped x64_enabled: this class is the module's last, so nothing after
# it runs with x64 on
@pytest.mark.usefixtures("x64_enabled")
class TestX64:
    def test_hyp1f1_f64(self):
        run_all("hyp1f1", (A1, B1, X1), np.float64, 1e-11)

    def test_hyp2f1_f64(self):
        run_all("hyp2f1", (P2, P2, C2, X2), np.float64, 1e-12, derivs=False)

    def test_sph_harm_y_f64(self):
        run_sph(np.float64, 1e-13, full=False)
        # f32 angles: JAX's (-1)^|m| is a float64 there, so the result is complex128
        got = xss.sph_harm_y(SN, SM, F32(0.3), F32(0.2))
        check(got, jss.sph_harm_y(SN, SM, F32(0.3), F32(0.2)), "sph_harm_y f32 in x64",
              1e-13)
