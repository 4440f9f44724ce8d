"""jit: caching by abstract signature, static arguments, clear errors, constants, lowering."""
import re

import jax
import jax.numpy as jnp_ref
import numpy as np
import pytest

import xform
import xform.numpy as xnp

THIS_FILE = "test_jit.py"


def _line_of(marker):
    """Line number of the source line of this file that contains ``marker``."""
    with open(__file__) as f:
        return next(i for i, line in enumerate(f, 1) if marker in line and "_line_of" not in line)


def test_same_signature_traces_once():
    f = xform.jit(lambda x, y: x * y + 1)
    a = xnp.ones((2, 3))
    for _ in range(3):
        out = f(a, a)
    assert f.trace_count == 1
    np.testing.assert_allclose(np.asarray(out), np.full((2, 3), 2.0))
    f(np.ones((2, 3), np.float32), a)   # a NumPy array of the same type: no retrace
    assert f.trace_count == 1


def test_new_shape_dtype_weak_type_retrace():
    f = xform.jit(lambda x: x + 1)
    f(xnp.ones(3))
    f(xnp.ones(4))                                   # new shape
    assert f.trace_count == 2
    f(xnp.ones(4, xnp.int32))                        # new dtype
    assert f.trace_count == 3
    out = f(xnp.asarray(1.0))                        # weak f32[]
    assert (out.dtype, out.weak_type) == (np.float32, True)
    f(xnp.asarray(1.0, xnp.float32))                 # strong f32[]: retrace
    assert f.trace_count == 5
    f(2.0)                                           # a Python float is weak f32[]: cached
    assert f.trace_count == 5
    out = f(xnp.asarray(1.0, xnp.float32))
    assert (out.dtype, out.weak_type) == (np.float32, False)


def test_pytree_structure_is_part_of_the_key():
    f = xform.jit(lambda d: d["a"] + d.get("b", 0))
    f({"a": xnp.ones(2)})
    f({"a": xnp.ones(2), "b": xnp.ones(2)})
    assert f.trace_count == 2
    out = f({"a": xnp.ones(2), "b": xnp.ones(2)})
    assert f.trace_count == 2
    np.testing.assert_allclose(np.asarray(out), [2.0, 2.0])


def test_static_argnums_and_argnames():
    calls = []

    def f(x, n, *, mode="add"):
        calls.append((n, mode))
        return x + n if mode == "add" else x * n
    g = xform.jit(f, static_argnums=1, static_argnames="mode")
    x = xnp.arange(3.0)
    np.testing.assert_allclose(np.asarray(g(x, 2)), [2, 3, 4])
    np.testing.assert_allclose(np.asarray(g(x, 2)), [2, 3, 4])
    assert g.trace_count == 1
    np.testing.assert_allclose(np.asarray(g(x, 3)), [3, 4, 5])
    assert g.trace_count == 2
    np.testing.assert_allclose(np.asarray(g(x, 3, mode="mul")), [0, 3, 6])
    assert g.trace_count == 3
    np.testing.assert_allclose(np.asarray(g(x, 3, mode="mul")), [0, 3, 6])
    assert g.trace_count == 3
    # static values only used by Python control flow: n > 0 is fine on a static int
    h = xform.jit(lambda x, n: x if n > 0 else -x, static_argnums=(1,))
    np.testing.assert_allclose(np.asarray(h(x, -1)), [0, -1, -2])


def test_jit_as_decorator_with_options():
    @xform.jit
    def f(x):
        return x * 2

    @xform.jit(static_argnames=("k",))
    def g(x, k):
        return x ** k
    np.testing.assert_allclose(np.asarray(f(xnp.ones(2))), [2, 2])
    np.testing.assert_allclose(np.asarray(g(xnp.full(2, 3.0), k=2)), [9, 9])


def test_unhashable_static_arg_is_a_clear_type_error():
    g = xform.jit(lambda x, shape: xnp.reshape(x, shape), static_argnums=1)
    with pytest.raises(TypeError, match=r"(?s)static argument.*unhashable.*list"):
        g(xnp.ones(4), [2, 2])
    np.testing.assert_allclose(np.asarray(g(xnp.ones(4), (2, 2))), np.ones((2, 2)))


def test_string_arg_is_a_clear_type_error():
    f = xform.jit(lambda x, how: x)
    with pytest.raises(TypeError, match=r"(?s)str.*not a valid array value.*static"):
        f(xnp.ones(2), "mean")
    np.testing.assert_allclose(np.asarray(f(xnp.ones(2), 1.0)), [1, 1])


def test_non_array_output_is_a_clear_type_error():
    with pytest.raises(TypeError, match="returned a str"):
        xform.jit(lambda x: "oops")(xnp.ones(2))


def test_matmul_shape_mismatch_error():
    f = xform.jit(lambda a, b: a @ b)  # MATMUL-LINE
    with pytest.raises(TypeError) as e:
        f(xnp.ones((3, 4)), xnp.ones((5, 6)))
    msg = str(e.value)
    assert "matmul" in msg and "(3, 4)" in msg and "(5, 6)" in msg, msg
    assert f"{THIS_FILE}:{_line_of('MATMUL-LINE')}" in msg, msg
    out = f(xnp.ones((3, 4)), xnp.ones((4, 6)))     # the next call works
    np.testing.assert_allclose(np.asarray(out), np.full((3, 6), 4.0))


