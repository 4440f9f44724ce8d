"""``checkpoint``/``remat`` with policies, ``checkpoint_name``, and ``checkpoint_scan``.

Gradients against ``jax.checkpoint`` with the same policy; the residuals the forward pass
keeps are read off the IR (``saved_residuals`` walks the known jaxpr of reverse mode) and
must be exactly the ones the policy allows; the recomputation must be visible in
``make_jaxpr(grad(f))``; composition with jit, vmap, grad(grad) and scan; bad input.
"""
import numpy as np
import pytest

import jax
import jax.ad_checkpoint
import jax.numpy as jnp
from jax._src import ad_checkpoint as jax_ad_checkpoint

import xform
import xform.numpy as xnp
from xform import lax as xl
from xform.ad_checkpoint import saved_residuals
from primitives import remat as remat_ops
from primitives.core import Var
from oracle import close as _close


def close(a, b, tol=2e-5):
    return _close(a, b, tol)


XP, JP = xform.checkpoint_policies, jax.checkpoint_policies
RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4)).astype(np.float32)
W = RNG.normal(size=(4, 4)).astype(np.float32) * 0.5
B = RNG.normal(size=(2, 4, 4)).astype(np.float32) * 0.5


def model(np_, name_fn):
    """A small net with an unbatched dot, a batched dot, two named values and elementwise ops."""
    def f(x, w, b):
        h = np_.tanh(x @ w)                                   # dot without batch dims
        h = name_fn(np_.sin(h) * 2.0, "a")
        g = np_.einsum("bij,bjk->bik", b, b)                  # dot with a batch dim
        h = name_fn(np_.cos(h @ g[0]) + np_.mean(g), "b")
        return np_.sum(np_.exp(h * 0.5) * h)
    return f


FX = model(xnp, xform.checkpoint_name)
FJ = model(jnp, jax.ad_checkpoint.checkpoint_name)

POLICIES = {
    "default": (None, None),
    "nothing_saveable": (XP.nothing_saveable, JP.nothing_saveable),
    "everything_saveable": (XP.everything_saveable, JP.everything_saveable),
    "dots_saveable": (XP.dots_saveable, JP.dots_saveable),
    "dots_with_no_batch_dims_saveable": (XP.dots_with_no_batch_dims_saveable,
                                         JP.dots_with_no_batch_dims_saveable),
    "save_only_these_names": (XP.save_only_these_names("a"), JP.save_only_these_names("a")),
    "save_any_names_but_these": (XP.save_any_names_but_these("a"),
                                 JP.save_any_names_but_these("a")),
    "save_from_both_policies": (XP.save_from_both_policies(XP.dots_saveable,
                                                           XP.save_only_these_names("b")),
                                JP.save_from_both_policies(JP.dots_saveable,
                                                           JP.save_only_these_names("b"))),
}


EAGER_TOO = ("default", "save_only_these_names")   # eager grad compiles op by op: slower


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_gradients_match_jax(policy):
    px, pj = POLICIES[policy]
    gj = jax.jit(jax.grad(jax.checkpoint(FJ, policy=pj), (0, 1, 2)))(X, W, B)
    close(xform.jit(xform.grad(xform.checkpoint(FX, policy=px), (0, 1, 2)))(X, W, B), gj)
    if policy in EAGER_TOO:
        close(xform.grad(xform.checkpoint(FX, policy=px), (0, 1, 2))(X, W, B), gj)


def _kinds(residuals):
    """Sorted descriptions with argument residuals reduced to one word."""
    out = []
    for _, what in residuals:
        out.append("arg" if what.startswith("from argument") else what.split(" at ")[0])
    return sorted(out)


