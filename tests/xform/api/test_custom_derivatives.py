"""custom_jvp / custom_vjp against JAX, composed with jit, higher-order grad and forward mode;
plus xform's extension: forward mode for a custom_vjp function given a JVP rule."""
import numpy as np
import pytest

import jax
import jax.numpy as jnp

import xform
import xform.numpy as xnp
from oracle import close as _close


def close(a, b, tol=1e-6):
    return _close(a, b, tol)


def _softplus_pair():
    def build(mod, m):
        @mod.custom_jvp
        def f(x):
            return m.log1p(m.exp(x))

        @f.defjvp
        def f_jvp(primals, tangents):
            x, = primals
            t, = tangents
            return f(x), t * (1.0 / (1.0 + m.exp(-x))) * 1.5   # deliberately scaled
        return f
    return build(xform, xnp), build(jax, jnp)


def test_custom_jvp_all_modes():
    fx, fj = _softplus_pair()
    x = np.array([0.3, -1.0, 2.0], np.float32)
    close(fx(x), fj(x))
    close(xform.jit(fx)(x), fj(x))
    gx = lambda x: xnp.sum(fx(x))
    gj = lambda x: jnp.sum(fj(x))
    close(xform.grad(gx)(x), jax.grad(gj)(x))
    close(xform.jit(xform.grad(gx))(x), jax.grad(gj)(x))
    close(xform.grad(xform.jit(gx))(x), jax.grad(gj)(x))
    close(xform.jvp(fx, (x,), (np.ones(3, np.float32),)), jax.jvp(fj, (x,), (np.ones(3, np.float32),)))
    close(xform.hessian(gx)(x), jax.hessian(gj)(x), 1e-5)
    close(xform.grad(lambda x: xform.grad(gx)(x).sum())(x),
          jax.grad(lambda x: jax.grad(gj)(x).sum())(x), 1e-5)


def test_custom_jvp_nondiff_and_defjvps():
    def build(mod, m):
        from functools import partial

        @partial(mod.custom_jvp, nondiff_argnums=(0,))
        def f(n, x, y):
            return x ** n * y

        @f.defjvp
        def f_jvp(n, primals, tangents):
            x, y = primals
            tx, ty = tangents
            return f(n, x, y), 2.0 * (n * x ** (n - 1) * y * tx + x ** n * ty)

        @mod.custom_jvp
        def g(x, y):
            return m.sin(x) * y
        g.defjvps(lambda tx, ans, x, y: m.cos(x) * y * tx * 3.0,
                  lambda ty, ans, x, y: m.sin(x) * ty)
        return f, g
    (fx, gx), (fj, gj) = build(xform, xnp), build(jax, jnp)
    close(xform.grad(fx, argnums=(1, 2))(3, 1.5, 2.0), jax.grad(fj, argnums=(1, 2))(3, 1.5, 2.0))
    close(xform.jit(xform.grad(fx, argnums=1), static_argnums=0)(3, 1.5, 2.0),
          jax.grad(fj, argnums=1)(3, 1.5, 2.0))
    close(xform.grad(gx, argnums=(0, 1))(0.4, 2.0), jax.grad(gj, argnums=(0, 1))(0.4, 2.0))


def _clip_pair():
    def build(mod, m):
        @mod.custom_vjp
        def f(x, y):
            return m.sin(x) * y

        def fwd(x, y):
            return f(x, y), (m.cos(x), m.sin(x), y)

        def bwd(res, g):
            c, s, y = res
            return (m.clip(c * y * g, -0.5, 0.5), s * g)
        f.defvjp(fwd, bwd)
        return f
    return build(xform, xnp), build(jax, jnp)


