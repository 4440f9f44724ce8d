"""Bugs the differential fuzzer (test_fuzz.py) found, each kept as its reproducer (reduced
by hand) and checked against JAX: structure, shapes, dtypes, weak types and values.  The
seed named in each test is the one that found it (with the generator of that day)."""
import numpy as np
import pytest

import jax

import xform
import xform.numpy as xnp
from oracle import assert_same


def same(build, *args, where=""):
    """``build(m)`` gives the same function over ``m`` = xform or jax: same results (NumPy
    arguments passed as each library's arrays, Python scalars as they are)."""
    def run(m):
        return build(m)(*[m.numpy.asarray(a) if isinstance(a, np.ndarray) else a
                          for a in args])
    assert_same(run(xform), run(jax), where)


F = np.float32


# --- weak types through the transforms (seeds 3 and 23) ------------------------------------

@pytest.mark.parametrize("kind", ["grad", "vjp", "jacrev", "jacfwd", "hessian", "jvp",
                                  "jit_grad", "jit_jacrev"])
def test_derivative_of_a_python_scalar_is_as_weak_as_jax_makes_it(kind):
    """The cotangent of a weakly typed input (a Python scalar) is weak when JAX's surface
    promoted it with a convert_element_type (whose transpose restores the weak type); a
    Jacobian block takes the type of its input (jacrev) or output (jacfwd); a tangent
    takes its output's."""
    def build(m):
        ones = m.numpy.ones(2)
        f = lambda y: ones * y ** 3                                   # noqa: E731
        s = lambda y: m.numpy.sum(f(y))                               # noqa: E731
        return {"grad": m.grad(s), "vjp": lambda y: m.vjp(f, y)[1](ones),
                "jacrev": m.jacrev(f), "jacfwd": m.jacfwd(f), "hessian": m.hessian(s),
                "jvp": lambda y: m.jvp(lambda y: y * y, (y,), (m.numpy.float32(1.0),)),
                "jit_grad": m.jit(m.grad(s)), "jit_jacrev": m.jit(m.jacrev(f))}[kind]
    same(build, 1.5)


def test_weak_types_of_a_fuzzed_jacrev_program():
    """Seed 23: jit(jacrev(f)) with respect to an array and a Python float, through scan,
    cond and a reduction."""
    def build(m):
        np, lax = m.numpy, m.lax

        def f0(x0, x1, x2):
            v2 = lax.scan(lambda c, _: (np.tan(0.5 * np.tanh(c)) * 0.9, c), x1, None,
                          length=3)[0]
            v4 = np.min(np.swapaxes(x0, 0, -1), axis=(0, 1))
            v7 = lax.cond(np.sum(v4) > 0.0, lambda a, b: np.sin(a) * b,
                          lambda a, b: np.sinh(np.tanh(b)) - a, x0[0::2], x2)
            return [v7, v2]
        return m.jit(lambda x0, x1, x2: m.jacrev(lambda x1, x2: f0(x0, x1, x2),
                                                  argnums=(0, 1))(x1, x2))
    same(build, np.array([[0.9907]], F), np.array(0.2113, F), -1.906)


def test_cotangent_given_as_a_literal_keeps_the_literal_type():
    """grad of lax.rem(y, x) in y is the cotangent itself (a literal): strong, as in JAX,
    even for a weak y."""
    same(lambda m: m.grad(lambda y: m.lax.rem(y, m.numpy.float32(2.0))), 1.5)
    same(lambda m: m.grad(lambda y: y * y), 1.5)


def test_primal_of_python_scalars_under_an_outer_transform_stays_weak():
    """A literal evaluated into an outer trace (eval_jaxpr) keeps its weak type."""
    def build(m):
        f = lambda v: (m.jvp(lambda x: x * 2, (1.5,), (v,))[0], v)   # noqa: E731
        return lambda v: (m.jit(f)(v), m.vmap(f, out_axes=(None, 0))(m.numpy.ones(2)),
                          m.jacfwd(lambda x, y: x * y)(1.5, 2.0))
    same(build, F(1.0))


# --- indexing -------------------------------------------------------------------------------

@pytest.mark.parametrize("expr", [
    "z.at[1].max(2.0)", "z.at[3].set(5.0, mode='drop')", "z.at[-4].add(5.0, mode='clip')",
    "z.at[2].get(mode='fill')", "z.at[5].get(mode='clip')", "z2.at[0, 3].set(4.0, mode='clip')",
    "z2.at[:, 3].set(4.0, mode='drop')", "z2.at[:, 3].get(mode='fill', fill_value=2.0)"])