def test_saved_residuals_are_the_ones_the_policy_names():
    def saved(policy):
        return _kinds(saved_residuals(xform.checkpoint(FX, policy=policy), X, W, B))

    nothing = saved(XP.nothing_saveable)
    assert nothing == ["arg"] * 3 and saved(None) == nothing
    assert saved(XP.save_only_these_names("a")) == ["arg"] * 3 + ["named 'a'"]
    assert saved(XP.save_only_these_names("b")) == ["arg"] * 3 + ["named 'b'"]
    assert saved(XP.save_any_names_but_these("a")) == ["arg"] * 3 + ["named 'b'"]
    dots = saved(XP.dots_saveable)
    assert [k for k in dots if k != "arg"] == ["output of dot_general"] * 3
    no_batch = saved(XP.dots_with_no_batch_dims_saveable)
    assert [k for k in no_batch if k != "arg"] == ["output of dot_general"] * 2
    # everything_saveable keeps what plain reverse mode keeps
    every = saved_residuals(xform.checkpoint(FX, policy=XP.everything_saveable), X, W, B)
    plain = saved_residuals(FX, X, W, B)
    assert sorted(a.str_short() for a, _ in every) == sorted(a.str_short() for a, _ in plain)
    # and JAX agrees on how many values each named-value policy keeps
    for px, pj in (POLICIES["save_only_these_names"], POLICIES["nothing_saveable"]):
        nx = len(saved_residuals(xform.checkpoint(FX, policy=px), X, W, B))
        nj = len(jax_ad_checkpoint.saved_residuals(jax.checkpoint(FJ, policy=pj), X, W, B))
        assert nx == nj


def _count(jaxpr, prim_name):
    """Equations named ``prim_name`` in ``jaxpr`` and every sub-jaxpr."""
    n = 0
    for e in jaxpr.eqns:
        n += e.prim.name == prim_name
        for v in e.params.values():
            for s in (v if isinstance(v, tuple) else (v,)):
                if hasattr(s, "jaxpr") and hasattr(s.jaxpr, "eqns"):
                    n += _count(s.jaxpr, prim_name)
    return n


def test_backward_pass_recomputes_in_the_ir():
    def f(x):
        return xnp.sum(xnp.sin(xnp.sin(x)))
    x = np.linspace(0.1, 1.0, 5).astype(np.float32)
    plain = xform.make_jaxpr(xform.grad(f))(x).jaxpr
    ck = xform.make_jaxpr(xform.grad(xform.checkpoint(f)))(x).jaxpr
    assert _count(plain, "sin") == 1               # computed once, saved
    assert _count(ck, "sin") == 1                  # only the recomputation (the forward is dead)
    diff = [e for e in ck.eqns if e.prim is remat_ops.checkpoint and e.params["differentiated"]]
    assert len(diff) == 1 and _count(diff[0].params["jaxpr"].jaxpr, "sin") == 1
    # the recomputing copy reads only the function's input (and the output cotangent)
    assert [v.aval.str_short() for v in diff[0].invars if type(v) is Var] == ["f32[5]"]
    # with value_and_grad the forward pass is there too: sin runs twice in all
    vg = xform.make_jaxpr(xform.value_and_grad(xform.checkpoint(f)))(x).jaxpr
    assert _count(vg, "sin") == 3 and _count(xform.make_jaxpr(xform.value_and_grad(f))(x).jaxpr,
                                             "sin") == 2


@pytest.mark.parametrize("prevent_cse", [True, False])
def test_optimization_barrier_only_with_prevent_cse(prevent_cse):
    f = xform.checkpoint(lambda x: xnp.sum(xnp.sin(x) ** 2), prevent_cse=prevent_cse)
    x = np.linspace(0.1, 1.0, 5).astype(np.float32)
    text = xform.jit(xform.grad(f)).lower(x).as_text()
    assert ("stablehlo.optimization_barrier" in text) == prevent_cse
    assert "optimization_barrier" not in xform.jit(f).lower(x).as_text()
    close(xform.jit(xform.grad(f))(x), jax.grad(lambda x: jnp.sum(jnp.sin(x) ** 2))(x))


def test_eager_forward_jvp_and_linearize():
    f = xform.checkpoint(lambda x, w: xnp.tanh(x @ w) * 2.0)
    fj = jax.checkpoint(lambda x, w: jnp.tanh(x @ w) * 2.0)
    close(f(X, W), fj(X, W))
    close(xform.jit(f)(X, W), fj(X, W))
    t = (np.ones_like(X), np.full_like(W, 0.5))
    close(xform.jvp(f, (X, W), t), jax.jvp(fj, (X, W), t))
    y, lin = xform.linearize(f, X, W)
    close(lin(*t), jax.jvp(fj, (X, W), t)[1])


