"""Symbolic dimensions (issue 18): ``export.symbolic_shape("b, 4")`` exports one program
for every batch size; ``Exported.call`` learns ``b`` from its arguments, also after a
serialization round trip, under jit, vmap and grad.  The arithmetic of ``DimExpr`` is
checked against integers (hypothesis), the programs against the same function jitted
for concrete shapes, and every misuse is a clear error."""
from __future__ import annotations

import operator

import hypothesis.strategies as st
import jax
import jax.numpy as jjnp
import numpy as np
import pytest
from hypothesis import given, settings

import xform
import xform.numpy as jnp
from xform import export, jit, lax, nn
from primitives.shape_poly import DimExpr, InconclusiveDimensionOperation

F32 = np.float32
W = np.linspace(-1, 1, 12, dtype=F32).reshape(4, 3)
B, = export.symbolic_shape("b")


def _x(n, cols=4):
    return ((np.arange(n * cols, dtype=F32).reshape(n, cols) - 3) / 7).astype(F32)


# --- DimExpr arithmetic ----------------------------------------------------------------

_polys = st.builds(
    lambda c0, c1, c2, c3: c0 + c1 * DimExpr.var("a") + c2 * DimExpr.var("b")
    + c3 * DimExpr.var("a") * DimExpr.var("b"),
    st.integers(-5, 5), st.integers(-3, 3), st.integers(-3, 3), st.integers(-2, 2))
_env = st.fixed_dictionaries({"a": st.integers(1, 9), "b": st.integers(1, 9)})


def _ev(p, env):
    return p.evaluate(env) if isinstance(p, DimExpr) else p


@settings(max_examples=150, deadline=None, derandomize=True)
@given(_polys, _polys, _env)
def test_dim_arithmetic_agrees_with_integers(p, q, env):
    for op in (operator.add, operator.sub, operator.mul):
        assert _ev(op(p, q), env) == op(_ev(p, env), _ev(q, env))
    # a comparison that answers holds for every value of the variables (each >= 1)
    for op in (operator.ge, operator.gt, operator.le, operator.lt):
        try:
            answer = op(p, q)
        except InconclusiveDimensionOperation:
            continue
        assert answer == op(_ev(p, env), _ev(q, env))
    if isinstance(p, DimExpr):    # exact division, or an error
        try:
            quotient = p // 3
        except InconclusiveDimensionOperation:
            return
        assert _ev(quotient, env) * 3 == _ev(p, env)


def test_dim_basics():
    b, c = DimExpr.var("b"), DimExpr.var("c")
    assert str(2 * b + 1) == "2*b + 1" and str(b * c - 3) == "b*c - 3"
    assert b - b + 3 == 3 and type(b - b) is int
    assert (b * 12) // (4 * b) == 3 and (2 * b + 2) // (b + 1) == 2
    assert b >= 1 and b > 0 and not b == 4 and b != 4 and 0 % b == 0 and -1 % b == b - 1
    assert hash(b * 4) == hash(4 * b) and np.int64(2) * b == 2 * b
    with pytest.raises(InconclusiveDimensionOperation, match="b >= 2 is inconclusive"):
        bool(b >= 2)
    with pytest.raises(InconclusiveDimensionOperation, match="concrete integer"):
        range(b)
    with pytest.raises(InconclusiveDimensionOperation, match="not divisible by 2"):
        b // 2


def test_symbolic_shape_parsing():
    assert export.symbolic_shape("b, 4") == (B, 4)
    assert export.symbolic_shape("(2*b, _)", like=(None, 7)) == (2 * B, 7)
    assert export.symbolic_shape("b*h, b + 1") == (B * DimExpr.var("h"), B + 1)
    assert export.symbolic_shape("") == ()
    with pytest.raises(ValueError, match="cannot parse"):
        export.symbolic_shape("b,, 4)")
    with pytest.raises(ValueError, match="polynomial in names"):
        export.symbolic_shape("b / 2")
    with pytest.raises(NotImplementedError, match="constraints"):
        export.symbolic_shape("b", constraints=("b >= 4",))
    assert export.symbolic_shape("b", scope=export.SymbolicScope()) == (B,)
    assert export.is_symbolic_dim(B) and not export.is_symbolic_dim(4)
    with pytest.raises(NotImplementedError, match="constraints"):
        export.SymbolicScope(["b >= 2"])
    with pytest.raises(ValueError, match="needs a size in like"):
        export.symbolic_shape("_, 4")
    specs = export.symbolic_args_specs((np.ones((3, 4), F32), np.ones(4, F32)), ("b, _", None))
    assert specs[0].shape == (B, 4) and specs[1].shape == (4,)


