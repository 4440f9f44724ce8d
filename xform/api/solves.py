"""``custom_root`` and ``custom_linear_solve`` (``jax.lax``'s implicit-differentiation
solvers), written over ``custom_jvp``/``custom_vjp`` instead of meta-operators of their own.

The user's ``f`` (or ``matvec``) may close over values being differentiated.  Each is first
traced to a jaxpr whose captured values become explicit arguments (closure conversion), so
the derivative rules can see them:

* ``custom_linear_solve(matvec, b, solve, transpose_solve)``: ``x = A^-1 b``.  Reverse mode
  solves the transposed system with ``transpose_solve`` (``b̄ = A^-T x̄``, and the matrix's
  captured values get ``-(∂(A x)/∂C)^T b̄``); forward mode solves ``A ẋ = ḃ - (∂A/∂C Ċ) x``.
  Both recurse into ``custom_linear_solve``, so derivatives of any order stay solves and
  never differentiate the solver's iterations.
* ``custom_root(f, x0, solve, tangent_solve)``: ``f(x*) = 0``; by the implicit function
  theorem ``ẋ* = -(∂f/∂x)^-1 (∂f/∂C Ċ)``, the inverse applied by ``tangent_solve`` on the
  linearisation of ``f`` at the root.  Reverse mode transposes that tangent computation
  (``tangent_solve`` must be linear in its right-hand side, as in JAX).
"""
from __future__ import annotations

from ..core import trace as core
from ..core.pytree import tree_flatten, tree_map, tree_structure, tree_unflatten
from .. import lax
from .ad import jvp, linear_transpose, vjp
from .custom_derivatives import custom_jvp, custom_vjp


def _closure_convert(fun, x, what, same_structure=True):
    """``(g, consts, out_tree)`` with ``g(x, consts) == fun(x)`` for ``x`` of ``x``'s
    structure, the values ``fun`` captured (outer tracers included) moved into ``consts``."""
    leaves, tree = tree_flatten(x)
    avals = [core.leaf_aval(v, f"{what}: argument") for v in leaves]
    in_tree = tree_structure(((x,), {}))
    closed, out_tree = core.trace_to_jaxpr(fun, avals, in_tree, context=what)
    if same_structure and out_tree != tree:
        raise TypeError(f"{what} must return the structure of its input {tree}, got "
                        f"{out_tree}{core.where()}")
    jaxpr = closed.jaxpr

    def g(y, consts):
        return tree_unflatten(out_tree,
                              core.eval_jaxpr(jaxpr, list(consts), tree_flatten(y)[0]))
    return g, list(closed.consts), out_tree


def _sub(a, b):
    return tree_map(lambda u, v: u - v, a, b)


def _split(out, has_aux):
    return out if has_aux else (out, None)


def _solver(name, solve, op, b, has_aux):
    """``solve(op, .)`` closure-converted over ``b``; its captured values are held
    constant (a solver's own derivative is never used: the system defines it)."""
    def call(bb):
        out = solve(op, bb)
        if has_aux and not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(f"custom_linear_solve: with has_aux=True, {name} must return a "
                            f"pair (x, aux), got {type(out).__name__}{core.where()}")
        x = out[0] if has_aux else out
        if tree_structure(x) != tree_structure(b):
            raise TypeError(f"custom_linear_solve: {name} must return the structure of b "
                            f"{tree_structure(b)}, got {tree_structure(x)}{core.where()}")
        return out
    g, consts, _ = _closure_convert(call, b, f"custom_linear_solve: {name}",
                                    same_structure=False)
    return g, [lax.stop_gradient(c) for c in consts]


def custom_linear_solve(matvec, b, solve, transpose_solve=None, symmetric=False,
                        has_aux=False):
    """``solve(matvec, b)``, differentiated as the solution of the linear system
    ``matvec(x) = b`` (``jax.lax.custom_linear_solve``).  ``solve(matvec, b)`` and
    ``transpose_solve(vecmat, b)`` return ``x`` (and an aux value with ``has_aux``);
    ``symmetric=True`` says ``matvec`` is its own transpose."""
    for name, fn in (("matvec", matvec), ("solve", solve)):
        if not callable(fn):
            raise TypeError(f"custom_linear_solve: {name} must be callable, got "
                            f"{type(fn).__name__}{core.where()}")
    has_aux = bool(has_aux)
    mv, mc, _ = _closure_convert(matvec, b, "custom_linear_solve: matvec")
    sv, sc = _solver("solve", solve, matvec, b, has_aux)
    tv = tc = None
    if transpose_solve is not None:
        if symmetric:
            vecmat = matvec
        else:
            def vecmat(v):
                return linear_transpose(matvec, b)(v)[0]
        tv, tc = _solver("transpose_solve", transpose_solve, vecmat, b, has_aux)
    return _linear_solve((mv, mc), (sv, sc), (tv, tc), b, bool(symmetric), has_aux)


