"""``shard_map`` and ``pmap`` over 8 virtual CPU devices (a 2x4 mesh), against
``jax.shard_map`` and against the same computation on one device: collectives inside,
grad / jvp / vmap / jit of it, partially manual meshes, the replication check and the
errors.  Multi-device checks run in the 8-device worker (tests/multidevice.py); the
IR-level checks at the end run here, over a one-device mesh."""
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from xform.sharding import Mesh, P

from multidevice import devices8  # noqa: F401  (the fixture)

SETUP = """
from xform.sharding import Mesh, P
from jax.sharding import Mesh as JMesh, PartitionSpec as JP
mesh = Mesh(np.array(xf.devices()).reshape(2, 4), ("x", "y"))
jmesh = JMesh(np.array(jax.devices()).reshape(2, 4), ("x", "y"))
rng = np.random.default_rng(0)
A = rng.standard_normal((8, 16)).astype(np.float32)
B = rng.standard_normal((16, 8)).astype(np.float32)
xsm = lambda f, i, o, **kw: xf.shard_map(f, mesh=mesh, in_specs=i, out_specs=o, **kw)
jsm = lambda f, i, o, **kw: jax.shard_map(f, mesh=jmesh, in_specs=i, out_specs=o, **kw)
def both(make, args, tol=1e-5, **kw):
    '''make(np_module, lax, shard_map, P) -> function; run it with xform and with JAX.'''
    mine = make(xnp, xf.lax, xsm, P)(*args)
    theirs = make(jnp, jax.lax, jsm, JP)(*args)
    for m, t in zip(jax.tree_util.tree_leaves(mine), jax.tree_util.tree_leaves(theirs)):
        assert np.shape(m) == np.shape(t), (np.shape(m), np.shape(t))
        close(np.asarray(m), np.asarray(t), tol)
    return mine
def raises(fn, *needles):
    try:
        fn()
    except Exception as e:
        msg = f"{type(e).__name__}: {e}"
        for n in needles:
            assert n in msg, (n, msg)
        return msg
    raise AssertionError("no error raised")
"""


@pytest.fixture(scope="module")
def md(devices8):
    devices8(SETUP)
    return devices8


def test_local_computation_equals_jax_and_one_device(md):
    md("""
    def make(np_, lax, sm, P):
        return sm(lambda a, b: np_.tanh(a @ b) * 2.0 + a.sum(), (P("x", None), P(None, "y")),
                  P("x", "y"), check_vma=False)
    r = both(make, (A, B))
    assert r.shape == (8 * 1, 8) and r.sharding.spec == P("x", "y")
    # per device: rows of A split over x, columns of B over y, and a.sum() of the local rows
    want = np.concatenate([np.tanh(A[i * 4:(i + 1) * 4] @ B) * 2 + A[i * 4:(i + 1) * 4].sum()
                           for i in range(2)])
    close(np.asarray(r), want, 1e-5)
    # pytree arguments and outputs; a spec prefix covers a whole subtree
    def make2(np_, lax, sm, P):
        return sm(lambda d, c: {"s": d["w"] * c, "t": (d["b"] + 1,)},
                  ({"w": P("x"), "b": P()}, P()), {"s": P("x"), "t": P()})
    both(make2, ({"w": A, "b": B}, np.float32(3.0)))
    # every layout of one operand
    for spec in [("x",), ("y",), (None, "y"), ("x", "y"), ("y", "x"), (("x", "y"),),
                 (None, ("y", "x")), ()]:
        both(lambda np_, lax, sm, P: sm(lambda a: np_.sin(a) * 2, P(*spec), P(*spec)), (A,))
    """)