def test_add_shape_mismatch_error():
    f = xform.jit(lambda a, b: a + b)  # ADD-LINE
    with pytest.raises(TypeError) as e:
        f(xnp.ones(3), xnp.ones(4))
    msg = str(e.value)
    assert "add" in msg and "(3,)" in msg and "(4,)" in msg, msg
    assert f"{THIS_FILE}:{_line_of('ADD-LINE')}" in msg, msg
    np.testing.assert_allclose(np.asarray(f(xnp.ones(3), xnp.ones(3))), [2, 2, 2])


def test_eager_shape_mismatch_error_names_the_line():
    with pytest.raises(TypeError) as e:
        xnp.ones(3) + xnp.ones(4)  # EAGER-ADD-LINE
    assert f"{THIS_FILE}:{_line_of('EAGER-ADD-LINE')}" in str(e.value), str(e.value)
    assert "(3,)" in str(e.value) and "(4,)" in str(e.value)


def test_value_dependent_control_flow_error_is_clear():
    f = xform.jit(lambda x: x if x > 0 else -x)
    with pytest.raises(TypeError, match=r"(?s)concrete value.*(lax\.cond|static_argnums)"):
        f(xnp.ones(()))
    assert xform.jit(lambda x: xnp.where(x > 0, x, -x))(xnp.asarray(-2.0)).item() == 2.0


def test_captured_arrays_are_constvars_not_literals():
    w = xnp.arange(1000.0).reshape(10, 100)
    b = np.full((100,), 3.0, np.float32)

    def f(x):
        return x @ w + b
    closed = xform.make_jaxpr(f)(xnp.ones((2, 10)))
    const_shapes = sorted(v.aval.shape for v in closed.jaxpr.constvars)
    assert const_shapes == [(10, 100), (100,)], str(closed)
    assert len(closed.consts) == 2
    assert any(c is w for c in closed.consts)
    text = xform.jit(f).lower(xnp.ones((2, 10))).as_text()
    assert "stablehlo." in text
    main = re.search(r"func\.func public @main\((.*?)\)\s*->", text).group(1)
    assert "tensor<10x100xf32>" in main and "tensor<100xf32>" in main, main
    assert "dense<" not in text or not re.search(r"dense<\[\[0\.0", text)
    assert text.count("stablehlo.constant") + text.count('"stablehlo.constant"') <= 2, text
    out = xform.jit(f)(xnp.ones((2, 10)))
    np.testing.assert_allclose(np.asarray(out), np.ones((2, 10)) @ np.asarray(w) + b, rtol=1e-6)


def test_lower_as_text_is_stablehlo():
    lowered = xform.jit(lambda x: xnp.sin(x) * 2).lower(xnp.ones(3))
    text = lowered.as_text()
    assert "stablehlo." in text and "tensor<3xf32>" in text
    compiled = lowered.compile()
    np.testing.assert_allclose(np.asarray(compiled(xnp.ones(3))), 2 * np.sin(np.ones(3)),
                               rtol=1e-6)


def test_x64_toggle_does_not_reuse_a_stale_entry():
    f = xform.jit(lambda x: x + 1.5)
    try:
        assert f(1).dtype == np.float32
        xform.config.update("jax_enable_x64", True)
        jax.config.update("jax_enable_x64", True)
        out = f(1)
        assert out.dtype == np.float64
        assert out.dtype == jnp_ref.add(1, 1.5).dtype
        assert f(xnp.arange(3)).dtype == np.float64
    finally:
        xform.config.update("jax_enable_x64", False)
        jax.config.update("jax_enable_x64", False)
    assert f(1).dtype == np.float32
    assert f.trace_count == 3
    assert xnp.arange(3).dtype == np.int32


def test_jit_of_jit_and_methods():
    inner = xform.jit(lambda x: x * 3)
    outer = xform.jit(lambda x: inner(x) + 1)
    np.testing.assert_allclose(np.asarray(outer(xnp.ones(2))), [4, 4])

    class M:
        @xform.jit
        def apply(self, x):
            return x * 2

        @xform.jit
        @staticmethod
        def twice(x):
            return x * 2
    # as in JAX, ``self`` is an argument like any other: not an array, so a clear error
    with pytest.raises(TypeError, match="static_argnums"):
        M().apply(xnp.ones(2))
    np.testing.assert_allclose(np.asarray(M.twice(xnp.ones(2))), [2, 2])


def test_array_methods_under_tracing_include_var():
    """``x.var()`` under jit/grad: the tracer's IR variable once shadowed the method
    ('Var' object is not callable)."""
    import jax
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    for name in ("var", "std", "mean", "sum"):
        got = xform.jit(lambda a: getattr(a, name)(0))(x)
        want = getattr(jax.numpy.asarray(x), name)(0)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(xform.grad(lambda a: a.var())(x)),
                               np.asarray(jax.grad(lambda a: a.var())(x)), rtol=1e-6)


