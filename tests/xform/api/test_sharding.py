"""Sharded arrays and sharded ``jit`` over 8 virtual CPU devices, against JAX and against
the same program on one device.  Every check runs in the 8-device worker
(tests/multidevice.py); this process keeps its single device."""
import numpy as np
import pytest

import xform
from xform.sharding import Mesh, NamedSharding, P, ShardingError, make_mesh

from multidevice import devices8  # noqa: F401  (the fixture)

SETUP = """
from xform.sharding import Mesh, NamedSharding, P, ShardingError, make_mesh
from jax.sharding import Mesh as JMesh, NamedSharding as JNS, PartitionSpec as JP
mesh = make_mesh((2, 4), ("x", "y"))
jmesh = JMesh(np.array(jax.devices()).reshape(2, 4), ("x", "y"))
rng = np.random.default_rng(0)
A = rng.standard_normal((8, 16)).astype(np.float32)
B = rng.standard_normal((16, 8)).astype(np.float32)
def ns(*spec):
    return NamedSharding(mesh, P(*spec))
def jns(*spec):
    return JNS(jmesh, JP(*spec))
def spec_of(x):
    s = x.sharding
    return tuple(s.spec) if hasattr(s, "spec") else s
"""


@pytest.fixture(scope="module")
def md(devices8):
    devices8(SETUP)
    return devices8


def test_main_process_keeps_one_device():
    assert len(xform.devices()) == 1


def test_device_put_lays_out_shards_as_jax(md):
    md("""
    for spec in [("x",), ("x", "y"), (None, "y"), (("x", "y"),), ("y", "x"), ()]:
        x = xf.device_put(A, ns(*spec))
        j = jax.device_put(A, jns(*spec))
        assert x.sharding == ns(*spec) and x.shape == A.shape
        assert np.array_equal(np.asarray(x), A)
        assert len(x.addressable_shards) == 8
        want = {d.id: idx for d, idx in j.sharding.devices_indices_map(A.shape).items()}
        for sh in x.addressable_shards:
            assert want[sh.device.id] == sh.index, (spec, sh)
            assert np.array_equal(np.asarray(sh.data), A[sh.index])
        assert x.sharding.shard_shape(A.shape) == j.sharding.shard_shape(A.shape)
        assert x.is_fully_addressable
        assert x.is_fully_replicated == j.is_fully_replicated
    """)


def test_sharded_jit_equals_one_device_and_jax(md):
    md("""
    f = lambda a, b: xnp.tanh(a @ b) * 2.0 + a.sum()
    jf = lambda a, b: jnp.tanh(a @ b) * 2.0 + a.sum()
    ins, out = (ns("x", None), ns(None, "y")), ns("x", "y")
    g = xf.jit(f, in_shardings=ins, out_shardings=out)
    r = g(A, B)
    assert r.sharding == out
    want = jax.jit(jf, in_shardings=(jns("x", None), jns(None, "y")),
                   out_shardings=jns("x", "y"))(A, B)
    close(np.asarray(r), np.asarray(want), 1e-5)
    close(np.asarray(r), np.asarray(xf.jit(f)(A, B)), 1e-5)
    text = g.lower(A, B).as_text()
    assert 'sdy.mesh @mesh = <["x"=2, "y"=4]>' in text
    assert 'mhlo.num_partitions = 8' in text
    assert '#sdy.sharding<@mesh, [{"x"}, {}]>' in text
    assert '#sdy.sharding<@mesh, [{}, {"y"}]>' in text
    assert '#sdy.sharding<@mesh, [{"x"}, {"y"}]>' in text
    c = g.lower(A, B).compile()
    assert c.output_shardings == out
    assert c.input_shardings[0] == (ins[0], ins[1])
    """)


def test_committed_inputs_propagate(md):
    md("""
    x = xf.device_put(A, ns("x", "y"))
    g = xf.jit(lambda a: (a.sum(0), a.T, a * 2))
    s0, t, d = g(x)
    jx = jax.device_put(A, jns("x", "y"))
    js0, jt, jd = jax.jit(lambda a: (a.sum(0), a.T, a * 2))(jx)
    for mine, theirs in [(s0, js0), (t, jt), (d, jd)]:
        close(np.asarray(mine), np.asarray(theirs), 1e-5)
        assert spec_of(mine) == tuple(theirs.sharding.spec), (spec_of(mine), theirs.sharding)
    # the signature includes the layout: another sharding compiles again
    y = xf.device_put(A, ns("y"))
    assert spec_of(g(y)[2]) == ("y",)
    # an unsharded argument next to a sharded one is laid out to match
    h = xf.jit(lambda a, b: a + b)
    r = h(x, A)
    assert spec_of(r) == ("x", "y") and np.allclose(np.asarray(r), 2 * A)
    """)