def _linear_solve(m, s, t, b, symmetric, has_aux):
    """``s`` solves ``m``'s system, ``t`` its transpose; each a (function, consts) pair.
    Only ``m``'s consts and ``b`` are differentiated."""
    mv = m[0]

    def run(mc, sc, tc, b):
        return s[0](b, sc)

    f = custom_vjp(run)

    def fwd(mc, sc, tc, b):
        # the residual x is f's own output, so that a higher-order derivative of bwd sees
        # x's dependence on the matrix (run's solver consts are held constant)
        out = f(mc, sc, tc, b)
        return out, (mc, sc, tc, _split(out, has_aux)[0])

    def bwd(res, ct):
        mc, sc, tc, x = res
        ct_x = _split(ct, has_aux)[0]
        if t[0] is None:
            raise TypeError(f"custom_linear_solve: reverse-mode differentiation needs "
                            f"transpose_solve{core.where()}")
        if symmetric:
            vm = mv
        else:
            def vm(v, cs):
                return linear_transpose(lambda u: mv(u, cs), x)(v)[0]
        ct_b = _split(_linear_solve((vm, mc), (t[0], tc), (s[0], sc), ct_x, symmetric,
                                    has_aux), has_aux)[0]
        _, pull = vjp(lambda cs: mv(x, cs), mc)
        ct_m = tree_map(lambda c: -c if _inexact(c) else c, pull(ct_b)[0])
        return ct_m, None, None, ct_b

    def fjvp(primals, tangents):
        mc, sc, tc, b = primals
        dmc, _, _, db = tangents
        out = f(mc, sc, tc, b)
        x, aux = _split(out, has_aux)
        _, da_x = jvp(lambda cs: mv(x, cs), (mc,), (dmc,))
        dx = _split(_linear_solve((mv, mc), (s[0], sc), (t[0], tc), _sub(db, da_x), symmetric,
                                  has_aux), has_aux)[0]
        return out, ((dx, tree_map(_zero_tangent, aux)) if has_aux else dx)

    f.defvjp(fwd, bwd)
    f.defjvp(fjvp)
    return f(m[1], s[1], t[1] if t[1] is not None else [], b)


def _inexact(c):
    return c is not None and getattr(c, "dtype", None) is not None and c.dtype.kind in "fc"


def _zero_tangent(a):
    """The zero tangent of an aux output (zeros of its own dtype: xform's custom rules
    take integer tangents as zeros of the integer type)."""
    return lax.full_like(a, 0)


def custom_root(f, initial_guess, solve, tangent_solve, has_aux=False):
    """``solve(f, initial_guess)``, a root of ``f``, differentiated implicitly
    (``jax.lax.custom_root``): ``tangent_solve(g, y)`` must solve ``g(x) = y`` for the
    linear ``g`` (the Jacobian of ``f`` at the root, applied)."""
    for name, fn in (("f", f), ("solve", solve), ("tangent_solve", tangent_solve)):
        if not callable(fn):
            raise TypeError(f"custom_root: {name} must be callable, got {type(fn).__name__}"
                            f"{core.where()}")
    fx, consts, _ = _closure_convert(f, initial_guess, "custom_root: f")
    x_tree = tree_structure(initial_guess)

    def run(consts, x0):
        out = solve(lambda v: fx(v, consts), x0)
        x, _ = _split(out, has_aux)
        if tree_structure(x) != x_tree:
            raise TypeError(f"custom_root: solve must return the structure of initial_guess "
                            f"{x_tree}, got {tree_structure(x)}{core.where()}")
        return out

    root = custom_jvp(run)

    @root.defjvp
    def _(primals, tangents):
        consts, x0 = primals
        dconsts, _ = tangents
        out = root(consts, x0)
        x, aux = _split(out, has_aux)
        _, rhs = jvp(lambda cs: fx(x, cs), (consts,), (dconsts,))

        def lin(v):
            return jvp(lambda y: fx(y, consts), (x,), (v,))[1]
        dx = tree_map(lambda t: -t, tangent_solve(lin, rhs))
        if has_aux:
            return out, (dx, tree_map(_zero_tangent, aux))
        return out, dx

    return root(consts, initial_guess)