def test_kwargs_and_pytree_outputs():
    f = xform.jit(lambda x, *, y: {"s": x + y, "t": (x * y, [x - y])})
    out = f(xnp.ones(2), y=xnp.full(2, 3.0))
    assert set(out) == {"s", "t"}
    np.testing.assert_allclose(np.asarray(out["t"][1][0]), [-2, -2])
    assert f.trace_count == 1
    f(xnp.ones(2), y=xnp.full(2, 3.0))
    assert f.trace_count == 1


def test_jit_matches_eager_on_a_small_program():
    def f(x, y):
        z = xnp.tanh(x) @ y.T
        return xnp.sum(z ** 2, axis=0) / x.shape[0], xnp.argmax(z, axis=1)

    def g(x, y):
        z = jnp_ref.tanh(x) @ y.T
        return jnp_ref.sum(z ** 2, axis=0) / x.shape[0], jnp_ref.argmax(z, axis=1)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 3), np.float32), rng.standard_normal((5, 3), np.float32)
    for got in (f(x, y), xform.jit(f)(x, y)):
        for a, b in zip(got, g(x, y)):
            assert (a.shape, a.dtype) == (b.shape, b.dtype)
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_jit_of_partial_with_numpy_scalar_argument():
    """functools.partial has no __name__; jit must still name it in errors and run."""
    import functools
    f = xform.jit(functools.partial(lambda a, x: a * x, 2.0))
    assert float(f(np.float32(0.5))) == 1.0
    with pytest.raises(TypeError, match=r"jit\(partial\): argument 0"):
        f("not an array")