def test_sharded_calls_take_the_fast_path(md):
    """Repeated calls with arrays already laid out as the program takes them skip the
    signature work (aval-identity fast path), and keep their layouts."""
    md("""
    g = xf.jit(lambda a, c: a * 2 + c, in_shardings=(ns("x"), ns()))
    c = xf.device_put(np.float32(1), ns())
    r = xf.device_put(A, ns("x"))
    r = g(g(r, c), c)     # from here on, r is an output of the program
    slow_calls = []
    slow = g._call_slow
    g._call_slow = lambda *a: slow_calls.append(1) or slow(*a)
    for _ in range(3):
        r = g(r, c)
        assert spec_of(r) == ("x",)
    assert g.trace_count == 1 and not slow_calls, (g.trace_count, len(slow_calls))
    close(np.asarray(r), A * 32 + 31, 1e-5)     # five calls
    y = g(xf.device_put(A, ns("y")), c)           # another layout: copied into place
    assert spec_of(y) == ("x",) and np.allclose(np.asarray(y), A * 2 + 1)
    """)


def test_donating_sharded_arguments(md):
    md("""
    step = xf.jit(lambda w, g: w - 0.1 * g, donate_argnums=0,
                  in_shardings=(ns("x", "y"), ns("x", "y")), out_shardings=ns("x", "y"))
    w, g = xf.device_put(A, ns("x", "y")), xf.device_put(A, ns("x", "y"))
    for _ in range(3):
        old, w = w, step(w, g)
        assert old.is_deleted() and not g.is_deleted()
    close(np.asarray(w), A * 0.7, 1e-6)
    total = xf.jit(lambda a: a + a.sum(), in_shardings=ns("x", "y"))   # has a collective
    total(A).delete()       # the run the next one waits for was deleted: nothing to wait on
    close(np.asarray(total(A)), A + A.sum(), 1e-4)
    try:
        old + 1
        raise AssertionError("no error")
    except xf.core.DeletedArrayError as e:
        assert "donated to jit(<lambda>)" in str(e), e
    """)


def test_eager_ops_on_sharded_arrays(md):
    md("""
    x = xf.device_put(A, ns("x", "y"))
    y = xnp.sin(x) * 3 + 1
    close(np.asarray(y), np.sin(A) * 3 + 1, 1e-6)
    assert spec_of(y) == ("x", "y")
    z = x @ xf.device_put(B, ns(None, "y"))
    close(np.asarray(z), A @ B, 1e-4)
    assert len(z.devices()) == 8
    assert float(x.sum()) == pytest.approx(float(A.sum()), rel=1e-5)
    """.replace("pytest.approx", "__import__('pytest').approx"))


def test_with_sharding_constraint(md):
    md("""
    wsc = xf.lax.with_sharding_constraint
    f = xf.jit(lambda a: wsc(a * 2, ns("y")) + 1)
    r = f(A)
    assert spec_of(r) == ("y",) and np.allclose(np.asarray(r), A * 2 + 1)
    assert 'sdy.sharding_constraint' in f.lower(A).as_text()
    e = wsc(xnp.asarray(A), ns(None, "y"))           # eager: moves the array
    assert spec_of(e) == (None, "y") and np.array_equal(np.asarray(e), A)
    with mesh:                                        # a bare spec inside `with mesh:`
        r2 = xf.jit(lambda a: wsc(a, P("x")))(A)
    assert spec_of(r2) == ("x",)
    # under vmap the batch dimension is not split; under grad the cotangent is constrained
    v = xf.vmap(lambda a: wsc(a, ns("y")))(A.reshape(8, 16))
    assert v.sharding.spec == P(None, "y")
    gj = xf.make_jaxpr(xf.grad(lambda a: (wsc(a, ns("x")) ** 2).sum()))(A)
    assert str(gj).count("sharding_constraint") == 2, gj
    g = xf.jit(xf.grad(lambda a: (wsc(a, ns("x")) ** 2).sum()))(A)
    close(np.asarray(g), 2 * A, 1e-6)
    """)