def test_eval_shape_and_lower_keep_symbolic_shapes():
    s = xform.ShapeDtypeStruct((B, 3), F32)
    out = xform.eval_shape(lambda x: jnp.concatenate([x, x]).T[:, 1:], s)
    assert out.shape == (3, 2 * B - 1)
    text = jit(lambda x: x.sum(0)).lower(s).as_text()
    assert "tensor<?x3xf32>" in text and "get_dimension_size" in text
    with pytest.raises(ValueError, match="cannot be compiled.*Export it"):
        jit(lambda x: x.sum(0)).lower(s).compile()


# --- programs: exported once, called for several batch sizes ------------------------------

PROGRAMS = {
    "mlp": lambda x: nn.relu(x @ W) @ W.T + 1.0,
    "reductions": lambda x: x.mean(0) + x.var(0) + x.std() + x.sum(1).max(),
    "layernorm": lambda x: (x - x.mean(1, keepdims=True)) / jnp.sqrt(x.var(1, keepdims=True)
                                                                       + 1e-5),
    "softmax_logsumexp": lambda x: nn.softmax(x, axis=0) + xform.scipy.special.logsumexp(x, 0),
    "reshape": lambda x: x.reshape(-1)[:, None] * x.reshape(x.shape[0], 2, 2).sum((1, 2))[0],
    "slices": lambda x: x[1:].sum(0) + x[::-1][0] + x[0] + x[-1],
    "concat_stack_tile": lambda x: jnp.concatenate([x, 2 * x]).sum(0) + jnp.stack([x, x], 1)
    .sum((0, 1)) + jnp.tile(x, (2, 1)).mean(0),
    "dimension_as_value": lambda x: x * x.shape[0] + x.shape[0] * 0.5 + jnp.arange(x.shape[0])
    [:, None],
    "argmax_one_hot_sort": lambda x: nn.one_hot(jnp.argmax(x, 1), 4) + jnp.sort(x, 0)
    + jnp.argmax(x, 0),
    "outer_triu_eye": lambda x: jnp.triu(x @ x.T) + jnp.eye(x.shape[0]),
    "pad_where": lambda x: jnp.pad(jnp.where(x > 0.1, x, 0.0), ((1, 1), (0, 0))),
    "vmap_grad_inside": lambda x: xform.vmap(xform.grad(lambda r: (jnp.tanh(r) ** 2).sum()))(x),
    "scan_fori": lambda x: lax.scan(lambda c, r: (jnp.tanh(c * r + 0.1), c), jnp.ones(4), x)[1]
    + lax.fori_loop(0, x.shape[0], lambda i, a: a + x[i], jnp.zeros(4)),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_exported_program_runs_for_every_batch_size(name):
    f = PROGRAMS[name]
    exp = export.export(jit(f))(xform.ShapeDtypeStruct((B, 4), F32))
    assert any(not isinstance(d, int) for a in exp.in_avals for d in a.shape)
    loaded = export.deserialize(exp.serialize())
    for n in (1, 3):
        x = _x(n)
        want = np.asarray(jit(f)(x))
        got = loaded.call(x)
        assert got.shape == want.shape and got.dtype == want.dtype, name
        np.testing.assert_allclose(np.asarray(got), want, rtol=2e-5, atol=2e-5)


def test_values_match_jax_and_derivatives_of_every_order():
    """Against JAX on the same program, and grad / grad of grad through the exported
    VJPs (vjp_order=2), jit and vmap of the call."""
    def f(x):
        return jnp.sum(jnp.tanh(x @ W) ** 2) / x.shape[0]

    def f_jax(x):
        return jjnp.sum(jjnp.tanh(x @ W) ** 2) / x.shape[0]

    exp = export.export(jit(f))(xform.ShapeDtypeStruct((B, 4), F32))
    loaded = export.deserialize(exp.serialize(vjp_order=2))
    assert str(loaded.in_avals[0].shape[0]) == "b"
    for n in (2, 5):
        x = _x(n)
        np.testing.assert_allclose(np.asarray(loaded.call(x)), np.asarray(f_jax(x)), rtol=1e-5)
        np.testing.assert_allclose(np.asarray(jit(loaded.call)(x)), np.asarray(f_jax(x)),
                                   rtol=1e-5)
        np.testing.assert_allclose(np.asarray(xform.grad(loaded.call)(x)),
                                   np.asarray(jax.grad(f_jax)(x)), rtol=1e-5, atol=1e-6)
        h = xform.grad(lambda y: xform.grad(loaded.call)(y).sum())(x)
        np.testing.assert_allclose(np.asarray(h),
                                   np.asarray(jax.grad(lambda y: jax.grad(f_jax)(y).sum())(x)),
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(np.asarray(xform.vmap(loaded.call)(np.stack([x, 2 * x]))),
                                   [f_jax(x), f_jax(2 * x)], rtol=1e-5)


def test_two_arguments_share_a_dimension_and_mismatches_are_named():
    exp = export.export(jit(lambda x, y: x @ y.T))(
        xform.ShapeDtypeStruct((B, 4), F32), xform.ShapeDtypeStruct((2 * B, 4), F32))
    np.testing.assert_allclose(np.asarray(exp.call(_x(2), _x(4))), _x(2) @ _x(4).T,
                               rtol=1e-6)
    with pytest.raises(TypeError, match=r"dimension 0 = 2\*b = 4 here"):
        exp.call(_x(2), _x(3))
    with pytest.raises(TypeError, match=r"args\[0\] is f32\[2\], but .* exported for f32\[b,4\]"):
        exp.call(np.ones(2, F32), _x(4))
    same = export.export(jit(lambda x, y: x + y))(
        xform.ShapeDtypeStruct((B, 4), F32), xform.ShapeDtypeStruct((B, 4), F32))
    with pytest.raises(TypeError, match="but b = 2 in an earlier argument"):
        same.call(_x(2), _x(3))
    with pytest.raises(TypeError, match="symbolic dimension b .>= 1."):
        same.call(_x(0), _x(0))


def test_symbolic_artifact_runs_in_jax():
    """Built into a ``jax.export.Exported`` (the recipe of docs/differences.md, with JAX's
    own symbolic dimension and ``uses_global_constants``), JAX calls it for any batch."""
    from jax import export as jexport
    exp = export.export(jit(lambda x, s: jnp.tanh(x @ W).mean(0) * s + x.shape[0]))(
        xform.ShapeDtypeStruct((B, 4), F32), xform.ShapeDtypeStruct((), F32))
    assert exp.uses_global_constants
    jb, = jexport.symbolic_shape("b")

    def avals(xs):
        return tuple(jax.core.ShapedArray(tuple(d if isinstance(d, int) else jb
                                                for d in a.shape), a.dtype) for a in xs)
    n_in, n_out = len(exp.in_avals), len(exp.out_avals)
    je = jexport.Exported(
        fun_name=exp.fun_name, in_tree=jax.tree_util.tree_structure(((0,) * n_in, {})),
        in_avals=avals(exp.in_avals), out_tree=jax.tree_util.tree_structure(0),
        out_avals=avals(exp.out_avals), in_shardings_hlo=(None,) * n_in,
        out_shardings_hlo=(None,) * n_out, nr_devices=1, platforms=exp.platforms,
        ordered_effects=(), unordered_effects=(), disabled_safety_checks=(),
        mlir_module_serialized=exp.mlir_module_serialized, calling_convention_version=9,
        module_kept_var_idx=tuple(range(n_in)),
        uses_global_constants=exp.uses_global_constants, _get_vjp=None,
        _has_named_shardings=True, _in_named_shardings=(None,) * n_in,
        _out_named_shardings=(None,) * n_out)
    for n in (2, 5):
        x = _x(n)
        want = np.tanh(x @ W).mean(0) * 3 + n
        np.testing.assert_allclose(np.asarray(je.call(x, F32(3))), want, rtol=1e-5)
        np.testing.assert_allclose(np.asarray(jax.jit(je.call)(x, F32(3))), want, rtol=1e-5)


def test_two_batch_sizes_in_one_program():
    exp = export.export(jit(lambda x: jnp.tanh(x).sum(0)))(xform.ShapeDtypeStruct((B, 4), F32))
    both = jit(lambda x, y: exp.call(x) + exp.call(y))(_x(2), _x(5))
    np.testing.assert_allclose(np.asarray(both), np.tanh(_x(2)).sum(0) + np.tanh(_x(5)).sum(0),
                               rtol=1e-5)


def test_programs_that_need_a_concrete_size_say_so():
    s = xform.ShapeDtypeStruct((B, 4), F32)
    with pytest.raises(InconclusiveDimensionOperation, match="b - 1 >= 0|b >= 2"):
        export.export(jit(lambda x: x[2:]))(s)
    assert export.export(jit(lambda x: x.reshape(2, -1)))(s).out_avals[0].shape == (2, 2 * B)
    with pytest.raises(TypeError, match=r"cannot reshape array of shape \(b, 4\)"):
        export.export(jit(lambda x: x.reshape(3, -1)))(s)
    with pytest.raises(InconclusiveDimensionOperation, match="b is used where a concrete int"):
        export.export(jit(lambda x: jnp.zeros(int(x.shape[0]))))(s)
    with pytest.raises(InconclusiveDimensionOperation, match="window_dimensions .b, 1. holds"):
        export.export(jit(lambda x: jnp.cumsum(x, 0)))(s)