def test_grad_of_grad():
    def make(np_, ck, pol):
        return ck(lambda x: np_.sum(np_.sin(x) * np_.cos(x * 3.0)), policy=pol)
    x = np.linspace(0.1, 1.0, 5).astype(np.float32)
    for pol in ("default", "everything_saveable"):
        px, pj = POLICIES[pol]
        hx = xform.grad(lambda x: xnp.sum(xform.grad(make(xnp, xform.checkpoint, px))(x) ** 2))
        hj = jax.grad(lambda x: jnp.sum(jax.grad(make(jnp, jax.checkpoint, pj))(x) ** 2))
        want = jax.jit(hj)(x)
        close(xform.jit(hx)(x), want, 1e-4)
        if pol == "default":
            close(hx(x), want, 1e-4)


def test_vmap_against_a_loop():
    f = xform.checkpoint(lambda x, w: xnp.sum(xnp.sin(xform.checkpoint_name(x @ w, "a"))),
                         policy=XP.save_only_these_names("a"))
    xs = RNG.normal(size=(5, 3, 4)).astype(np.float32)
    for fn in (f, xform.grad(f, (0, 1))):
        got = xform.vmap(fn, (0, None))(xs, W)
        want = [fn(x, W) for x in xs]
        close(got, jax.tree_util.tree_map(lambda *a: np.stack(a), *want))
    # grad of a vmapped checkpoint against JAX
    gj = jax.grad(lambda w: jnp.sum(jax.vmap(jax.checkpoint(
        lambda x, w: jnp.sum(jnp.sin(x @ w))), (0, None))(xs, w)))(W)
    gx = xform.grad(lambda w: xnp.sum(xform.vmap(f, (0, None))(xs, w)))(W)
    close(gx, gj)


def test_checkpoint_inside_scan_body():
    def make(np_, lax_, ck):
        step = ck(lambda c, x: (np_.sin(c) * x + np_.cos(c @ c.T) @ c, np_.sum(c)))
        def loss(c, xs):
            c, ys = lax_.scan(step, c, xs)
            return np_.sum(ys) + np_.sum(c)
        return loss
    xs = RNG.normal(size=(6, 3, 4)).astype(np.float32) * 0.3
    c = X * 0.3
    gx = xform.jit(xform.grad(make(xnp, xl, xform.checkpoint), (0, 1)))
    gj = jax.jit(jax.grad(make(jnp, jax.lax, jax.checkpoint), (0, 1)))
    close(gx(c, xs), gj(c, xs), 1e-4)


def test_static_argnums_and_kwargs():
    def f(x, n, scale=1.0):
        for _ in range(n):          # Python control flow on a static argument
            x = xnp.sin(x) * scale
        return xnp.sum(x)
    def fj(x, n, scale=1.0):
        for _ in range(n):
            x = jnp.sin(x) * scale
        return jnp.sum(x)
    x = np.linspace(0.1, 1.0, 4).astype(np.float32)
    got = xform.grad(xform.checkpoint(f, static_argnums=(1,)))(x, 3, scale=2.0)
    close(got, jax.grad(jax.checkpoint(fj, static_argnums=(1,)))(x, 3, scale=2.0))
    with pytest.raises(xform.ConcretizationError, match="static_argnums"):
        xform.grad(xform.checkpoint(lambda x: xnp.sum(x) if x[0] > 0 else 0.0))(x)


def test_aliases_and_names_outside_a_trace():
    assert xform.remat is xform.checkpoint
    assert XP.checkpoint_dots is XP.dots_saveable
    x = np.float32([1.0, 2.0])
    assert xform.checkpoint_name(x, "a") is x
    tree = {"u": x, "v": (x, x)}
    got = xform.grad(xform.checkpoint(
        lambda t: xnp.sum(xform.ad_checkpoint.checkpoint_name(t, "a")["v"][1] ** 2)))(tree)
    close(got, {"u": np.zeros(2), "v": (np.zeros(2), 2 * x)})


