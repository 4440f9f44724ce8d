"""The decompositions (primitives/linalg.py) under every transform."""
from __future__ import annotations

import numpy as np

from primitives import dtypes, linalg as _linalg_ops

from ..transforms.ad_util import (
    A, add_tangents, aval_of, D, M, NEG, NonDifferentiableError, S, weak_const, where_eqn,
    Zero)
from ..transforms.batching import bdim_at, RULES
from ..transforms.jvp import JVP
from ..transforms.transpose import _lin, TRANSPOSE
from .. import lax
from ..core import bind
from ..lax import linalg as _la


# --- linalg (primitives/linalg.py) -------------------------------------------------------------------
# JVP rules are composites: matrix products, triangular solves and the decompositions'
# own outputs (the standard matrix-calculus results).  triangular_solve is the only
# linalg op that is linear in an operand (b), so it alone has a transpose rule.

_MM, _ADJ = _la.matmul, _la.adjoint


def _linalg_cast(x, like):
    """Real ``x`` in the (possibly complex) dtype of ``like``."""
    return lax.convert_element_type(x, aval_of(like).dtype)


def _reciprocal_gaps(w):
    """``F[..., i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it."""
    n = aval_of(w).shape[-1]
    gaps = S(_la.expand_last(w, n, -2), _la.expand_last(w, n, -1))
    eye = _la.eye_like(gaps)
    return S(D(weak_const(gaps, 1.0), A(gaps, eye)), eye)


def _cholesky_jvp(primals, tangents):
    a, = primals
    t, = tangents
    l = bind(_linalg_ops.cholesky, a)
    t = _la.hermitian_from_triangle(t, lower=True)   # the op reads the lower triangle only
    # dL = L phi(L^-1 dA L^-H), phi = lower triangle with the diagonal halved
    x = _la.triangular_solve(l, t, left_side=True, lower=True)
    x = _la.triangular_solve(l, x, left_side=False, lower=True, transpose_a=True,
                             conjugate_a=True)
    phi = S(_la.tril(x), M(_la.diagonal_matrix(_la.diagonal(x)), weak_const(x, 0.5)))
    return [l], [_MM(l, phi)]


def _op_a(x, transpose_a, conjugate_a):
    if conjugate_a and dtypes.is_complex(aval_of(x).dtype):
        x = lax.conj(x)
    return _la.swap_last(x) if transpose_a else x


def _triangular_solve_jvp(primals, tangents, **params):
    a, b = primals
    ta, tb = tangents
    ts = _linalg_ops.triangular_solve
    x = bind(ts, a, b, **params)
    out = None if type(tb) is Zero else bind(ts, a, tb, **params)
    if type(ta) is not Zero:
        # d op(a)^-1 = -op(a)^-1 op(da) op(a)^-1, with da restricted to what the op reads
        lower = params["lower"]
        da = _la.tril(ta, -1 if params["unit_diagonal"] else 0) if lower else \
            _la.triu(ta, 1 if params["unit_diagonal"] else 0)
        op_da = _op_a(da, params["transpose_a"], params["conjugate_a"])
        rhs = _MM(op_da, x) if params["left_side"] else _MM(x, op_da)
        out = add_tangents(out, NEG(bind(ts, a, rhs, **params)))
    return [x], [out]