def test_collectives_equal_jax(md):
    md("""
    cases = {
        "psum": lambda np_, lax: lambda a: lax.psum(a, "y"),
        "psum2": lambda np_, lax: lambda a: lax.psum(a, ("x", "y")),
        "pmean": lambda np_, lax: lambda a: lax.pmean(a, "x"),
        "pmax": lambda np_, lax: lambda a: lax.pmax(a, "y") - lax.pmin(a, "y"),
        "axis_index": lambda np_, lax: lambda a: a * lax.axis_index("x") + lax.axis_index("y"),
        "all_gather": lambda np_, lax: lambda a: lax.all_gather(a, "y", axis=1, tiled=True)[:, :4],
        "all_gather_stack": lambda np_, lax: lambda a: lax.all_gather(a, "x").sum(0),
        "psum_in_loop": lambda np_, lax: lambda a: lax.fori_loop(
            0, 3, lambda i, c: lax.psum(c, "y") * 0.25 + 1.0, a),
    }
    for name, body in cases.items():
        both(lambda np_, lax, sm, P: sm(body(np_, lax), P("x", "y"), P("x", "y"),
                                        check_vma=False), (A,))
    # replicated outputs after a reduction (the replication check accepts them)
    both(lambda np_, lax, sm, P: sm(lambda a: lax.psum(a.sum(0), "x"), P("x"), P()), (A,))
    both(lambda np_, lax, sm, P: sm(lambda a: lax.psum(a, ("x", "y")), P("x", "y"), P()),
         (A,))
    """)


def test_more_collectives_equal_jax(md):
    md("""
    perm = [(i, (i + 1) % 4) for i in range(4)]
    cases = {
        "ppermute": lambda lax: lambda a: lax.ppermute(a, "y", perm),
        "psum_scatter": lambda lax: lambda a: lax.psum_scatter(a, "y", scatter_dimension=0,
                                                               tiled=True),
        "all_to_all": lambda lax: lambda a: lax.all_to_all(a, "y", 0, 1, tiled=True),
    }
    for name, body in cases.items():
        make = lambda np_, lax, sm, P: sm(body(lax), P(None, "y"), P(None, "y"),
                                          check_vma=False)
        both(make, (A,))
        fx, fj = make(xnp, xf.lax, xsm, P), make(jnp, jax.lax, jsm, JP)
        gx = xf.grad(lambda a: (xnp.sin(fx(a)) ** 2).sum())(A)
        gj = jax.grad(lambda a: (jnp.sin(fj(a)) ** 2).sum())(A)
        close(np.asarray(gx), np.asarray(gj), 1e-5)
    """)


def test_data_parallel_grad_equals_one_device(md):
    md("""
    W = rng.standard_normal((16, 4)).astype(np.float32)
    def loss(np_, w, a):
        return ((np_.tanh(a @ w)) ** 2).mean()
    def make(np_, lax, sm, P):
        def step(w, a):
            return lax.pmean(loss(np_, w, a), ("x", "y"))
        return sm(step, (P(), P(("x", "y"))), P())
    val = both(make, (W, A))
    close(float(val), float(loss(np, W, A)), 1e-5)
    sm_loss = make(xnp, xf.lax, xsm, P)
    one = xf.grad(lambda w, a: loss(xnp, w, a))(W, A)
    for g in (xf.grad(sm_loss)(W, A), xf.jit(xf.grad(sm_loss))(W, A)):
        close(np.asarray(g), np.asarray(one), 1e-5)
    jg = jax.grad(make(jnp, jax.lax, jsm, JP))(W, A)
    close(np.asarray(xf.grad(sm_loss)(W, A)), np.asarray(jg), 1e-5)
    # gradients of sharded inputs, through collectives and replicated outputs
    def make2(np_, lax, sm, P):
        def f(a, b):
            h = lax.psum(a @ b, "y")                  # a: rows over x, cols over y
            return (np_.sin(h) * lax.all_gather(b, "y", axis=1, tiled=True)[:4, :1]).sum(1)
        return sm(f, (P("x", "y"), P("y")), P("x"), check_vma=False)
    fx, fj = make2(xnp, xf.lax, xsm, P), make2(jnp, jax.lax, jsm, JP)
    both(make2, (A, B))
    for argnums in (0, 1, (0, 1)):
        gx = xf.grad(lambda a, b: (fx(a, b) ** 2).sum(), argnums)(A, B)
        gj = jax.grad(lambda a, b: (fj(a, b) ** 2).sum(), argnums)(A, B)
        for m, t in zip(jax.tree_util.tree_leaves(gx), jax.tree_util.tree_leaves(gj)):
            close(np.asarray(m), np.asarray(t), 1e-4)
    """)