def test_static_out_of_bounds_index_with_an_explicit_mode(expr):
    """Seed 27 (`v3.at[1].max(x0)` on a length-1 axis): an explicit mode handles a static
    out-of-bounds index as JAX does; without one it stays an IndexError
    (docs/differences.md), except in `.at[i].max` etc. whose default mode is 'drop'."""
    if "mode" not in expr:
        with pytest.raises(IndexError, match="out of bounds"):
            eval(expr, {"z": xnp.zeros(1)})
        return

    def build(m):
        return lambda z, z2: eval(expr, {"z": z, "z2": z2})
    same(build, np.array([1.5], F), np.arange(4, dtype=F).reshape(2, 2))


def test_dynamic_slice_counts_negative_starts_from_the_end():
    """Seed 60: lax.dynamic_update_slice_in_dim(v, u, -2, 0) wrote at row 0, not row 2
    (JAX's lax counts a negative start from the end, then clamps)."""
    def build(m):
        lax = m.lax

        def f(x, u, i):
            return (lax.dynamic_slice(x, (i, 0), (2, 2)),
                    lax.dynamic_update_slice_in_dim(x, u, i, 0),
                    lax.dynamic_index_in_dim(x, -1, 0, keepdims=False),
                    lax.dynamic_update_index_in_dim(x, u[0], -3, 0),
                    m.numpy.asarray(x)[m.numpy.asarray(i) - 5])

        def g(x, i):   # a traced negative start that is not counted from the end clamps
            return lax.dynamic_slice(x, (i, 0), (1, 2), allow_negative_indices=False)
        return lambda x, u: (f(x, u, -2), m.jit(f)(x, u, -2), m.jit(f)(x, u, -7),
                             m.jit(g)(x, -2))
    same(build, np.arange(16, dtype=F).reshape(4, 4), np.ones((1, 4), F))


# --- numpy composites ----------------------------------------------------------------------

def test_dynamic_slice_refuses_a_static_negative_start_not_counted_from_the_end():
    for m in (jax, xform):
        with pytest.raises(ValueError, match="allow_negative_indices=False"):
            m.lax.dynamic_slice(m.numpy.ones(3), (-1,), (1,), allow_negative_indices=False)


def test_cumprod_over_an_axis_of_length_one():
    """Seed 67: IndexError inside xform for cumprod over a length-1 axis."""
    same(lambda m: lambda x: (m.numpy.cumprod(m.numpy.tanh(x), axis=-1),
                              m.jit(lambda x: m.numpy.cumprod(x, axis=0))(x)),
         np.array([[1.6], [0.2]], F))


def test_hypot_of_an_array_and_a_python_scalar():
    """Seed 80: `np.hypot(x2, 3 + 3.0)` raised TypeError (Literal * Literal); now JAX's
    formula, so large operands do not overflow either."""
    def build(m):
        return lambda x: (m.numpy.hypot(x, 6.0), m.numpy.hypot(6.0, x),
                          m.jit(lambda x: m.numpy.hypot(x, 3 + 3.0))(x),
                          m.numpy.hypot(x * 1e30, x * 1e30),
                          m.grad(lambda x: m.numpy.sum(m.numpy.hypot(x, 2.0 * x)))(x))
    same(build, np.array([1.7, -0.5, 3.0], F))


# --- transforms ----------------------------------------------------------------------------

def test_jacfwd_through_a_while_loop():
    """Seed 131: jvp(jacfwd(f)) of a while_loop raised "reverse-mode differentiation of
    lax.while_loop needs a bound" (jacfwd went through linearize; it is now a vmap of jvp,
    as in JAX)."""
    def build(m):
        np, lax = m.numpy, m.lax

        def f(x):
            return lax.while_loop(lambda c: (c[0] < 6) & (np.sum(c[1]) < 4.0),
                                  lambda c: (c[0] + 1, c[1] + np.abs(np.sin(c[1])) + 0.1),
                                  (0, x))[1]
        jf = m.jacfwd(f)
        return lambda x: (jf(x), m.jvp(jf, (x,), (np.ones_like(x),)),
                          m.jacfwd(lambda x, y: (x * y, x), has_aux=True)(x, 2.0)[0])
    same(build, np.array([0.3, -0.2, 0.4], F))


def test_checkpoint_outside_differentiation_returns_arrays():
    """Seed 12: checkpoint(f) called outside any transform ran f on the raw arguments, so
    `x * x` of a NumPy int array came back as a NumPy array (JAX: an Array)."""
    def build(m):
        return m.checkpoint(lambda x, y: (x * x, m.numpy.exp2(m.numpy.tanh(y))),
                            policy=m.checkpoint_policies.nothing_saveable)
    same(build, np.array([[1, 1], [5, -2]], np.int32), np.array(0.515, F))