def test_fast_path_is_not_fooled_by_other_argument_kinds():
    """The positional fast path keys on the ids of Array avals; a call that mixes in a
    Python scalar, a NumPy array or a jax.Array must take the full path and be right."""
    f = xform.jit(lambda *xs: sum(xs[1:], xs[0]))
    a = xnp.arange(3.0)
    np.testing.assert_allclose(np.asarray(f(a)), [0.0, 1.0, 2.0])
    np.testing.assert_allclose(np.asarray(f(a)), [0.0, 1.0, 2.0])      # fast path
    np.testing.assert_allclose(np.asarray(f(a, 2.0)), [2.0, 3.0, 4.0])
    np.testing.assert_allclose(np.asarray(f(a, np.ones(3, np.float32))), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(np.asarray(f(a, jnp_ref.ones(3))), [1.0, 2.0, 3.0])
    out = f(a, a)
    np.testing.assert_allclose(np.asarray(f(out, a)), [0.0, 3.0, 6.0])  # fast path, new avals
    g = xform.jit(lambda x, n: x * n, static_argnums=1)
    np.testing.assert_allclose(np.asarray(g(a, 2)), [0.0, 2.0, 4.0])
    np.testing.assert_allclose(np.asarray(g(a, 3)), [0.0, 3.0, 6.0])   # static arg changes
    assert g.trace_count == 2


def test_cpu_emitter_choice_and_knob(monkeypatch):
    """Small straight-line programs compile with XLA's classic CPU emitter, the rest with
    its default; config.update("xform_cpu_fusion_emitters", ...) forces either; values
    agree; an option this jaxlib's XLA does not know is dropped, not fatal."""
    from lowering import _jaxlib
    from lowering.compile import _small_straight_line
    monkeypatch.setattr(_jaxlib, "CPU_FUSION_EMITTERS", None)
    monkeypatch.setattr(_jaxlib, "CPU_XLA_OPTIONS", {})
    def chain(v, n=100):                                 # ~300 equations
        for i in range(n):
            v = xnp.tanh(v * (i + 1.0)) + 1
        return v
    small = xform.make_jaxpr(chain)(xnp.ones(7)).jaxpr
    short = xform.make_jaxpr(lambda v: chain(v, 3))(xnp.ones(7)).jaxpr
    big = xform.make_jaxpr(chain)(xnp.ones(2000)).jaxpr
    loop = xform.make_jaxpr(lambda v: chain(xform.lax.fori_loop(0, 3, lambda i, c: c * 2, v)))(
        xnp.ones(7)).jaxpr
    grad = xform.make_jaxpr(xform.grad(lambda v: chain(v).sum()))(xnp.ones(7)).jaxpr
    many_outs = xform.make_jaxpr(lambda v: [v * i for i in range(300)])(xnp.ones(7)).jaxpr
    dots = xform.make_jaxpr(lambda v: chain(v @ xnp.ones((7, 7))))(xnp.ones(7)).jaxpr
    assert [_small_straight_line(j) for j in (small, short, big, loop, many_outs, dots)] == \
        [True, False, False, False, False, False]
    assert _small_straight_line(grad)   # one output: the classic emitter
    classic = [("xla_cpu_use_fusion_emitters", False)]
    opts = lambda small: _jaxlib._compile_options(
        "cpu", "straight-line" if small else None).env_option_overrides
    assert opts(True) == classic and opts(False) == []
    try:
        xform.config.update("xform_cpu_fusion_emitters", True)
        assert opts(True) == [] and opts(False) == []
        xform.config.update("xform_cpu_fusion_emitters", False)
        assert opts(True) == classic and opts(False) == classic
    finally:
        xform.config.update("xform_cpu_fusion_emitters", None)
    assert _jaxlib._compile_options("cuda", "straight-line").env_option_overrides == []
    x = np.linspace(-1.0, 1.0, 7, dtype=np.float32)
    want = np.tanh(x * 3) + 1
    for setting in (True, False, None):
        xform.config.update("xform_cpu_fusion_emitters", setting)
        np.testing.assert_allclose(np.asarray(xform.jit(lambda v: xnp.tanh(v * 3) + 1)(x)),
                                   want, rtol=1e-6, atol=1e-6)
        ref = x
        for i in range(100):
            ref = jnp_ref.tanh(ref * (i + 1.0)) + 1
        np.testing.assert_allclose(np.asarray(xform.jit(chain)(x)), np.asarray(ref),
                                   rtol=1e-6, atol=1e-6)
    monkeypatch.setattr(_jaxlib, "CPU_XLA_OPTIONS", {"xla_cpu_no_such_option": True})
    monkeypatch.setattr(_jaxlib, "_unknown_options", set())
    np.testing.assert_allclose(np.asarray(xform.jit(lambda v: xnp.tanh(v * 3) + 1)(x)),
                               want, rtol=1e-6, atol=1e-6)
    assert _jaxlib._unknown_options == {"xla_cpu_no_such_option"}


def test_small_matrix_products_skip_ynn(monkeypatch):
    """Programs with many matrix products, all small, compile without XLA's YNN library
    (its per-product preparation at the first run cost more than they run); bigger
    products, few products, convolutions and programs without products keep XLA's default;
    config.update("xform_cpu_ynn_dots", ...) forces either way; values agree."""
    from lowering import _jaxlib
    from lowering.compile import program_kind
    monkeypatch.setattr(_jaxlib, "CPU_XLA_OPTIONS", {})
    kind = lambda f, *a: program_kind(xform.make_jaxpr(f)(*a).jaxpr)
    small, big = np.ones((8, 32), np.float32), np.ones((128, 128), np.float32)
    w = np.linspace(-1, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
    def net(w, x, layers=12):
        for _ in range(layers):
            x = xnp.tanh(x @ w)
        return x.sum()
    assert kind(xform.grad(net), w, small) == "small-dots"          # 36 products
    assert kind(xform.grad(lambda w, x: net(w, x, 2)), w, small) is None   # 6
    assert kind(lambda a: net(a, a, 40), big) is None                # 128x128x128 each
    assert kind(lambda a: xnp.sin(a), big) is None
    loop = lambda a: xform.lax.fori_loop(0, 2, lambda i, c: net(w, c, 40) * c, a)
    assert kind(loop, small) == "small-loops+small-dots"
    off = ("xla_cpu_experimental_ynn_fusion_type", "")
    opts = lambda k: _jaxlib._compile_options("cpu", k).env_option_overrides
    assert off in opts("small-dots") and off not in opts(None)
    assert _jaxlib._compile_options("cuda", "small-dots").env_option_overrides == []
    def net_ref(w, x):
        for _ in range(12):
            x = jnp_ref.tanh(x @ w)
        return x.sum()
    want = jax.grad(net_ref)(w, small)
    for setting in (None, True, False):
        xform.config.update("xform_cpu_ynn_dots", setting)
        try:
            assert (off in opts(None)) == (setting is False)
            assert (off in opts("small-dots")) == (setting is not True)
            got = xform.jit(xform.grad(net))(w, small)
        finally:
            xform.config.update("xform_cpu_ynn_dots", None)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)


def _rk4_like(np_, L, dim, steps=50):
    def f(w, x0):
        def step(x, _):
            k1 = np_.tanh(w @ x)
            k2 = np_.tanh(w @ (x + 0.05 * k1))
            x = x + 0.05 * (k1 + k2)
            return x, np_.sum(x * x)
        x, e = L.scan(step, x0, None, length=steps)
        return np_.sum(e) + np_.sum(x)
    return f


def test_small_loops_compile_to_one_kernel_per_loop(monkeypatch):
    """Programs whose loop bodies only touch small arrays get XLA's small-while-loop
    threshold raised (each loop becomes one kernel: the compiled HLO holds a
    "small call"); loops with big arrays or matrix products keep XLA's default;
    config.update("xform_cpu_loop_kernels", ...) forces either way; gradients match JAX
    under every setting."""
    from lowering import _jaxlib
    from lowering.compile import program_kind
    monkeypatch.setattr(_jaxlib, "CPU_LOOP_KERNELS", [None])
    rng = np.random.default_rng(3)
    w = (rng.standard_normal((8, 8)) * 0.3).astype(np.float32)
    x0 = rng.standard_normal(8).astype(np.float32)
    wb = (rng.standard_normal((300, 300)) * 0.05).astype(np.float32)
    xb = rng.standard_normal((300, 300)).astype(np.float32)   # matrix products per step
    gx = xform.grad(_rk4_like(xnp, xform.lax, 8), argnums=(0, 1))
    gb = xform.grad(_rk4_like(xnp, xform.lax, 300, steps=3), argnums=(0, 1))
    kind = lambda f, *a: program_kind(xform.make_jaxpr(f)(*a).jaxpr)
    assert kind(gx, w, x0) == "small-loops"
    assert kind(gb, wb, xb) is None
    assert kind(lambda v: xnp.sin(v) * 2, x0) is None                 # no loop
    big_elementwise = lambda v: xform.lax.fori_loop(0, 3, lambda i, c: xnp.sin(c), v)
    assert kind(big_elementwise, np.ones(5000, np.float32)) is None
    want = jax.grad(_rk4_like(jnp_ref, jax.lax, 8), argnums=(0, 1))(w, x0)
    small_call = lambda: "xla_cpu_small_call" in xform.jit(gx).lower(w, x0).compile().as_text()
    for setting, hoisted in ((None, True), (False, False), (True, True)):
        xform.config.update("xform_cpu_loop_kernels", setting)
        try:
            got = xform.jit(gx)(w, x0)
            assert small_call() == hoisted, setting
        finally:
            xform.config.update("xform_cpu_loop_kernels", None)
        for g, r in zip(got, want):
            np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=2e-5, atol=2e-5)
    assert "xla_cpu_small_call" not in xform.jit(gb).lower(wb, xb).compile().as_text()
    opts = _jaxlib._compile_options("cuda", "small-loops").SerializeAsString()
    assert b"small_while_loop" not in opts