def test_custom_vjp_reverse_modes():
    fx, fj = _clip_pair()
    x, y = np.array([0.1, 1.0, 2.0]), np.array([3.0, 0.2, -2.0])
    close(fx(x, y), fj(x, y))
    lx = lambda x, y: xnp.sum(fx(x, y) ** 2)
    lj = lambda x, y: jnp.sum(fj(x, y) ** 2)
    close(xform.grad(lx, argnums=(0, 1))(x, y), jax.grad(lj, argnums=(0, 1))(x, y))
    close(xform.jit(xform.grad(lx))(x, y), jax.grad(lj)(x, y))
    close(xform.grad(xform.jit(lx))(x, y), jax.grad(lj)(x, y))
    close(xform.jacrev(fx)(x, y), jax.jacrev(fj)(x, y))
    # second order differentiates through fwd and bwd, as JAX does
    close(xform.grad(lambda y: xform.grad(lx, argnums=1)(x, y).sum())(y),
          jax.grad(lambda y: jax.grad(lj, argnums=1)(x, y).sum())(y))


def test_custom_vjp_nondiff_pytrees_and_none():
    def build(mod, m):
        from functools import partial

        @partial(mod.custom_vjp, nondiff_argnums=(1,))
        def f(p, scale):
            return p["a"] * scale + m.sum(p["b"])

        def fwd(p, scale):
            return f(p, scale), p["a"]

        def bwd(scale, a, g):
            return ({"a": g * scale * 2.0, "b": None if mod is xform else jnp.zeros(2)},)
        f.defvjp(fwd, bwd)
        return f
    fx, fj = build(xform, xnp), build(jax, jnp)
    p = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    gx = xform.grad(lambda p: xnp.sum(fx(p, 3.0)))(p)
    gj = jax.grad(lambda p: jnp.sum(fj(p, 3.0)))(p)
    close(gx, gj)


def test_custom_vjp_forward_mode_error_and_extension():
    fx, _ = _clip_pair()
    x, y = np.array([0.1, 1.0]), np.array([3.0, 0.2])
    with pytest.raises(TypeError, match=r"forward-mode.*defjvp"):
        xform.jvp(fx, (x, y), (x, y))
    with pytest.raises(TypeError, match="defjvp"):
        xform.jacfwd(fx)(x, y)

    @fx.defjvp
    def fx_jvp(primals, tangents):
        (a, b), (ta, tb) = primals, tangents
        return fx(a, b), xnp.cos(a) * b * ta + xnp.sin(a) * tb
    p, t = xform.jvp(fx, (x, y), (np.ones(2), np.zeros(2)))
    close(t, np.cos(x) * y)
    close(xform.jacfwd(fx)(x, y), np.diag(np.cos(x) * y))
    # reverse mode still uses fwd/bwd (with its clipping)
    close(xform.grad(lambda x: xnp.sum(fx(x, y)))(x), np.clip(np.cos(x) * y, -0.5, 0.5))


def test_custom_ir_and_errors():
    fx, _ = _softplus_pair()
    jaxpr = xform.make_jaxpr(fx)(np.ones(2, np.float32))
    assert "custom_jvp_call" in str(jaxpr)

    @xform.custom_jvp
    def h(x):
        return x
    with pytest.raises(AttributeError, match="defjvp"):
        h(1.0)

    @xform.custom_jvp
    def bad(x):
        return x * 2
    bad.defjvp(lambda p, t: p[0])   # not a pair
    with pytest.raises(TypeError, match="pair"):
        xform.grad(bad)(1.0)


def test_custom_vjp_bwd_gets_an_array_cotangent_when_it_is_the_loss():
    """grad of a custom_vjp function that is the loss itself: its bwd receives grad's seed
    cotangent as an array it can compute with (it was an IR literal)."""
    import jax
    import jax.numpy as jjnp

    def make(api, np_):
        @api.custom_vjp
        def f(x):
            return np_.sin(x)
        f.defvjp(lambda x: (np_.sin(x), np_.cos(x)), lambda c, g: (g * 0.5 * c,))
        return f
    want = jax.grad(make(jax, jjnp))(1.0)
    for fn in (xform.grad(make(xform, xform.numpy)),
               xform.jit(xform.grad(make(xform, xform.numpy)))):
        np.testing.assert_allclose(fn(1.0), want, rtol=1e-6)


