"""lax.custom_linear_solve and lax.custom_root against JAX: values and derivatives of
first and second order in forward and reverse mode, with solvers JAX could not
differentiate (an unbounded while_loop), under jit and vmap, and their errors."""
import numpy as np
import pytest

import jax
import jax.numpy as jnp

import xform
import xform.numpy as xnp

A0 = np.array([[4., 1., 0.], [0.5, 3., 0.5], [0., 0.5, 2.]], np.float32)
B = np.array([1., 2., 3.], np.float32)


def _cg_like(m):
    """A Jacobi iteration run to convergence by a while_loop: not reverse-differentiable
    itself, so every derivative must come from the implicit rule."""
    def solve(matvec, b):
        diag = matvec(m.ones_like(b)) * 0 + m.diag(_MAT[0])

        def body(x):
            return x + (b - matvec(x)) / diag

        def cond(x):
            return m.max(m.abs(matvec(x) - b)) > 1e-6
        return _lax(m).while_loop(cond, body, b / diag)
    return solve


_MAT = [None]


def _lax(m):
    return xform.lax if m is xnp else jax.lax


def _program(m, symmetric=False, has_aux=False):
    def f(s, b):
        A = m.asarray(A0 if not symmetric else A0 + A0.T) * s
        _MAT[0] = A

        def solve(mv, bb):
            x = m.linalg.solve(A, bb)
            return (x, m.sum(x)) if has_aux else x

        def tsolve(vm, bb):
            x = m.linalg.solve(A.T, bb)
            return (x, m.sum(x)) if has_aux else x
        out = _lax(m).custom_linear_solve(lambda x: A @ x, b, solve, tsolve,
                                        symmetric=symmetric, has_aux=has_aux)
        x = out[0] if has_aux else out
        return m.sum(m.sin(x)) * s
    return f