def test_pytree_fast_path_follows_structure_and_values():
    """Pytree calls are served from a (treedef, leaf aval ids) table after the first call;
    a different structure, a new leaf type or fresh values must still be honoured."""
    f = xform.jit(lambda ps, x: [w * x + b for w, b in ps])
    x = xnp.arange(3.0)
    ps = [(xnp.ones(3), xnp.zeros(3)), (xnp.asarray(np.full(3, 2.0, np.float32)), xnp.ones(3))]
    for _ in range(2):
        out = f(ps, x)
        np.testing.assert_allclose(np.asarray(out[1]), [1.0, 3.0, 5.0])
    assert f.trace_count == 1 and isinstance(out, list) and len(out) == 2
    out3 = f(ps + [(x, x)], x)                          # new structure: retrace
    np.testing.assert_allclose(np.asarray(out3[2]), [0.0, 2.0, 6.0])
    assert f.trace_count == 2
    new_ps = [(out[0], out[1]), (out[1], out[0])]       # arrays made by f: new aval objects
    np.testing.assert_allclose(np.asarray(f(new_ps, x)[0]), [1.0, 4.0, 9.0])
    np.testing.assert_allclose(np.asarray(f([(ps[0][0], 1.0), ps[1]], x)[0]), [1.0, 2.0, 3.0])
    assert f.trace_count == 3                           # a Python scalar leaf: weak type


# --- donation ---------------------------------------------------------------------------------

def _donation_warnings(record):
    return [str(w.message) for w in record if "donated buffers were not usable" in str(w.message)]


def test_donate_argnums_aliases_the_buffer_and_deletes_the_array():
    """The donated input's buffer becomes the output's (XLA input/output aliasing); the
    donated Array is deleted and using it is a clear error, as in JAX."""
    f = xform.jit(lambda x, y: x * 2 + y, donate_argnums=0)
    text = f.lower(xnp.ones(3), xnp.ones(3)).as_text()
    assert "tf.aliasing_output = 0" in text, text
    # the compiled program really aliases parameter 0 with the output
    assert "input_output_alias" in f.lower(xnp.ones(3), xnp.ones(3)).compile().as_text()
    jf = jax.jit(lambda x, y: x * 2 + y, donate_argnums=0)
    for _ in range(3):                       # slow path first, then the fast path
        x, y = xnp.arange(3.0), xnp.ones(3)
        jx, jy = jnp_ref.arange(3.0), jnp_ref.ones(3)
        out, jout = f(x, y), jf(jx, jy)
        np.testing.assert_allclose(np.asarray(out), np.asarray(jout))
        assert x.is_deleted() and jx.is_deleted()
        assert not y.is_deleted() and not jy.is_deleted()
        np.testing.assert_allclose(np.asarray(y), [1.0, 1.0, 1.0])
    assert f.trace_count == 1
    msg = r"Array has been deleted \(it was donated to jit\(<lambda>\)"
    for use in (lambda: x + 1, lambda: np.asarray(x), lambda: repr(x), lambda: f(x, y),
                lambda: xform.jit(lambda a: a * 3)(x), lambda: x.block_until_ready(),
                lambda: x.device, lambda: xform.grad(lambda a: (a * x).sum())(y)):
        with pytest.raises(xform.core.DeletedArrayError, match=msg):
            use()
    for use in (lambda: x + 1, lambda: f(x, y)):    # eager ops and jit name the user's line
        with pytest.raises(xform.core.DeletedArrayError, match=r"\(at .*test_jit\.py:\d+\)"):
            use()
    with pytest.raises(RuntimeError, match="Array has been deleted"):   # JAX raises it too
        jx + 1
    # reading the value earlier does not stop the donation (the cached host copy goes) ...
    x, jx = xnp.arange(3.0), jnp_ref.arange(3.0)
    np.asarray(x), np.asarray(jx)
    np.testing.assert_allclose(np.asarray(f(x, y)), np.asarray(jf(jx, jy)))
    assert x.is_deleted() and jx.is_deleted()
    # ... but on the CPU a host view someone still holds makes PJRT decline it: XLA
    # copies instead and the array stays valid, in JAX as here
    x, jx = xnp.arange(3.0), jnp_ref.arange(3.0)
    views = np.asarray(x), np.asarray(jx)
    np.testing.assert_allclose(np.asarray(f(x, y)), np.asarray(jf(jx, jy)))
    assert x.is_deleted() == jx.is_deleted()
    if not x.is_deleted():
        np.testing.assert_allclose(np.asarray(x), views[0])