def test_rules_see_arrays_where_the_surface_wrote_a_scalar_literal():
    """`x + 0.5` inside a library composite passes 0.5 on as an inline scalar; a custom
    rule still gets an array (with dtype and shape), and a nondiff argument left to its
    default is filled in, as in JAX."""
    from functools import partial

    @partial(xform.custom_jvp, nondiff_argnums=(2,))
    def f(x, y, scale=2.0):
        return x * y * scale

    @f.defjvp
    def f_jvp(scale, primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        assert hasattr(y, "dtype") and hasattr(ty, "shape")
        return f(x, y, scale), (tx * y + x * ty) * scale

    g = xform.grad(lambda x: f(x, xform.lax.weak_literal(0.5, np.float32)))
    assert float(g(np.float32(3.0))) == 1.0
    assert float(xform.jit(g)(np.float32(3.0))) == 1.0


def test_custom_jvp_function_applied_to_a_tangent_transposes_its_body():
    """Dot-product test of the custom_jvp_call transpose rule: inside a derivative rule a
    custom_jvp function (here linalg.solve) may be applied to a tangent; reverse mode then
    transposes its body: <T(ct), t> == <ct, L(t)>."""
    import numpy as onp
    import xform.numpy as xnp
    A = onp.array([[3.0, 1.0], [0.5, 2.0]], onp.float32)

    @xform.custom_jvp
    def f(x):
        return xnp.sin(x)

    @f.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), xnp.linalg.solve(A, t) * xnp.cos(x)

    x = onp.array([0.3, -0.7], onp.float32)
    t = onp.array([1.5, -2.0], onp.float32)
    ct = onp.array([0.25, 4.0], onp.float32)
    lin = xform.jvp(f, (x,), (t,))[1]
    (back,) = xform.vjp(f, x)[1](ct)
    onp.testing.assert_allclose(onp.dot(back, t), onp.dot(ct, lin), rtol=1e-5)
    want = onp.linalg.solve(A.T, onp.cos(x) * ct)   # the transpose, by hand
    onp.testing.assert_allclose(back, want, rtol=1e-5)


def test_custom_gradient_as_jax():
    import jax.numpy as jnp

    def make(np_):
        def f(x, y):
            z = np_.sin(x) * y
            return z, lambda g: (g * np_.cos(x) * y * 10, g * np_.sin(x))
        return f
    fx, fj = xform.custom_gradient(make(xnp)), jax.custom_gradient(make(jnp))
    x, y = np.float32(0.7), np.float32(2.0)
    np.testing.assert_allclose(fx(x, y), fj(x, y), rtol=1e-6)
    for argnums in (0, (0, 1)):
        got = xform.grad(fx, argnums=argnums)(x, y)
        want = jax.grad(fj, argnums=argnums)(x, y)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    np.testing.assert_allclose(xform.jit(xform.grad(fx))(x, y), jax.grad(fj)(x, y), rtol=1e-6)
    xs = np.linspace(0, 1, 4, dtype=np.float32)
    np.testing.assert_allclose(xform.vmap(xform.grad(fx))(xs, xs),
                               jax.vmap(jax.grad(fj))(xs, xs), rtol=1e-6)
    # one argument: the rule may return a bare cotangent; two call sites keep their rules
    gx = xform.custom_gradient(lambda v: (v ** 2, lambda g: g * v))
    gj = jax.custom_gradient(lambda v: (v ** 2, lambda g: g * v))
    h = lambda m, w: m(w) * m(2 * w)   # noqa: E731
    np.testing.assert_allclose(xform.grad(lambda w: h(gx, w))(3.0),
                               jax.grad(lambda w: h(gj, w))(3.0), rtol=1e-6)
    with pytest.raises(TypeError, match="must return a pair"):
        xform.grad(xform.custom_gradient(lambda v: v * 2))(1.0)


def test_closure_convert_hoists_traced_values():
    def outer(c):
        conv, consts = xform.closure_convert(lambda x: x * c + 1.0, 1.0)
        assert len(consts) == 1
        return conv(2.0, *consts)
    np.testing.assert_allclose(xform.grad(outer)(3.0), 2.0)
    conv, consts = xform.closure_convert(lambda x: x * 2.0, 1.0)
    assert consts == [] and float(conv(4.0)) == 8.0