def test_sharding_constraint_rules(md):
    """JVP against finite differences, transpose by the dot-product test, batching
    against a loop: the three rules of the sharding_constraint meta-operator."""
    md("""
    wsc = xf.lax.with_sharding_constraint
    f = lambda a: xnp.sin(wsc(a * a, ns("x", "y")))
    _, jt = xf.jvp(f, (A,), (B.T.copy(),))
    eps = 1e-3
    fd = (np.asarray(f(A + eps * B.T)) - np.asarray(f(A - eps * B.T))) / (2 * eps)
    close(np.asarray(jt), fd, 2e-2)
    lin = lambda a: wsc(a, ns("y"))
    ct = rng.standard_normal(A.shape).astype(np.float32)
    T, = xf.linear_transpose(lin, A)(ct)
    close(float((ct * np.asarray(lin(B.T.copy()))).sum()), float((np.asarray(T) * B.T).sum()), 1e-4)
    assert "sharding_constraint" in str(xf.make_jaxpr(xf.linear_transpose(lin, A))(ct))
    xs = rng.standard_normal((3, 8, 16)).astype(np.float32)
    g = lambda a: wsc(xnp.cos(a), ns("x")) * 2
    got = xf.jit(xf.vmap(g, in_axes=1, out_axes=2))(xs.transpose(1, 0, 2))
    want = np.stack([np.asarray(g(xs[i])) for i in range(3)], 2)
    close(np.asarray(got), want, 1e-6)
    """)


def test_gradients_through_sharded_jit_equal_one_device(md):
    md("""
    W1 = rng.standard_normal((16, 32)).astype(np.float32) * 0.1
    W2 = rng.standard_normal((32, 4)).astype(np.float32) * 0.1
    X, Y = A, rng.standard_normal((8, 4)).astype(np.float32)
    def loss(p, x, y):
        h = xnp.tanh(x @ p[0])
        return xnp.mean((h @ p[1] - y) ** 2)
    step = xf.jit(xf.value_and_grad(loss),
                  in_shardings=((ns(None, "y"), ns("y", None)), ns("x"), ns("x")))
    l, (g1, g2) = step((W1, W2), X, Y)
    l0, (h1, h2) = xf.value_and_grad(loss)((W1, W2), X, Y)
    close(float(l), float(l0), 1e-5)
    close(np.asarray(g1), np.asarray(h1), 1e-4)
    close(np.asarray(g2), np.asarray(h2), 1e-4)
    assert len(g1.devices()) == 8
    """)