# --- checkpoint_scan ----------------------------------------------------------------------------

def _scan_loss(np_, scan):
    def step(c, x):
        c = np_.sin(c) * 0.9 + x["a"] * c + x["b"]
        return c, {"y": np_.sum(c * c)}
    def loss(c0, xs):
        c, ys = scan(step, c0, xs)
        return np_.sum(c) + np_.sum(ys["y"] * np_.arange(ys["y"].shape[0]))
    return loss


@pytest.mark.parametrize("length,segment,reverse", [(10, None, False), (10, 3, True),
                                                    (5, 8, True), (1, None, False)])
def test_checkpoint_scan_matches_scan(length, segment, reverse):
    xs = {"a": RNG.normal(size=(length, 4)).astype(np.float32) * 0.3,
          "b": RNG.normal(size=(length, 4)).astype(np.float32)}
    c0 = np.linspace(-1, 1, 4).astype(np.float32)
    lx = _scan_loss(xnp, lambda f, c, x: xform.checkpoint_scan(
        f, c, x, segment_length=segment, reverse=reverse))
    lj = _scan_loss(jnp, lambda f, c, x: jax.lax.scan(f, c, x, reverse=reverse))
    close(lx(c0, xs), lj(c0, xs), 1e-4)
    close(xform.jit(xform.grad(lx, (0, 1)))(c0, xs), jax.jit(jax.grad(lj, (0, 1)))(c0, xs), 1e-4)


def test_checkpoint_scan_stores_about_sqrt_n_carries():
    n = 400
    def loss(scan):
        return lambda c0: xnp.sum(scan(lambda c, _: (xnp.sin(c) + 0.5, None), c0, None,
                                       length=n)[0])
    c0 = np.zeros(8, np.float32)

    def stored(f):
        return sum(a.size for a, _ in saved_residuals(f, c0))
    plain, ck = stored(loss(xl.scan)), stored(loss(xform.checkpoint_scan))
    assert plain >= n * 8 and ck <= 2 * 21 * 8, (plain, ck)   # sqrt(400) = 20 segments
    close(xform.grad(loss(xform.checkpoint_scan))(c0), xform.grad(loss(xl.scan))(c0))


def test_checkpoint_scan_no_xs_and_bad_segment():
    with pytest.raises(ValueError, match="length="):
        xform.checkpoint_scan(lambda c, x: (c, x), 0.0, None)
    with pytest.raises(ValueError, match="leading dimension length=12, got .*10"):
        xform.checkpoint_scan(lambda c, x: (c, x), 0.0, np.zeros(10, np.float32), length=12)
    with pytest.raises(ValueError, match="segment_length must be a positive int"):
        xform.checkpoint_scan(lambda c, x: (c, x), 0.0, None, length=4, segment_length=0)


# --- bad input ------------------------------------------------------------------------------------

def test_bad_input_errors():
    f = lambda x: xnp.sum(xnp.sin(x))
    with pytest.raises(TypeError, match="checkpoint: policy must be None or a callable.*str"):
        xform.checkpoint(f, policy="dots_saveable")
    with pytest.raises(TypeError, match="checkpoint_name: name must be a str, got int"):
        xform.checkpoint_name(np.float32(1.0), 3)
    with pytest.raises(TypeError, match="save_only_these_names: names must be strings"):
        XP.save_only_these_names("a", 1)
    with pytest.raises(TypeError, match="prevent_cse must be a bool"):
        xform.checkpoint(f, prevent_cse=(True,))
    with pytest.raises(TypeError, match="checkpoint: fun must be callable"):
        xform.checkpoint(3)
    bad = xform.checkpoint(f, policy=lambda prim, *a, **p: "yes")
    with pytest.raises(TypeError, match="policy .* returned 'yes' for meta-operator '\\w+'.*bool"):
        xform.grad(bad)(np.float32([1.0, 2.0]))
    with pytest.raises(ValueError, match="static_argnums=\\(3,\\)"):
        xform.grad(xform.checkpoint(f, static_argnums=(3,)))(np.float32([1.0]))