def _triangular_solve_t(ct, a, b, *, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    if _lin(a):
        raise NonDifferentiableError("triangular_solve is not linear in its matrix a")
    # the transpose of op(a)^-1 is op(a)^-T: flip transpose_a, keep the conjugation
    return [None, bind(_linalg_ops.triangular_solve, a, ct, left_side=left_side, lower=lower,
                       transpose_a=not transpose_a, conjugate_a=conjugate_a,
                       unit_diagonal=unit_diagonal)]


def _lu_jvp(primals, tangents):
    a, = primals
    t, = tangents
    lu, pivots = bind(_linalg_ops.lu, a)
    *batch, m, n = aval_of(a).shape
    k = min(m, n)
    perm = _la.lu_pivots_to_permutation(pivots, m)
    t = _MM(_la.permutation_matrix(perm, aval_of(a).dtype), t)      # P dA
    # square unit-lower l (m x m) and upper u (n x n): the factors padded with identity
    l = _la.pad_to_square(A(_la.tril(_la.take_cols(lu, k), -1),
                            _la.eye_like(lu, (*batch, m, k))), lower=True)
    u = _la.pad_to_square(_la.triu(_la.take_rows(lu, k)), lower=False)
    x = _la.triangular_solve(l, t, left_side=True, lower=True, unit_diagonal=True)
    x = _la.triangular_solve(u, x, left_side=False, lower=False)   # l^-1 P dA u^-1
    dlu = A(_MM(l, _la.tril(x, -1)), _MM(_la.triu(x), u))
    return [lu, pivots], [dlu, Zero(aval_of(pivots))]


def _qr_jvp(primals, tangents, *, full_matrices):
    a, = primals
    t, = tangents
    q, r = bind(_linalg_ops.qr, a, full_matrices=full_matrices)
    m, n = aval_of(a).shape[-2:]
    if m < n:   # a = [x | y]: q, r_x = qr(x), r_y = q^H y
        dq, dr_x = _qr_tangents(q, _la.take_cols(r, m), _la.take_cols(t, m))
        dr_y = A(_MM(_ADJ(dq), _la.drop_cols(a, m)), _MM(_ADJ(q), _la.drop_cols(t, m)))
        return [q, r], [dq, lax.concatenate([dr_x, dr_y], aval_of(a).ndim - 1)]
    if full_matrices and m > n:
        raise NotImplementedError(
            f"the derivative of qr with full_matrices=True (mode='complete') of a tall matrix "
            f"{aval_of(a).str_short()} is not unique; use full_matrices=False (mode='reduced')"
            f"{where_eqn()}")
    dq, dr = _qr_tangents(q, r, t)
    return [q, r], [dq, dr]


def _qr_tangents(q, r, t):
    """dq, dr of a = q r for square-or-tall a with invertible r."""
    dx_rinv = _la.triangular_solve(r, t, left_side=False, lower=False)    # dA r^-1
    qt_dx_rinv = _MM(_ADJ(q), dx_rinv)
    low = _la.tril(qt_dx_rinv, -1)
    omega = S(low, _ADJ(low))           # q^H dq: skew-Hermitian
    if dtypes.is_complex(aval_of(t).dtype):   # ... whose diagonal is imaginary
        d = _la.diagonal(qt_dx_rinv)
        omega = A(omega, _la.diagonal_matrix(S(d, _linalg_cast(lax.real(d), d))))
    dq = A(_MM(q, S(omega, qt_dx_rinv)), dx_rinv)
    dr = _MM(S(qt_dx_rinv, omega), r)
    return dq, dr


def _eigh_jvp(primals, tangents, *, lower):
    a, = primals
    t, = tangents
    v, w = bind(_linalg_ops.eigh, a, lower=lower)
    t = _la.hermitian_from_triangle(t, lower=lower)
    vt_dt_v = _MM(_ADJ(v), _MM(t, v))
    dw = lax.real(_la.diagonal(vt_dt_v)) if dtypes.is_complex(aval_of(a).dtype) else \
        _la.diagonal(vt_dt_v)
    dv = _MM(v, M(_linalg_cast(_reciprocal_gaps(w), v), vt_dt_v))
    return [v, w], [dv, dw]


def _svd_jvp(primals, tangents, *, full_matrices, compute_uv):
    a, = primals
    t, = tangents
    m, n = aval_of(a).shape[-2:]
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError(
            f"the derivative of svd with full_matrices=True of a non-square matrix "
            f"{aval_of(a).str_short()} is not defined (the extra singular vectors are not "
            f"unique); use full_matrices=False{where_eqn()}")
    s, u, vh = bind(_linalg_ops.svd, a, full_matrices=False, compute_uv=True)
    v = _ADJ(vh)
    ds_mat = _MM(_ADJ(u), _MM(t, v))                  # u^H dA v
    ds = _la.diagonal(ds_mat)
    ds = lax.real(ds) if dtypes.is_complex(aval_of(a).dtype) else ds
    if not compute_uv:
        return [s], [ds]
    k = aval_of(s).shape[-1]
    s_row = _linalg_cast(_la.expand_last(s, k, -2), a)   # s[j] at [i, j]
    s_col = _la.swap_last(s_row)                         # s[i] at [i, j]
    f = _linalg_cast(_reciprocal_gaps(M(s, s)), a)      # 1 / (s_j^2 - s_i^2)
    s_safe_inv = _la.safe_reciprocal(s)
    # the imaginary diagonal of u^H du (complex only; zero for real matrices)
    du_diag = M(M(S(ds_mat, _ADJ(ds_mat)), weak_const(ds_mat, 0.5)),
                _la.diagonal_matrix(_linalg_cast(s_safe_inv, a)))
    du = _MM(u, A(M(f, A(M(ds_mat, s_row), _ADJ(M(ds_mat, s_row)))), du_diag))
    dv = _MM(v, M(f, A(M(s_col, ds_mat), _ADJ(M(s_col, ds_mat)))))
    if m > n:   # the part of dA outside u's span moves u
        dav = _MM(t, v)
        inv_rows = _linalg_cast(_la.expand_last(s_safe_inv, m, -2), a)
        du = A(du, M(S(dav, _MM(u, _MM(_ADJ(u), dav))), inv_rows))
    if n > m:
        dahu = _MM(_ADJ(t), u)
        inv_rows = _linalg_cast(_la.expand_last(s_safe_inv, n, -2), a)
        dv = A(dv, M(S(dahu, _MM(v, _MM(vh, dahu))), inv_rows))
    return [s, u, vh], [ds, du, _ADJ(dv)]


def _eig_vec_jvp(w, v, da):
    """``dw, dv`` for ``a v = v diag(w)`` (nondegenerate perturbation theory; each column
    of ``v`` has LAPACK geev's normalisation: unit 2-norm, largest component real)."""
    p = _MM(_la.solve(v, da), v)                       # v^-1 dA v
    dw = _la.diagonal(p)
    u = _MM(v, M(_reciprocal_gaps(w), p))
    # dv_j = u_j + c_j v_j; the normalisation fixes the free c_j:
    # c_j = -Re(v_j^H u_j) - i Im(u_kj) / Re(v_kj), k = argmax_i |v_ij| (the first of ties)
    shape = aval_of(v).shape
    rows = len(shape) - 2
    k = lax.argmax(lax.abs(v), rows, np.int32)
    at_k = lax.eq(lax.broadcasted_iota(np.int32, shape, rows), _la.expand_last(k, shape[-1], -2))
    mask = lax.convert_element_type(at_k, aval_of(v).dtype)

    def col_sum(x):
        return lax.reduce_sum(x, (rows,))
    c = lax.complex(NEG(lax.real(col_sum(M(lax.conj(v), u)))),
                    NEG(D(lax.imag(col_sum(M(mask, u))), lax.real(col_sum(M(mask, v))))))
    return dw, A(u, M(v, _la.expand_last(c, shape[-1], -2)))


def _eig_jvp(primals, tangents, *, compute_left_eigenvectors, compute_right_eigenvectors,
             enable_eigvec_derivs):
    a, = primals
    t, = tangents
    left, right = compute_left_eigenvectors, compute_right_eigenvectors
    if (left or right) and not enable_eigvec_derivs:
        raise NotImplementedError(
            "Derivatives of non-symmetric eigenvectors are only valid under assumptions on "
            "the input that cannot be checked (distinct eigenvalues, no ties for the largest "
            "component of an eigenvector); pass enable_eigvec_derivs=True to "
            "lax.linalg.eig to opt in, as in JAX (see "
            f"https://github.com/jax-ml/jax/issues/2748){where_eqn()}")
    outs = bind(_linalg_ops.eig, a, compute_left_eigenvectors=left,
                compute_right_eigenvectors=True, enable_eigvec_derivs=enable_eigvec_derivs)
    w, vr = outs[0], outs[-1]
    t = _linalg_cast(t, vr)
    if not (left or right):   # dw_j = (vr^-1 dA vr)_jj
        nd = aval_of(vr).ndim
        return [w], [lax.reduce_sum(M(_la.solve(vr, t), _la.swap_last(vr)), (nd - 1,))]
    dw, dvr = _eig_vec_jvp(w, vr, t)
    primal_out, tangent_out = [w], [dw]
    if left:   # the left eigenvectors are the right ones of a^H, for conj(w)
        vl = outs[1]
        primal_out.append(vl)
        tangent_out.append(_eig_vec_jvp(lax.conj(w), vl, _ADJ(t))[1])
    if right:
        primal_out.append(vr)
        tangent_out.append(dvr)
    return primal_out, tangent_out


def _no_derivative(name):
    def rule(primals, tangents, **params):
        raise NotImplementedError(
            f"Differentiation rule for {name!r} not implemented: lax.linalg.{name} has no "
            f"derivative (as in JAX){where_eqn()}; wrap its input in lax.stop_gradient if "
            f"no derivative is needed")
    return rule


JVP[_linalg_ops.cholesky] = _cholesky_jvp
JVP[_linalg_ops.triangular_solve] = _triangular_solve_jvp
JVP[_linalg_ops.lu] = _lu_jvp
JVP[_linalg_ops.qr] = _qr_jvp
JVP[_linalg_ops.eigh] = _eigh_jvp
JVP[_linalg_ops.svd] = _svd_jvp
JVP[_linalg_ops.eig] = _eig_jvp
for _p in (_linalg_ops.schur, _linalg_ops.hessenberg, _linalg_ops.tridiagonal):
    JVP[_p] = _no_derivative(_p.name)
TRANSPOSE[_linalg_ops.triangular_solve] = _triangular_solve_t


# --- linalg (primitives/linalg.py) ---------------------------------------------------------------
# The decompositions and triangular_solve take any leading batch dimensions: move the vmapped
# one to the front of every operand (broadcasting an unbatched operand of triangular_solve).


def _linalg_rule(prim):
    def rule(ax, args, dims, **params):
        xs = [bdim_at(x, d, 0, ax.size) for x, d in zip(args, dims)]
        outs = bind(prim, *xs, **params)
        outs = list(outs) if prim.multiple_results else [outs]
        return outs, [0] * len(outs)
    return rule


for _p in _linalg_ops.linalg.values():
    RULES[_p] = _linalg_rule(_p)