def test_donate_argnames_and_pytrees_follow_jax():
    def f(a, b, *, c):
        return a + b + c
    a, b, c = xnp.ones(3), xnp.ones(3), xnp.ones(3)
    ja, jb, jc = jnp_ref.ones(3), jnp_ref.ones(3), jnp_ref.ones(3)
    with pytest.warns(UserWarning, match="donated buffers were not usable"):
        out = xform.jit(f, donate_argnames=("b", "c"))(a, b, c=c)
    with pytest.warns(UserWarning, match="donated buffers were not usable"):
        jax.jit(f, donate_argnames=("b", "c"))(ja, jb, c=jc)
    np.testing.assert_allclose(np.asarray(out), [3.0, 3.0, 3.0])
    # one output, two donated f32[3]: the first donated one (b) is reused; c stays valid
    assert [v.is_deleted() for v in (a, b, c)] == [v.is_deleted() for v in (ja, jb, jc)] \
        == [False, True, False]
    # donate_argnums and donate_argnames follow from each other through the signature
    b = xnp.ones(3)
    xform.jit(f, donate_argnums=1)(a, b=b, c=c)
    assert b.is_deleted()
    b = xnp.ones(3)
    xform.jit(f, donate_argnames="b")(a, b, c=c)
    assert b.is_deleted()
    # a donated pytree argument donates every leaf; static arguments stay usable
    g = xform.jit(lambda ps, n: [w * n + v for w, v in ps], static_argnums=1, donate_argnums=0)
    for i in range(2):
        ps = [(xnp.ones(2), xnp.zeros(2)), (xnp.full(2, 2.0), xnp.ones(2))]
        if i == 0:   # four donated f32[2], two outputs: warned once, when compiled
            with pytest.warns(UserWarning, match=r"not usable: f32\[2\], f32\[2\]"):
                out = g(ps, 3)
        else:
            out = g(ps, 3)
        np.testing.assert_allclose(np.asarray(out[1]), [7.0, 7.0])
        assert sum(leaf.is_deleted() for p in ps for leaf in p) == 2   # two outputs
    assert g.trace_count == 1
    with pytest.raises(ValueError, match="static and donated"):
        xform.jit(lambda x, n: x, static_argnums=1, donate_argnums=1)
    with pytest.raises(ValueError, match="donate_argnums"):
        xform.jit(lambda x: x, donate_argnums=3)
    with pytest.raises(ValueError, match="donate_argnames"):
        xform.jit(lambda x: x, donate_argnames="y")


def test_donation_on_the_fast_paths():
    """Positional and pytree calls served from the fast tables donate too, and a second
    call with fresh arrays works."""
    step = xform.jit(lambda p, g: [w - 0.1 * d for w, d in zip(p, g)], donate_argnums=0)
    grads = [xnp.ones(3), xnp.ones(2)]
    params = [xnp.zeros(3), xnp.zeros(2)]
    for k in range(1, 5):
        new = step(params, grads)
        assert all(w.is_deleted() for w in params) and not any(d.is_deleted() for d in grads)
        np.testing.assert_allclose(np.asarray(new[0]), np.full(3, -0.1 * k), rtol=1e-6)
        params = new
    assert step.trace_count == 1 and step._fast_trees   # later calls took the pytree path
    inc = xform.jit(lambda x: x + 1, donate_argnums=0)
    x = xnp.zeros(4)
    for _ in range(4):
        x = inc(x)
    assert inc.trace_count == 1 and inc._fast_ids
    np.testing.assert_allclose(np.asarray(x), np.full(4, 4.0))


def test_non_aliasable_donation_only_warns():
    """No output of the donated argument's shape and dtype: a warning (as in JAX), and
    the array stays valid."""
    import warnings
    f = xform.jit(lambda x: x.sum(), donate_argnums=0)
    x = xnp.arange(3.0)
    with pytest.warns(UserWarning, match=r"donated buffers were not usable: f32\[3\]"):
        assert float(f(x)) == 3.0
    assert not x.is_deleted()
    np.testing.assert_allclose(np.asarray(x), [0.0, 1.0, 2.0])
    with warnings.catch_warnings(record=True) as rec:      # warned once, at compile time
        warnings.simplefilter("always")
        assert float(f(x)) == 3.0
    assert not _donation_warnings(rec)
    jx = jnp_ref.arange(3.0)
    with pytest.warns(UserWarning, match="donated buffers were not usable"):
        jax.jit(lambda x: x.sum(), donate_argnums=0)(jx)
    assert not jx.is_deleted()