def test_jvp_and_vjp(md):
    md("""
    def make(np_, lax, sm, P):
        return sm(lambda a, b: (np_.sin(a) * b, lax.psum(a * a, "x")), (P("x", "y"), P()),
                  (P("x", "y"), P(None, "y")))
    fx, fj = make(xnp, xf.lax, xsm, P), make(jnp, jax.lax, jsm, JP)
    C = rng.standard_normal((4, 4)).astype(np.float32)
    tA, tC = np.ones_like(A), rng.standard_normal(C.shape).astype(np.float32)
    px, tx = xf.jvp(fx, (A, C), (tA, tC))
    pj, tj = jax.jvp(fj, (A, C), (tA, tC))
    for m, t in zip(list(px) + list(tx), list(pj) + list(tj)):
        close(np.asarray(m), np.asarray(t), 1e-5)
    ox, vx = xf.vjp(fx, A, C)
    oj, vj = jax.vjp(fj, A, C)
    cts = (np.ones_like(np.asarray(ox[0])), np.full(np.shape(ox[1]), 0.5, np.float32))
    for m, t in zip(vx(cts), vj(cts)):
        close(np.asarray(m), np.asarray(t), 1e-5)
    # under jit, and the linearized program
    px2, tx2 = xf.jit(lambda a, c, ta, tc: xf.jvp(fx, (a, c), (ta, tc)))(A, C, tA, tC)
    close(np.asarray(tx2[1]), np.asarray(tj[1]), 1e-5)
    """)


def test_vmap_of_shard_map(md):
    md("""
    X = rng.standard_normal((3, 8, 16)).astype(np.float32)
    def make(np_, lax, sm, P):
        return sm(lambda a, b: (lax.psum(a, "y") * b, a.sum()[None]), (P("x", "y"), P()),
                  (P("x", "y"), P(("x", "y"))), check_vma=False)
    fx, fj = make(xnp, xf.lax, xsm, P), make(jnp, jax.lax, jsm, JP)
    C = np.float32(2.0)
    for in_axes in [(0, None), (1, None), (2, None)]:
        Xa = np.moveaxis(X, 0, in_axes[0])
        mx = xf.vmap(fx, in_axes=in_axes)(Xa, C)
        mj = jax.vmap(fj, in_axes=in_axes)(Xa, C)
        for m, t in zip(mx, mj):
            close(np.asarray(m), np.asarray(t), 1e-5)
    # a loop over the batch gives the same
    loop = [np.asarray(fx(X[i], C)[0]) for i in range(3)]
    close(np.asarray(xf.vmap(fx, in_axes=(0, None))(X, C)[0]), np.stack(loop), 1e-5)
    # vmap under jit and grad of vmap
    close(np.asarray(xf.jit(xf.vmap(fx, in_axes=(0, None)))(X, C)[0]), np.stack(loop), 1e-5)
    gx = xf.grad(lambda x: xf.vmap(fx, in_axes=(0, None))(x, C)[0].sum())(X)
    gj = jax.grad(lambda x: jax.vmap(fj, in_axes=(0, None))(x, C)[0].sum())(X)
    close(np.asarray(gx), np.asarray(gj), 1e-5)
    """)