def _close(a, b, tol=2e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


@pytest.mark.parametrize("symmetric,has_aux", [(False, False), (True, False), (False, True)])
def test_linear_solve_matches_jax_to_second_order(symmetric, has_aux):
    xf, jf = _program(xnp, symmetric, has_aux), _program(jnp, symmetric, has_aux)
    args = (np.float32(1.5), B)
    _close(xf(*args), jf(*args))
    for xt, jt in ((xform.grad, jax.grad), (xform.jacfwd, jax.jacfwd)):
        for argnums in (0, 1):
            _close(xt(xf, argnums)(*args), jt(jf, argnums)(*args))
    _close(xform.hessian(xf, 1)(*args), jax.hessian(jf, 1)(*args), 1e-4)
    _close(xform.grad(xform.grad(xf))(*args), jax.grad(jax.grad(jf))(*args), 1e-4)
    _close(xform.jacfwd(xform.jacfwd(xf))(*args), jax.jacfwd(jax.jacfwd(jf))(*args), 1e-4)
    _close(xform.jit(xform.grad(xf, 1))(*args), jax.grad(jf, 1)(*args))
    ss = np.array([1.0, 2.0], np.float32)
    _close(xform.vmap(xform.grad(xf), (0, None))(ss, B), jax.vmap(jax.grad(jf), (0, None))(ss, B))


def test_linear_solve_differentiates_a_while_loop_solver_implicitly():
    def f(m):
        def g(s):
            A = m.asarray(A0) * s
            _MAT[0] = A
            return m.sum(_lax(m).custom_linear_solve(lambda x: A @ x, B, _cg_like(m),
                                                   _cg_like(m)) ** 2)
        return g
    _close(xform.grad(f(xnp))(2.0), jax.grad(f(jnp))(2.0), 1e-4)
    _close(xform.grad(xform.grad(f(xnp)))(2.0), jax.grad(jax.grad(f(jnp)))(2.0), 1e-4)


def test_linear_solve_without_transpose_solve_is_forward_only():
    def f(s):
        A = xnp.asarray(A0) * s
        return xnp.sum(xform.lax.custom_linear_solve(
            lambda x: A @ x, B, lambda mv, b: xnp.linalg.solve(A, b)))
    want = jax.jacfwd(lambda s: jnp.sum(jnp.linalg.solve(jnp.asarray(A0) * s, B)))(2.0)
    _close(xform.jacfwd(f)(2.0), want)
    with pytest.raises(TypeError, match="transpose_solve"):
        xform.grad(f)(2.0)


def test_linear_solve_errors_name_the_bad_function():
    A = xnp.asarray(A0)
    with pytest.raises(TypeError, match="solve must return the structure of b"):
        xform.lax.custom_linear_solve(lambda x: A @ x, B, lambda mv, b: (b, b))
    with pytest.raises(TypeError, match="matvec must be callable"):
        xform.lax.custom_linear_solve(A, B, lambda mv, b: b)


def _sqrt_root(m):
    def f(a):
        def solve(g, x0):   # Newton iterations: the implicit rule differentiates, not these
            return _lax(m).fori_loop(0, 30, lambda i, x: x - g(x) / (2 * x), x0)
        return _lax(m).custom_root(lambda x: x ** 2 - a, 1.0, solve, lambda g, y: y / g(1.0))
    return f


def test_custom_root_matches_jax_to_second_order():
    xf, jf = _sqrt_root(xnp), _sqrt_root(jnp)
    for a in (2.0, 9.0):
        _close(xf(a), jf(a))
        _close(xform.grad(xf)(a), jax.grad(jf)(a))
        _close(xform.jacfwd(xf)(a), jax.jacfwd(jf)(a))
        _close(xform.grad(xform.grad(xf))(a), jax.grad(jax.grad(jf))(a))
        _close(xform.jit(xform.grad(xf))(a), jax.grad(jf)(a))
    aa = np.array([2.0, 9.0], np.float32)
    _close(xform.vmap(xform.grad(xf))(aa), jax.vmap(jax.grad(jf))(aa))


def test_custom_root_with_aux_and_a_vector_unknown():
    def f(m):
        def g(p):
            def fn(x):
                return m.stack([x[0] ** 3 - p[0], x[1] * 2 - p[1]])

            def solve(fun, x0):
                def body(i, x):
                    return x - fun(x) / m.stack([3 * x[0] ** 2, 2.0])
                x = _lax(m).fori_loop(0, 40, body, x0)
                return x, m.sum(fun(x))

            def tsolve(lin, y):
                return m.linalg.solve(jax.jacobian(lin)(y) if m is jnp else
                                      xform.jacobian(lin)(y), y)
            x, aux = _lax(m).custom_root(fn, m.ones(2), solve, tsolve, has_aux=True)
            return m.sum(x ** 2) + aux * 0
        return g
    p = np.array([8.0, 3.0], np.float32)
    _close(f(xnp)(p), f(jnp)(p))
    _close(xform.grad(f(xnp))(p), jax.grad(f(jnp))(p), 1e-4)


def test_custom_root_errors_name_the_bad_function():
    with pytest.raises(TypeError, match="tangent_solve must be callable"):
        xform.lax.custom_root(lambda x: x, 1.0, lambda f, x: x, None)
    with pytest.raises(TypeError, match="initial_guess"):
        xform.lax.custom_root(lambda x: x, 1.0, lambda f, x: (x, x), lambda g, y: y)


def test_integer_aux_outputs_have_zero_tangents():
    """An iteration count returned as aux (an int) passes through every derivative."""
    def f(m):
        def g(a):
            def solve(fn, x0):
                x = _lax(m).fori_loop(0, 20, lambda i, x: x - fn(x) / (2 * x), x0)
                return x, m.int32(20)
            x, n = _lax(m).custom_root(lambda y: y ** 2 - a, 1.0, solve,
                                       lambda lin, y: y / lin(1.0), has_aux=True)
            return x * n
        return g
    # (JAX itself rejects this program: its custom_root gives the int aux an int tangent)
    for xt in (xform.grad, xform.jacfwd):
        _close(xt(f(xnp))(2.0), np.float32(10 / np.sqrt(2.0)))