def test_donating_non_arrays_and_the_same_array_twice():
    f = xform.jit(lambda x, y: x * 2 + y, donate_argnums=0)
    y = xnp.ones(3)
    # a NumPy array or a Python scalar has no buffer of the caller's to give up
    host = np.arange(3, dtype=np.float32)
    np.testing.assert_allclose(np.asarray(f(host, y)), [1.0, 3.0, 5.0])
    np.testing.assert_allclose(host, [0.0, 1.0, 2.0])
    s = xform.jit(lambda x: x * 2, donate_argnums=0)
    for _ in range(3):   # the cached buffer of the scalar 2.0 must not be donated
        assert float(s(2.0)) == 4.0
    assert float(xnp.asarray(1.0) * 2.0) == 2.0
    # the same array as a donated and a plain argument: a clear error, nothing deleted
    x = xnp.arange(3.0)
    with pytest.raises(ValueError, match="donated, but the same array is also passed"):
        f(x, x)
    assert not x.is_deleted()
    np.testing.assert_allclose(np.asarray(f(x, y)), [1.0, 3.0, 5.0])
    # under another transform donation does not apply (as in JAX): x stays usable
    x = xnp.arange(3.0)
    g = xform.grad(lambda a: f(a, y).sum())(x)
    np.testing.assert_allclose(np.asarray(g), [2.0, 2.0, 2.0])
    assert not x.is_deleted()


def test_deleted_array_is_a_clear_error():
    x = xnp.ones(3)
    x.delete()
    assert x.is_deleted()
    with pytest.raises(xform.core.DeletedArrayError, match=r"deleted with Array.delete\(\)"):
        x * 2
    x.delete()   # deleting twice is harmless
    # an array a jitted function captured, donated to another one afterwards
    w = xnp.arange(3.0)
    f = xform.jit(lambda v: v * w)
    f(xnp.ones(3))
    xform.jit(lambda a: a + 1, donate_argnums=0)(w)
    with pytest.raises(xform.core.DeletedArrayError, match="captured array.*deleted"):
        f(xnp.ones(3))


@pytest.mark.parametrize("option", ["in_shardings", "out_shardings"])
def test_jit_shardings_of_the_wrong_type_are_refused(option):
    with pytest.raises(TypeError, match=f"{option}.*int"):
        xform.jit(lambda x: x, **{option: 0})
    with pytest.raises(TypeError, match=f"{option}.*int"):
        xform.jit(**{option: 0})(lambda x: x)


@pytest.mark.parametrize("option", ["device", "backend"])
def test_unimplemented_jit_options_are_refused(option):
    value = xform.devices()[0] if option == "device" else "cpu"
    with pytest.raises(NotImplementedError, match=option):
        xform.jit(lambda x: x, **{option: value})
    with pytest.raises(NotImplementedError, match=option):
        xform.jit(**{option: value})(lambda x: x)
    xform.jit(lambda x: x, **{option: None})   # the default is accepted


def test_keep_unused_and_inline_are_honoured():
    """xform never prunes arguments and always inlines a nested jit: both values of
    keep_unused and inline describe what it does already."""
    for kw in ({"keep_unused": True}, {"keep_unused": False}, {"inline": True},
               {"inline": False}):
        f = xform.jit(lambda x, unused: x + 1, **kw)
        np.testing.assert_allclose(np.asarray(f(xnp.ones(2), xnp.ones(5))), [2.0, 2.0])
        assert len(f.lower(xnp.ones(2), xnp.ones(5)).jaxpr.jaxpr.invars) == 2


def test_cache_size_knob_bounds_every_cache():
    from primitives import lru
    from xform.core import trace as xcore
    before = xform.config.read("xform_cache_size")
    try:
        xform.config.update("xform_cache_size", 8)
        f = xform.jit(lambda x: x + 1)
        for n in range(1, 30):
            f(xnp.ones(n))
            xnp.ones(n) * 3.0
        assert len(f._cache) <= 8 and len(f._fast_ids) <= 8
        assert len(xcore._eager_cache) <= 8 and len(xcore._shape_cache) <= 8
        assert all(len(c) <= 8 for c in lru._caches)
        np.testing.assert_allclose(np.asarray(f(xnp.ones(1))), [2.0])   # still right
        xform.clear_caches()
        assert len(f._cache) == 0 and len(xcore._eager_cache) == 0
        np.testing.assert_allclose(np.asarray(f(xnp.ones(1))), [2.0])
        with pytest.raises(ValueError):
            xform.config.update("xform_cache_size", 0)
    finally:
        xform.config.update("xform_cache_size", before)


def test_lru_evicts_oldest_and_get_refreshes():
    from primitives.lru import LRU, limit, set_limit
    before = limit()
    try:
        set_limit(8)
        c = LRU("test")
        for i in range(8):
            c.put(i, i)
        assert c.get(0) == 0          # 0 is now the youngest
        c.put(8, 8)   # over the limit: the one over it and the oldest quarter (2) go
        assert list(c.data) == [4, 5, 6, 7, 0, 8]
        assert c.get(1) is None and 0 in c
    finally:
        set_limit(before)


