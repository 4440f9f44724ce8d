"""The IR type checker: accepts what tracing produces, rejects malformed jaxprs clearly."""
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from primitives import ShapedArray, Var, Literal, Eqn, Jaxpr, ClosedJaxpr, check_jaxpr, \
    JaxprTypeError, ops

F3 = np.ones(3, np.float32)
M23 = np.arange(6, dtype=np.float32).reshape(2, 3)
I4 = np.arange(4, dtype=np.int32)
W = xnp.arange(3.0)  # captured: becomes a constvar

PROGRAMS = [
    (lambda x: x + 1.0, (F3,)), (lambda x: xnp.sin(x) * xnp.cos(x), (F3,)),
    (lambda x: x @ x.T, (M23,)), (lambda x: xnp.sum(x, axis=0, keepdims=True), (M23,)),
    (lambda x: xnp.mean(x), (M23,)), (lambda x: xnp.var(x, axis=1), (M23,)),
    (lambda x: xnp.argmax(x, axis=1), (M23,)), (lambda x: xnp.cumsum(x, axis=1), (M23,)),
    (lambda x: xnp.cumprod(x), (M23,)), (lambda x: xnp.sort(x, axis=0), (M23,)),
    (lambda x: xnp.argsort(x), (M23,)), (lambda x: xnp.reshape(x, (3, 2)), (M23,)),
    (lambda x: xnp.transpose(x), (M23,)), (lambda x: xnp.moveaxis(x[None], 0, -1), (M23,)),
    (lambda x: xnp.concatenate([x, x], 1), (M23,)), (lambda x: xnp.stack([x, x]), (F3,)),
    (lambda x: xnp.split(x, 2)[1], (I4,)), (lambda x: xnp.where(x > 1, x, -x), (I4,)),
    (lambda x: xnp.clip(x, 1, 2), (I4,)), (lambda x: xnp.pad(x, 1), (M23,)),
    (lambda x: xnp.pad(x, 1, mode="reflect"), (M23,)), (lambda x: xnp.flip(x), (M23,)),
    (lambda x: xnp.roll(x, 1, 1), (M23,)), (lambda x: xnp.tile(x, 2), (F3,)),
    (lambda x: xnp.repeat(x, 2), (F3,)), (lambda x: xnp.broadcast_to(x, (2, 3)), (F3,)),
    (lambda x: xnp.einsum("ij,kj->ik", x, x), (M23,)), (lambda x: xnp.outer(x, x), (F3,)),
    (lambda x: xnp.kron(x, x), (M23,)), (lambda x: xnp.tensordot(x, x, 1), (F3,)),
    (lambda x: x[1:, ::-1], (M23,)), (lambda x: x[x.argmax()], (F3,)),
    (lambda x: x[xnp.array([0, 2, 2])], (F3,)), (lambda x: x.at[1].add(2.0), (F3,)),
    (lambda x: x.at[xnp.array([0, 0])].max(5), (I4,)), (lambda x: x * W, (F3,)),
    (lambda x: xnp.linspace(0, x[0], 4), (F3,)), (lambda x: xnp.power(x, 3), (I4,)),
    (lambda x: x // 3 + x % 3, (I4,)), (lambda x: xnp.isclose(x, 1.0), (F3,)),
    (lambda x: xnp.linalg.norm(x), (M23,)), (lambda x: (x > 0).astype(xnp.float16), (M23,)),
]


@pytest.mark.parametrize("i", range(len(PROGRAMS)))
def test_check_accepts_traced_programs(i):
    f, args = PROGRAMS[i]
    closed = xform.make_jaxpr(f)(*args)
    check_jaxpr(closed)
    check_jaxpr(closed.jaxpr)


def _f32(*shape):
    return ShapedArray(shape, np.float32)


def _sin(x, out):
    return Eqn(ops.unary["sin"], [x], [out], {})


def test_rejects_wrong_output_aval():
    x, y = Var(_f32(3)), Var(_f32(4))
    j = Jaxpr([], [x], [_sin(x, y)], [y])
    with pytest.raises(JaxprTypeError, match=r"(?s)equation 0 .*sin.*declared f32\[4\].*f32\[3\]"):
        check_jaxpr(j)


def test_rejects_wrong_output_dtype():
    x, y = Var(_f32(3)), Var(ShapedArray((3,), np.float16))
    with pytest.raises(JaxprTypeError, match=r"equation 0 .*sin"):
        check_jaxpr(Jaxpr([], [x], [_sin(x, y)], [y]))


def test_rejects_use_before_def():
    x, y, z = Var(_f32(3)), Var(_f32(3)), Var(_f32(3))
    eqns = [Eqn(ops.binary["add"], [x, z], [y], {}), _sin(x, z)]
    with pytest.raises(JaxprTypeError, match=r"equation 0 .*add.*used before it is defined"):
        check_jaxpr(Jaxpr([], [x], eqns, [y]))


def test_rejects_undefined_output():
    x, y = Var(_f32(3)), Var(_f32(3))
    with pytest.raises(JaxprTypeError, match="outvars.*used before"):
        check_jaxpr(Jaxpr([], [x], [], [y]))


def test_rejects_duplicate_definition():
    x, y = Var(_f32(3)), Var(_f32(3))
    with pytest.raises(JaxprTypeError, match=r"equation 1 .*sin.*defined twice"):
        check_jaxpr(Jaxpr([], [x], [_sin(x, y), _sin(x, y)], [y]))
    with pytest.raises(JaxprTypeError, match="defined twice"):
        check_jaxpr(Jaxpr([], [x, x], [], [x]))


def test_rejects_wrong_arity():
    x, y, z = Var(_f32(3)), Var(_f32(3)), Var(_f32(3))
    with pytest.raises(JaxprTypeError, match=r"equation 0 .*add"):
        check_jaxpr(Jaxpr([], [x], [Eqn(ops.binary["add"], [x], [y], {})], [y]))
    with pytest.raises(JaxprTypeError, match=r"equation 0 .*sin.*outputs"):
        check_jaxpr(Jaxpr([], [x], [Eqn(ops.unary["sin"], [x], [y, z], {})], [y]))


def test_rejects_bad_operand_types():
    x, y = Var(_f32(3)), Var(_f32(3))
    i = Var(ShapedArray((3,), np.int32))
    with pytest.raises(JaxprTypeError, match=r"equation 0 .*add.*dtypes"):
        check_jaxpr(Jaxpr([], [x, i], [Eqn(ops.binary["add"], [x, i], [y], {})], [y]))
    lit = Literal(np.zeros(3, np.float32), _f32())
    lit.aval = _f32(3)
    with pytest.raises(JaxprTypeError, match="not a scalar"):
        check_jaxpr(Jaxpr([], [x], [Eqn(ops.binary["add"], [x, lit], [y], {})], [y]))


def test_checks_constvars_and_closed_jaxprs():
    c, x, y = Var(_f32(3)), Var(_f32(3)), Var(_f32(3))
    good = Jaxpr([c], [x], [Eqn(ops.binary["mul"], [c, x], [y], {})], [y])
    check_jaxpr(ClosedJaxpr(good, [np.ones(3, np.float32)]))
    bad = Jaxpr([], [x], [Eqn(ops.binary["mul"], [c, x], [y], {})], [y])
    with pytest.raises(JaxprTypeError, match="used before"):
        check_jaxpr(bad)


def test_rejects_a_const_of_another_type():
    c, x, y = Var(_f32(3)), Var(_f32(3)), Var(_f32(3))
    good = Jaxpr([c], [x], [Eqn(ops.binary["mul"], [c, x], [y], {})], [y])
    with pytest.raises(JaxprTypeError, match=r"constvar .* f32\[3\] but its value is float32\[4\]"):
        check_jaxpr(ClosedJaxpr(good, [xnp.ones(4)]))


def test_check_ir_names_the_transform_and_is_off_by_default(monkeypatch):
    """``xform_check_ir`` (on in this test suite, see conftest.py) type-checks what each
    transform produces and names the one that produced malformed IR."""
    from xform.core import checks
    from xform.core.checks import IRCheckError, check_ir
    x, y = Var(_f32(3)), Var(_f32(4))
    bad = Jaxpr([], [x], [_sin(x, y)], [y])
    before = xform.config.read("xform_check_ir")
    try:
        xform.config.update("xform_check_ir", False)
        assert check_ir(bad, "jvp") is bad                  # off: no check at all
        xform.config.update("xform_check_ir", True)
        with pytest.raises(IRCheckError, match=r"IR produced by jvp is malformed.*sin"):
            check_ir(bad, "jvp")
        # a transform writing bad IR is caught where it returns: a partial-evaluation
        # rule (for scan) that declares a wrong output type
        from xform.transforms import partial_eval as pe
        from primitives import control
        real = pe.PARTIAL_EVAL[control.scan]

        def broken(eqn, unknowns):
            ks, us = real(eqn, unknowns)
            e = ks[0]
            wrong = [Var(ShapedArray(v.aval.shape + (1,), v.aval.dtype)) for v in e.outvars]
            return [Eqn(e.prim, e.invars, wrong, e.params)] + ks[1:], us
        monkeypatch.setitem(pe.PARTIAL_EVAL, control.scan, broken)

        def f(w):
            return xform.lax.scan(lambda c, _: (xnp.sin(c * w), None), w, None, length=3)[0].sum()
        with pytest.raises(IRCheckError, match="partial_eval"):
            xform.grad(f)(xnp.ones(3))
    finally:
        xform.config.update("xform_check_ir", before)
    assert checks.enabled() == before