def test_jit_and_lowering(md):
    md("""
    f = xsm(lambda a: xf.lax.psum(a, "y") * 2, P("x", "y"), P("x", None))
    j = xf.jit(f)
    close(np.asarray(j(A)), np.asarray(jsm(lambda a: jax.lax.psum(a, "y") * 2, JP("x", "y"),
                                           JP("x", None))(A)), 1e-5)
    text = j.lower(A).as_text()
    assert 'sdy.mesh @mesh = <["x"=2, "y"=4]>' in text
    assert '"sdy.manual_computation"' in text and '"sdy.return"' in text
    assert 'in_shardings = #sdy.sharding_per_value<[<@mesh, [{"x"}, {"y"}]>]>' in text
    assert 'out_shardings = #sdy.sharding_per_value<[<@mesh, [{"x"}, {}]>]>' in text
    assert 'manual_axes = #sdy<manual_axes{"x", "y"}>' in text
    assert "^bb0(%1: tensor<4x4xf32>)" in text, text
    assert "mhlo.num_partitions = 8" in text
    # the result is the global array, laid out as out_specs says
    r = f(A)
    assert r.shape == (8, 4) and r.sharding.spec == P("x")
    # the same function called twice compiles once (shard_map outside jit runs through jit)
    assert np.array_equal(np.asarray(f(A)), np.asarray(r))
    # closures: a captured array enters replicated
    c = np.arange(16, dtype=np.float32)
    g = xsm(lambda a: a + c, P("x"), P("x"))
    close(np.asarray(g(A)), A + c, 1e-6)
    close(np.asarray(xf.jit(lambda a: g(a) * 2)(A)), (A + c) * 2, 1e-6)
    """)


def test_partially_manual_mesh(md):
    md("""
    for names in [{"x"}, {"y"}]:
        ax = next(iter(names))
        def make(np_, lax, sm, P, ax=ax, names=names):
            return sm(lambda a: lax.psum(np_.sin(a), ax), P(ax), P(), axis_names=names)
        both(make, (A,))
    text = xf.jit(xsm(lambda a: a * 2, P("x"), P("x"), axis_names={"x"})).lower(A).as_text()
    assert 'manual_axes = #sdy<manual_axes{"x"}>' in text
    assert '[{"x", ?}, {?}]' in text
    g = xf.grad(lambda a: xsm(lambda b: xf.lax.psum(xnp.sin(b), "x"), P("x"), P(),
                              axis_names={"x"})(a).sum())(A)
    close(np.asarray(g), np.cos(A), 1e-5)
    """)


def test_mesh_from_context_and_static_args(md):
    md("""
    with mesh:
        r = xf.shard_map(lambda a: a * 2, in_specs=P("x"), out_specs=P("x"))(A)
    close(np.asarray(r), A * 2, 1e-6)
    # None in in_specs: the argument reaches f as it is (a Python int here)
    h = xsm(lambda a, k: a * k, (P("x"), None), P("x"))
    close(np.asarray(h(A, 3)), A * 3, 1e-6)
    # decorator form
    @xf.shard_map(mesh=mesh, in_specs=P("y"), out_specs=P("y"))
    def dbl(a):
        return a + a
    close(np.asarray(dbl(B)), B * 2, 1e-6)
    """)


def test_replication_check(md):
    md("""
    # varying over x, claimed replicated: an error naming the spec and the axis (as JAX)
    raises(lambda: xsm(lambda a: a * 2, P("x"), P())(A), "out_specs", "PartitionSpec()",
           "'x'", "check_vma=False", "<snippet>")
    raises(lambda: jsm(lambda a: a * 2, JP("x"), JP())(A), "check_vma=False")
    # axis_index varies over its axis; psum over one axis leaves the other
    raises(lambda: xsm(lambda a: a + xf.lax.axis_index("y"), P("x"), P("x"))(A), "'y'")
    raises(lambda: xsm(lambda a: xf.lax.psum(a, "x"), P("x", "y"), P(None, None))(A), "'y'")
    xsm(lambda a: xf.lax.psum(a, "x"), P("x", "y"), P(None, "y"))(A)      # fine
    # through control flow
    raises(lambda: xsm(lambda a: xf.lax.fori_loop(0, 2, lambda i, c: c + a, xnp.zeros_like(a)),
                       P("x"), P())(A), "'x'")
    r = xsm(lambda a: xf.lax.fori_loop(0, 2, lambda i, c: c + xf.lax.psum(a, "x"),
                                       xnp.zeros_like(a)), P("x"), P())(A)
    close(np.asarray(r), 2 * (A[:4] + A[4:]), 1e-5)
    # check_vma=False: not checked, as in JAX (each device returns its own piece; one wins)
    r = xsm(lambda a: a * 0 + 1, P("x"), P(), check_vma=False)(A)
    assert r.shape == (4, 16)
    """)