def test_device_put_may_alias_and_donate():
    x = xnp.arange(3.0)
    assert xform.device_put(x) is x
    y = xform.device_put(x, may_alias=False)
    assert y is not x and not x.is_deleted()
    np.testing.assert_allclose(np.asarray(y), np.asarray(x))
    z = xform.device_put(x, donate=True)          # a permission, as in JAX: x stays valid
    np.testing.assert_allclose(np.asarray(z), [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="may_alias and donate"):
        xform.device_put(x, may_alias=True, donate=True)


def test_static_args_map_between_names_and_positions_as_jax():
    """static_argnums and static_argnames each complete the other through the signature,
    so a static parameter is static whether passed by position or by name (JAX's rule);
    an index past the positional arguments given is not static for that call."""
    def f(x, n, scale=2):
        return x * n * scale if n > 2 else x

    for lib, np_ in ((jax, jnp_ref), (xform, xnp)):
        outs = [lib.jit(f, static_argnames="n")(np_.ones(2), 3),
                lib.jit(f, static_argnums=1)(np_.ones(2), n=3),
                lib.jit(f, static_argnums=(1, 2))(np_.ones(2), 3),
                lib.jit(f, static_argnames=("n", "scale"))(np_.ones(2), n=1)]
        if lib is jax:
            want = [np.asarray(o) for o in outs]
        else:
            for o, w in zip(outs, want):
                np.testing.assert_array_equal(np.asarray(o), w)
    for kw in (dict(static_argnames="m"), dict(static_argnums=5)):
        with pytest.raises(ValueError):
            jax.jit(f, **kw)(jnp_ref.ones(2), 3)
        with pytest.raises(ValueError, match="static_argn"):
            xform.jit(f, **kw)


def test_x64_is_xforms_own_switch():
    """With only xform's x64 on (JAX's flag off), float64/int64 arrays are made, moved and
    computed with: jaxlib is told the dtype is already decided, instead of narrowing it
    by JAX's flag (issue 16)."""
    import jax
    import xform.numpy as xnp
    assert not jax.config.jax_enable_x64
    before = xform.config.read("jax_enable_x64")
    xform.config.update("jax_enable_x64", True)
    try:
        z = xnp.zeros(2)
        assert z.dtype == np.float64 and np.asarray(z).dtype == np.float64
        assert float(xform.jit(lambda x: x + 1e-12)(xnp.ones(2))[0]) == 1.0 + 1e-12
        assert (xnp.arange(3) * 2).dtype == np.int64
        assert xform.random.normal(xform.random.PRNGKey(0), (2,)).dtype == np.float64
        np.testing.assert_allclose(np.asarray(xnp.linalg.solve(xnp.eye(2), xnp.ones(2))), 1.0)
    finally:
        xform.config.update("jax_enable_x64", before)


def test_disable_jit_runs_the_python_op_by_op():
    """Inside disable_jit a jitted function sees concrete values (print, if x > 0), also one
    called before (its fast-call table is emptied); after it, jit traces again."""
    seen = []

    @xform.jit
    def f(x):
        seen.append(type(x).__name__)
        return x * 2

    @xform.jit
    def g(x):
        return x * 2 if float(x.sum()) > 0 else -x
    x = xnp.ones(3)
    f(x)
    f(x)
    with xform.disable_jit():
        np.testing.assert_allclose(np.asarray(f(x)), 2.0)
        np.testing.assert_allclose(np.asarray(g(-x)), 1.0)
    f(x)
    assert seen == ["Tracer", "Array"], seen
    with pytest.raises(xform.ConcretizationError):
        g(-x)
    assert xform.jacobian is xform.jacrev


def test_ensure_compile_time_eval_runs_concrete_operations_while_tracing():
    """As jax.ensure_compile_time_eval: inside it, operations on known values give Arrays
    that Python can read under jit; traced values are still staged."""
    import jax

    def f(m, jit, ctx):
        def g(x):
            with ctx():
                n = int(m.sum(m.arange(4)))          # concrete: readable by Python
                y = m.sin(np.float32(3.0)) * 2
                z = x * y                             # traced: staged as usual
            return z + n
        return jit(g)
    got = f(xnp, xform.jit, xform.ensure_compile_time_eval)(np.float32(1.5))
    want = f(jax.numpy, jax.jit, jax.ensure_compile_time_eval)(np.float32(1.5))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    with pytest.raises(xform.ConcretizationError):
        xform.jit(lambda x: int(xnp.sum(xnp.arange(4)) + x))(1)


def test_named_scope_checks_its_name_and_nests():
    with xform.named_scope("outer"):
        with xform.named_scope("inner"):
            assert xform.named_scope.current() == "outer/inner"
            y = xform.jit(lambda x: x * 2)(np.float32(2.0))
    assert xform.named_scope.current() == "" and float(y) == 4.0
    with pytest.raises(TypeError, match="named_scope: name must be a string"):
        xform.named_scope(3)


def test_lowered_args_info_matches_jax():
    def f(x, n, y=1.0):
        return (x * n + y).sum()
    args = (np.ones(3, np.float32), 2)
    got = xform.jit(f, static_argnums=1, donate_argnums=0).lower(*args, y=np.float32(2))
    want = jax.jit(f, static_argnums=1, donate_argnums=0).lower(*args, y=np.float32(2))
    g, w = got.args_info, want.args_info
    assert jax.tree_util.tree_structure(g) == jax.tree_util.tree_structure(w)
    for a, b in zip(jax.tree_util.tree_leaves(g), jax.tree_util.tree_leaves(w)):
        assert (a.shape, a.dtype, a.donated) == (b.shape, b.dtype, b.donated)