@pytest.mark.parametrize("op", ["min", "max"])
@pytest.mark.parametrize("mode", ["jacfwd", "jacrev"])
def test_scatter_min_max_derivative_with_contending_updates(op, mode):
    """Seed 192: `x0.at[x1 % 1].min(x2)` under jacfwd gave the tangent of the last update
    scattered to a position, not of the one that won; where several values tie (operand
    and updates), JAX averages their tangents."""
    def build(m):
        def f(x, u):
            return getattr(x.at[m.numpy.array([0, 0, 2, 1, 0, 3])], op)(u)
        return lambda x, u: (getattr(m, mode)(f, argnums=(0, 1))(x, u),
                             m.jvp(f, (x, u), (m.numpy.cos(x), m.numpy.sin(u))))
    same(build, np.array([1.0, 2.0, 3.0, 0.5], F),
         np.array([0.5, 0.5, 4.0, 2.0, -1.0, 0.5], F))


def test_scatter_min_of_a_fuzzed_program():
    """Seed 192 as the fuzzer wrote it (under jit(jacfwd))."""
    def build(m):
        np, lax = m.numpy, m.lax

        def f0(x0, x1, x2):
            v3 = x0.at[x1 % 1].min(x2)
            v4 = np.power(np.abs(x0) + 0.5, np.tanh(v3))
            v5 = lax.while_loop(lambda c: (c[0] < 6) & (np.sum(c[1]) < 4.0),
                                lambda c: (c[0] + 1, c[1] + np.abs(np.sin(c[1])) + 0.1),
                                (0, v4))[1]
            return [v5[0]]
        return m.jit(lambda x0, x1, x2: m.jacfwd(lambda x0, x2: f0(x0, x1, x2),
                                                  argnums=(0, 1))(x0, x2))
    same(build, np.array([[0.117, -1.383, 0.510]], F), np.array([3, 2], np.int32),
         np.array([[0.330, 1.549, -1.543], [-1.522, 1.508, 0.376]], F))


@pytest.mark.parametrize("op", ["min", "max"])
def test_scatter_min_max_derivative_with_dropped_updates(op):
    """Seeds 702 and 1188: `x1.at[v6].max(0.5, mode='drop')` with v6 out of bounds gave NaN
    cotangents (the coefficients of a dropped update, read at a clamped position, divided
    by a count of 0); dropped updates now contribute nothing, as in JAX."""
    def build(m):
        def f(x, u):
            return getattr(x.at[m.numpy.array([5, 0, -9, 1, 0])], op)(u, mode="drop")
        return lambda x, u: (m.jacrev(f, argnums=(0, 1))(x, u), m.jacfwd(f, argnums=(0, 1))(x, u),
                             m.grad(lambda x: m.numpy.sum(getattr(x.at[m.numpy.array([7])], op)(
                                 0.5, mode="drop") ** 2))(x))
    same(build, np.array([1.0, 2.0, 3.0], F), np.array([0.5, 0.5, 4.0, 2.0, -1.0], F))


def test_abs_derivative_at_zero_and_nan():
    """Seed 1994 (`np.copysign(v2, v2)` under jacfwd, v2 with NaN from `take`'s fill): xform
    differentiated |x| as sign(x), which is 0 at 0 and NaN at NaN; JAX's rule is +1 where
    x >= 0 (0 and -0 included) and -1 elsewhere."""
    def build(m):
        np = m.numpy
        return lambda x: (m.jvp(lambda x: np.copysign(x, x), (x,), (np.ones_like(x),))[1],
                          m.vmap(m.grad(np.abs))(x), m.jacfwd(lambda x: np.abs(x) * x)(x))
    same(build, np.array([1.0, np.nan, -3.0, -0.0, 0.0], F))


def test_logaddexp_and_softplus_derivatives_at_a_tie():
    """With abs differentiated as JAX does (+1 at 0), logaddexp written with -|x1 - x2|
    had derivative 0 at x1 == x2; it has JAX's custom JVP now (first and second
    derivatives at the tie, issue 19)."""
    def build(m):
        np, nn = m.numpy, m.nn
        return lambda x, y: (m.grad(lambda a, b: np.sum(np.logaddexp(a, b)), (0, 1))(x, y),
                             m.grad(lambda a, b: np.sum(np.logaddexp2(a, b)), (0, 1))(x, y),
                             m.vmap(m.grad(nn.softplus))(x), m.vmap(m.grad(nn.log_sigmoid))(x),
                             m.vmap(m.grad(m.grad(nn.softplus)))(x),
                             m.vmap(m.grad(m.grad(nn.log_sigmoid)))(x))
    same(build, np.array([0.0, 1.0, -2.0, 3.0], F), np.array([0.0, 1.0, 1.0, -3.0], F))


def test_second_derivative_of_a_quotient_rounds_as_jax():
    """Seed 1393 (vmap(jit(hessian)) of `np.sinc` near 0): the divisor's slope was
    -t (x / y) / y, JAX's is (-t x) y^-2; the second derivative of sin(y) / y at small y
    cancels enough that the two roundings differed by 1e-3."""
    def build(m):
        return m.jit(m.vmap(m.grad(m.grad(m.numpy.sinc))))
    same(build, np.array([-0.005998627748340368, 0.4137444794178009, 1e-3], F))