def test_errors_name_argument_spec_shape_and_line(md):
    md("""
    f = lambda a: a
    raises(lambda: xsm(f, P("z"), P())(A), "'z'", "not an axis", "<snippet>")
    raises(lambda: xsm(f, P("x", "y", None), P("x"))(A), "PartitionSpec('x', 'y', None)",
           "args[0]", "rank 2", "<snippet>")
    raises(lambda: xsm(lambda d: d["w"], ({"w": P("y")},), P("y"))({"w": np.ones((6, 2))}),
           "args[0]['w']", "f64[6,2]" if xf.config.jax_enable_x64 else "f32[6,2]",
           "'y'", "(of size 4)", "does not evenly divide 6", "<snippet>")
    raises(lambda: xsm(lambda a, b: a, (P("x"),), P("x"))(A, B), "in_specs", "2 positional",
           "<snippet>")
    raises(lambda: xsm(lambda a: a.sum(), P("x"), P("x"))(A), "out_specs", "rank 0",
           "<snippet>")
    raises(lambda: xf.shard_map(f, in_specs=P("x"), out_specs=P())(A), "needs a mesh",
           "<snippet>")
    raises(lambda: xsm(f, P("x"), P("x"), axis_names={"q"})(A), "'q'", "subset")
    raises(lambda: xsm(f, P("x"), P("y"), axis_names={"x"})(A), "'y'", "manual axes")
    raises(lambda: xsm(f, None, P())(A), "in_specs=P()")
    raises(lambda: xsm(f, P("x"), P("x"))(a=A), "positional")
    raises(lambda: xsm(lambda a: xf.lax.psum(a, "q"), P("x"), P("x"))(A), "'q'")
    inner = xsm(lambda a: a * 2, P("y"), P("y"))
    raises(lambda: xsm(lambda a: inner(a), P("x"), P("x"))(A), "mesh axis 'x' is already bound",
           "nested shard_map", "<snippet>")
    """)


def test_pmap(md):
    md("""
    X = rng.standard_normal((4, 3, 5)).astype(np.float32)
    f = lambda x, c: xnp.sin(x) * c - xf.lax.pmean(x, "i")
    jf = lambda x, c: jnp.sin(x) * c - jax.lax.pmean(x, "i")
    r = xf.pmap(f, "i", in_axes=(0, None))(X, np.float32(2.0))
    close(np.asarray(r), np.asarray(jax.pmap(jf, "i", in_axes=(0, None))(X, np.float32(2.0))),
          1e-5)
    assert r.shape == X.shape and len(r.sharding.device_list) == 4
    # mapped over axis 1, result over axis 2; an output the same on every device
    Y = np.moveaxis(X, 0, 1)
    g = lambda x: (xnp.cos(x), xf.lax.psum(x, "i"))
    jg = lambda x: (jnp.cos(x), jax.lax.psum(x, "i"))
    mine = xf.pmap(g, "i", in_axes=1, out_axes=(2, None))(Y)
    theirs = jax.pmap(jg, "i", in_axes=1, out_axes=(2, None))(Y)
    for m, t in zip(mine, theirs):
        assert m.shape == t.shape
        close(np.asarray(m), np.asarray(t), 1e-5)
    gr = xf.grad(lambda x: xf.pmap(lambda y: xnp.sin(y).sum())(x).sum())(X)
    close(np.asarray(gr), np.cos(X), 1e-5)
    raises(lambda: xf.pmap(f, donate_argnums=(0,)), "NotImplementedError", "donate_argnums")
    raises(lambda: xf.pmap(lambda x: x)(np.ones((16, 2))), "16", "devices")
    """)