FAMILIES = {
    "elementwise": ("lambda a: xnp.exp(xnp.sin(a)) - xnp.abs(a) ** 1.5",
                    "lambda a: jnp.exp(jnp.sin(a)) - jnp.abs(a) ** 1.5"),
    "reduce": ("lambda a: (a.max(0), a.sum(1), xnp.argmax(a, 1))",
               "lambda a: (a.max(0), a.sum(1), jnp.argmax(a, 1))"),
    "dot": ("lambda a: a @ a.T", "lambda a: a @ a.T"),
    "structural": ("lambda a: xnp.concatenate([a[:, ::-1], xnp.pad(a, ((0, 0), (1, 1)))[:, 2:]], 0).reshape(4, -1)",
                   "lambda a: jnp.concatenate([a[:, ::-1], jnp.pad(a, ((0, 0), (1, 1)))[:, 2:]], 0).reshape(4, -1)"),
    "gather_scatter": ("lambda a: a.at[xnp.array([1, 3, 5]), 2:6].add(1.0)[xnp.array([7, 0, 3])]",
                       "lambda a: a.at[jnp.array([1, 3, 5]), 2:6].add(1.0)[jnp.array([7, 0, 3])]"),
    "cumulative_sort": ("lambda a: (xnp.cumsum(a, 1), xnp.sort(a, 0))",
                        "lambda a: (jnp.cumsum(a, 1), jnp.sort(a, 0))"),
    "control_flow": ("lambda a: xf.lax.scan(lambda c, r: (c * 0.5 + r, c.sum()), a[0], a)",
                     "lambda a: jax.lax.scan(lambda c, r: (c * 0.5 + r, c.sum()), a[0], a)"),
    "while_cond": ("lambda a: xf.lax.while_loop(lambda c: c[1] < 3, lambda c: (xf.lax.cond(c[1] % 2 == 0, lambda v: v * 2, lambda v: v - 1, c[0]), c[1] + 1), (a, 0))[0]",
                   "lambda a: jax.lax.while_loop(lambda c: c[1] < 3, lambda c: (jax.lax.cond(c[1] % 2 == 0, lambda v: v * 2, lambda v: v - 1, c[0]), c[1] + 1), (a, 0))[0]"),
    "conv": ("lambda a: xf.lax.conv_general_dilated(a[None, None], xnp.ones((1, 1, 3, 3)), (1, 1), 'SAME')",
             "lambda a: jax.lax.conv_general_dilated(a[None, None], jnp.ones((1, 1, 3, 3)), (1, 1), 'SAME')"),
    "fft": ("lambda a: xnp.abs(xnp.fft.rfft(a, axis=1))", "lambda a: jnp.abs(jnp.fft.rfft(a, axis=1))"),
    "linalg": ("lambda a: xnp.linalg.solve(a[:, :8] @ a[:, :8].T + 8 * xnp.eye(8), a[:, 8:])",
               "lambda a: jnp.linalg.solve(a[:, :8] @ a[:, :8].T + 8 * jnp.eye(8), a[:, 8:])"),
    "checkpoint_custom": ("lambda a: xf.grad(lambda b: xf.checkpoint(lambda c: (xf.nn.relu(c) ** 2).sum())(b))(a)",
                          "lambda a: jax.grad(lambda b: jax.checkpoint(lambda c: (jax.nn.relu(c) ** 2).sum())(b))(a)"),
    "random": ("lambda a: a + xf.random.normal(xf.random.key(0), a.shape)",
               "lambda a: a + jax.random.normal(jax.random.key(0), a.shape)"),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_sharded_equals_unsharded(md, family):
    mine, theirs = FAMILIES[family]
    md(f"""
    f, jf = {mine}, {theirs}
    for spec in [("x", "y"), ("y",), (None, ("x", "y"))]:
        got = xf.jit(f, in_shardings=ns(*spec))(A)
        one = xf.jit(f)(A)
        want = jax.jit(jf, in_shardings=jns(*spec))(A)
        for g, o, w in zip(xf.tree_util.tree_leaves(got), xf.tree_util.tree_leaves(one),
                           jax.tree_util.tree_leaves(want)):
            assert g.dtype == w.dtype and g.shape == w.shape, ({family!r}, g.dtype, w.dtype)
            close(np.asarray(g), np.asarray(o), 1e-5)
            close(np.asarray(g), np.asarray(w), 1e-4)
    """)


def test_arrays_committed_to_another_device(md):
    """device_put(x, device) commits x there: eager ops and jit run on that device."""
    md("""
    d3 = xf.devices()[3]
    x = xf.device_put(np.arange(4.0, dtype=np.float32), d3)
    assert x.committed and x.sharding.device_set == {d3}
    y = x * 2 + 1
    assert y.sharding.device_set == {d3} and np.array_equal(np.asarray(y), [1, 3, 5, 7])
    f = xf.jit(lambda a: (a.sum() * 2, a + 1))
    s, t = f(x)
    assert s.sharding.device_set == {d3} and float(s) == 12.0
    assert f(np.ones(4, np.float32))[0].sharding.device_set == {xf.devices()[0]}
    z = xf.device_put(np.ones(4, np.float32), xf.devices()[5])
    try:
        x + z
        raise AssertionError("no error")
    except ValueError as e:
        assert "committed to different devices" in str(e), e
    """)


def test_make_array_functions(md):
    md("""
    s = ns("x", "y")
    a = xf.make_array_from_callback(A.shape, s, lambda idx: A[idx])
    assert a.sharding == s and np.array_equal(np.asarray(a), A)
    b = xf.make_array_from_single_device_arrays(A.shape, s, [sh.data for sh in a.addressable_shards][::-1])
    assert b.sharding == s and np.array_equal(np.asarray(b), A)
    c = xf.make_array_from_process_local_data(ns("x"), A)
    assert np.array_equal(np.asarray(c), A) and c.sharding == ns("x")
    try:
        xf.make_array_from_callback(A.shape, s, lambda idx: A)
        raise AssertionError("no error")
    except ValueError as e:
        assert "callback returned shape (8, 16)" in str(e), e
    """)


def test_bad_specs_raise_clear_errors(md):
    md("""
    import re
    def raises(fn, *pieces):
        try:
            fn()
        except (ValueError, TypeError) as e:
            for p in pieces:
                assert p in str(e), (p, str(e))
            return
        raise AssertionError("no error")
    raises(lambda: NamedSharding(mesh, P("z")), "'z'", "not in Mesh")
    raises(lambda: xf.device_put(A, ns("x", "y", None)), "PartitionSpec('x', 'y', None)",
           "rank 2")
    raises(lambda: xf.device_put(np.ones((6, 8)), ns("y")), "dimension 0", "(6, 8)",
           "not divisible by 4")
    raises(lambda: xf.jit(lambda a: a, in_shardings=ns("y"))(np.ones((6, 8))), "argument leaf 0",
           "f32[6,8]", "not divisible by 4")
    raises(lambda: xf.jit(lambda a: a, in_shardings=P("x"))(A), "needs a mesh")
    raises(lambda: xf.jit(lambda a, b: a, in_shardings=(ns("x"),))(A, A), "1 entries", "2 positional")
    raises(lambda: P("x", "x"), "'x' is used more than once")
    raises(lambda: make_mesh((4, 4), ("a", "b")), "needs 16 devices", "8 are available")
    raises(lambda: xf.lax.with_sharding_constraint(A, P("x")), "needs a mesh", "<snippet>")
    """)


# --- the same objects in this (one-device) process ------------------------------------------

def test_vmap_spmd_axis_name_is_refused():
    with pytest.raises(NotImplementedError, match="spmd_axis_name"):
        xform.vmap(lambda x: x, spmd_axis_name="x")


def test_partition_spec_and_mesh_basics():
    d = xform.devices()[0]
    mesh = Mesh(np.array([d]), ("i",))
    assert mesh.shape == {"i": 1} and mesh.size == 1 and mesh.axis_names == ("i",)
    assert P("i", None) == ("i", None) and P(("a", "b")).axis_names() == ("a", "b")
    assert NamedSharding(mesh, P("i")) == NamedSharding(mesh, P("i"))
    assert hash(NamedSharding(mesh, P("i"))) == hash(NamedSharding(mesh, P("i")))
    with pytest.raises(ShardingError, match="axis names must be distinct"):
        Mesh(np.array([[d]]), ("i", "i"))
    x = xform.numpy.ones(3)
    assert x.sharding.device_set == {d} and not x.committed
    assert make_mesh((1,), ("a",)).device_list == [d]


def test_lower_takes_sharded_shape_dtype_structs(md):
    """``jit(f).lower(ShapeDtypeStruct(..., sharding=...))`` compiles for that layout, as
    JAX: the compiled program's input shardings are the given ones, and it runs on
    arrays laid out that way (and equals the one-device result)."""
    md("""
    f = lambda a, b: xnp.tanh(a @ b) * 2.0
    sa = xf.ShapeDtypeStruct(A.shape, np.float32, sharding=ns("x", None))
    sb = xf.ShapeDtypeStruct(B.shape, np.float32, sharding=ns(None, "y"))
    comp = xf.jit(f).lower(sa, sb).compile()
    ins, _ = comp.input_shardings
    assert [spec_of_s(s) for s in ins] == [("x", None), (None, "y")], ins
    out = comp(xf.device_put(A, ns("x", None)), xf.device_put(B, ns(None, "y")))
    np.testing.assert_allclose(np.asarray(out), np.tanh(A @ B) * 2.0, rtol=1e-5, atol=1e-5)
    try:
        xf.jit(f).lower(xf.ShapeDtypeStruct((7, 16), np.float32, sharding=ns("x", None)), sb)
    except ValueError as e:
        assert "argument 0" in str(e) and "7" in str(e), e
    else:
        raise AssertionError("a shape the mesh does not divide must be refused")
    """.replace("spec_of_s(s)", "tuple(s.spec)"))