# --- IR-level checks on this process's one device --------------------------------------------

def _mesh1():
    return Mesh(np.array(xform.devices()[:1]), ("x",))


def test_jaxpr_holds_the_per_device_program():
    mesh = _mesh1()
    f = xform.shard_map(lambda a, b: xnp.sin(a) * b, mesh=mesh, in_specs=(P("x"), P()),
                        out_specs=P("x"))
    j = xform.make_jaxpr(f)(np.ones((4, 3), np.float32), np.float32(2.0))
    eq, = j.eqns
    assert eq.prim.name == "shard_map"
    assert eq.params["mesh"] == mesh and eq.params["manual_axes"] == ("x",)
    assert eq.params["in_specs"] == (P("x"), P()) and eq.params["out_specs"] == (P("x"),)
    assert [v.aval.shape for v in eq.params["jaxpr"].jaxpr.invars] == [(4, 3), ()]
    np.testing.assert_allclose(np.asarray(f(np.ones((4, 3), np.float32), np.float32(2.0))),
                               np.sin(1.0) * 2 * np.ones((4, 3)), rtol=1e-6)


def test_shape_rule_checks_local_shapes():
    from primitives import shard_map as sm
    from primitives.core import ShapedArray
    from primitives.ops import OpTypeError
    mesh = _mesh1()
    f32 = np.dtype(np.float32)
    body = xform.make_jaxpr(lambda a: a * 2)(np.ones((4,), np.float32))
    params = dict(jaxpr=body, mesh=mesh, in_specs=(P("x"),), out_specs=(P("x"),),
                  manual_axes=("x",))
    out, = sm.shard_map.abstract_eval(ShapedArray((4,), f32), **params)
    assert out.shape == (4,)
    with pytest.raises(OpTypeError, match="operand 0"):
        sm.shard_map.abstract_eval(ShapedArray((5,), f32), **params)
    with pytest.raises(OpTypeError, match="not a manual axis"):
        sm.shard_map.abstract_eval(ShapedArray((4,), f32),
                                   **dict(params, in_specs=(P("y"),)))
    assert sm.local_aval(mesh, P("x"), ShapedArray((4, 2), f32)).shape == (4, 2)


def test_grad_and_vmap_rewrite_the_body():
    mesh = _mesh1()
    f = xform.shard_map(lambda a: xnp.sin(a) * a, mesh=mesh, in_specs=P("x"), out_specs=P("x"))
    x = np.linspace(0, 1, 4).astype(np.float32)
    g = xform.make_jaxpr(xform.grad(lambda a: f(a).sum()))(x)
    names = [e.prim.name for e in g.eqns]
    assert names.count("shard_map") == 2, g        # the known and the linear part
    res = g.eqns[0].outvars[-1].aval
    assert res.shape[0] == 1                          # residuals stacked per device
    np.testing.assert_allclose(np.asarray(xform.grad(lambda a: f(a).sum())(x)),
                               np.cos(x) * x + np.sin(x), rtol=1e-5)
    v = xform.make_jaxpr(xform.vmap(f))(np.ones((3, 4), np.float32))
    eq, = [e for e in v.eqns if e.prim.name == "shard_map"]
    assert eq.params["in_specs"] == (P(None, "x"),)
    # an unused output is pruned from the body
    h = xform.shard_map(lambda a: (a * 2, xnp.sin(a)), mesh=mesh, in_specs=P("x"),
                        out_specs=P("x"))
    d = xform.make_jaxpr(lambda a: h(a)[0])(x)
    eq, = d.eqns
    assert len(eq.outvars) == 1 and "sin" not in str(eq.params["jaxpr"])
