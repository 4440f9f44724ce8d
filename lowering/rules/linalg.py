"""Lowering rules of the ``linalg`` family (primitives/linalg.py): LAPACK on CPU,
cuSOLVER on GPU.

StableHLO has ``cholesky`` and ``triangular_solve`` but no LU, QR, eigh or SVD, so
these call jaxlib's registered FFI custom-call targets, written exactly as JAX's
own lowering writes them (tests/test_linalg.py compares the text with JAX's):

* ``api_version = 1`` with the FFI attributes in a ``mhlo.backend_config``
  dictionary (XLA takes a dictionary config as the typed-FFI calling convention);
* matrices in column-major layout (``operand_layouts``/``result_layouts`` list
  dimensions minor to major: ``[n-2, n-1, n-3, ..., 0]``), everything of lower
  rank (pivots, taus, eigenvalues, info) row-major;
* the matrix operand aliased to the first result where JAX aliases it (the solvers
  work in place; geev's results are all fresh buffers);
* ``info`` (one int32 per matrix) turned into NaNs where the solver failed.

Which library is called depends on the platform the module is lowered for
(``lowering_platform()``).  Target names and attributes were checked against JAX
0.10.2 and 0.11 (their lowering rules for these targets are the same).
"""
from __future__ import annotations

import numpy as np

from primitives import dtypes
from primitives import linalg as L
from primitives.core import ShapedArray

from .. import _jaxlib
from ..emitter import (RULES, cmp, full, i64s, in_avals_of, lowering_platform, out_avals_of,
                       select)

_I32 = np.dtype("int32")
_LAPACK_PREFIX = {"float32": "s", "float64": "d", "complex64": "c", "complex128": "z"}
_GPU_SOLVER = {"cuda": "cusolver", "rocm": "hipsolver"}


def _solver(platform, what):
    """'lapack' / 'cusolver' / 'hipsolver' for ``platform``, with its targets registered."""
    if platform == "cpu":
        lib = "lapack"
    elif platform in _GPU_SOLVER:
        lib = _GPU_SOLVER[platform]
    else:
        raise NotImplementedError(f"linalg.{what} has no lowering for platform {platform!r} "
                                  f"(supported: cpu, cuda, rocm)")
    _jaxlib.ensure_linalg_targets(platform)
    return lib


def _lapack_name(base, dtype):
    return f"lapack_{_LAPACK_PREFIX[np.dtype(dtype).name]}{base}_ffi"


def _char(c: str) -> str:
    return f"{ord(c)} : ui8"


def _bool(b) -> str:
    return "true" if b else "false"


def _layout(dims) -> str:
    dims = list(dims)
    if not dims:
        return "dense<> : tensor<0xindex>"
    return f"dense<[{', '.join(map(str, dims))}]> : tensor<{len(dims)}xindex>"


def _column_major(rank):
    return (rank - 2, rank - 1) + tuple(range(rank - 3, -1, -1))


def _row_major(rank):
    return tuple(range(rank - 1, -1, -1))


def custom_call(ctx, target, args, in_avals, out_avals, config, aliases, column_major=True):
    """An FFI custom call as JAX writes it; ``config`` maps attribute names to their
    text (``_char``/``_bool``), ``aliases`` maps operand index -> result index.
    Arrays of the operands' full rank are column-major when ``column_major``."""
    rank = max(a.ndim for a in in_avals)

    def layout(a):
        major = column_major and a.ndim == rank
        return _layout(_column_major(a.ndim) if major else _row_major(a.ndim))

    def alias(operand, result):
        idx = f"[{result}]" if len(out_avals) > 1 else "[]"
        return (f"#stablehlo.output_operand_alias<output_tuple_indices = {idx}, "
                f"operand_index = {operand}, operand_tuple_indices = []>")

    cfg = ", ".join(f"{k} = {v}" for k, v in sorted(config.items()))
    aliased = ", ".join(alias(o, r) for o, r in aliases.items())
    attrs = (f'api_version = 1 : i32, backend_config = "", call_target_name = "{target}", '
             f"called_computations = [], has_side_effect = false, "
             f"operand_layouts = [{', '.join(layout(a) for a in in_avals)}], "
             f"{f'output_operand_aliases = [{aliased}], ' if aliases else ''}"
             f"result_layouts = [{', '.join(layout(a) for a in out_avals)}], "
             f"mhlo.backend_config = {{{cfg}}}, "
             f'mhlo.frontend_attributes = {{num_batch_dims = "{rank - 2}"}}')
    return ctx.op("stablehlo.custom_call", args, in_avals, out_avals, attrs)


def _nan_unless_ok(ctx, x, aval, info, info_aval, ok="EQ"):
    """``x`` where ``info <ok> 0`` (per matrix), NaN elsewhere (``nan + nan j`` if complex,
    as JAX)."""
    good = cmp(ctx, info, full(ctx, 0, info_aval), info_aval, ok)
    nb = info_aval.ndim
    good = ctx.broadcast(good, info_aval.update(dtype=dtypes.bool_), aval.shape, range(nb))
    nan = complex(np.nan, np.nan) if dtypes.is_complex(aval.dtype) else np.nan
    return select(ctx, good, x, full(ctx, nan, aval), aval)


def _keep_triangle(ctx, x, aval, lower):
    """Zero the strictly upper (``lower``) or strictly lower part of the matrices."""
    ia = aval.update(dtype=_I32)
    rows, cols = ctx.iota(ia, aval.ndim - 2), ctx.iota(ia, aval.ndim - 1)
    keep = cmp(ctx, rows, cols, ia, "GE" if lower else "LE")
    return select(ctx, keep, x, full(ctx, 0, aval), aval)


def _slice(ctx, x, aval, limits):
    """``x[..., :limits[0], :limits[1]]``."""
    out = aval.update(shape=aval.shape[:-2] + tuple(limits))
    return ctx.op1("stablehlo.slice", [x], [aval], out,
                   f"start_indices = {i64s([0] * aval.ndim)}, "
                   f"limit_indices = {i64s(out.shape)}, strides = {i64s([1] * aval.ndim)}")


def _batch_info(aval):
    return ShapedArray(aval.shape[:-2], _I32)


# --- rules ---------------------------------------------------------------------------------

def _cholesky(ctx, eqn, args):
    (x,), (a,) = args, in_avals_of(eqn)
    platform = lowering_platform()
    if platform == "tpu":   # no vendor solver: XLA's own expansion
        l = ctx.op1("stablehlo.cholesky", [x], [a], a, "lower = true")
        return [_keep_triangle(ctx, l, a, lower=True)]
    lib = _solver(platform, "cholesky")
    info = _batch_info(a)
    if lib == "lapack":
        target, cfg = _lapack_name("potrf", a.dtype), {"uplo": _char("L")}
    else:
        target, cfg = f"{lib}_potrf_ffi", {"lower": _bool(True)}
    l, ok = custom_call(ctx, target, [x], [a], [a, info], cfg, {0: 0})
    return [_keep_triangle(ctx, _nan_unless_ok(ctx, l, a, ok, info), a, lower=True)]


def _triangular_solve(ctx, eqn, args):
    (x, y), (a, b), p = args, in_avals_of(eqn), eqn.params
    transpose = p["transpose_a"]
    conjugate = p["conjugate_a"] and dtypes.is_complex(a.dtype)
    if conjugate and not transpose:   # neither library conjugates without transposing
        x = ctx.op1("chlo.conj", [x], [a], a)
        conjugate = False
    if lowering_platform() == "cpu":
        _solver("cpu", "triangular_solve")
        cfg = {"side": _char("L" if p["left_side"] else "R"),
               "uplo": _char("L" if p["lower"] else "U"),
               "trans_x": _char(("C" if conjugate else "T") if transpose else "N"),
               "diag": _char("U" if p["unit_diagonal"] else "N")}
        return custom_call(ctx, _lapack_name("trsm", a.dtype), [x, y], [a, b], [b], cfg, {1: 0})
    # GPU (cuBLAS trsm) and TPU: XLA's own op, as JAX does
    mode = ("ADJOINT" if conjugate else "TRANSPOSE") if transpose else "NO_TRANSPOSE"
    return ctx.op("stablehlo.triangular_solve", [x, y], [a, b], [b],
                  f"left_side = {_bool(p['left_side'])}, lower = {_bool(p['lower'])}, "
                  f"transpose_a = #stablehlo<transpose {mode}>, "
                  f"unit_diagonal = {_bool(p['unit_diagonal'])}")


def _lu(ctx, eqn, args):
    (x,), (a,), (_, piv) = args, in_avals_of(eqn), out_avals_of(eqn)
    lib = _solver(lowering_platform(), "lu")
    target = _lapack_name("getrf", a.dtype) if lib == "lapack" else f"{lib}_getrf_ffi"
    info = _batch_info(a)
    lu, piv1, ok = custom_call(ctx, target, [x], [a], [a, piv, info], {}, {0: 0})
    piv0 = ctx.op1("stablehlo.subtract", [piv1, full(ctx, 1, piv)], [piv, piv], piv)
    return [_nan_unless_ok(ctx, lu, a, ok, info, "GE"), piv0]   # info > 0: singular, fine


def _qr(ctx, eqn, args):
    (x,), (a,) = args, in_avals_of(eqn)
    full_matrices = eqn.params["full_matrices"]
    lib = _solver(lowering_platform(), "qr")
    *batch, m, n = a.shape
    k = min(m, n)
    taus = ShapedArray((*batch, k), a.dtype)
    if lib == "lapack":
        geqrf = _lapack_name("geqrf", a.dtype)
        orgqr = _lapack_name("ungqr" if dtypes.is_complex(a.dtype) else "orgqr", a.dtype)
    else:
        geqrf, orgqr = f"{lib}_geqrf_ffi", f"{lib}_orgqr_ffi"
    r, t = custom_call(ctx, geqrf, [x], [a], [a, taus], {}, {0: 0})
    # the reflectors go into orgqr as an m x (columns of q) matrix
    if m < n:
        h, ha = _slice(ctx, r, a, (m, m)), a.update(shape=(*batch, m, m))
    elif full_matrices and m > n:
        ha = a.update(shape=(*batch, m, m))
        zero = ctx.constant(0, ShapedArray((), a.dtype))
        h = ctx.op1("stablehlo.pad", [r, zero], [a, ShapedArray((), a.dtype)], ha,
                    f"edge_padding_low = {i64s([0] * a.ndim)}, "
                    f"edge_padding_high = {i64s([0] * (a.ndim - 1) + [m - n])}, "
                    f"interior_padding = {i64s([0] * a.ndim)}")
    else:
        h, ha = r, a
    q, = custom_call(ctx, orgqr, [h, t], [ha, taus], [ha], {}, {0: 0})
    r = _keep_triangle(ctx, r, a, lower=False)
    if not full_matrices and m > n:
        r = _slice(ctx, r, a, (n, n))
    return [q, r]


def _eigh(ctx, eqn, args):
    (x,), (a,), (_, w) = args, in_avals_of(eqn), out_avals_of(eqn)
    lower = eqn.params["lower"]
    lib = _solver(lowering_platform(), "eigh")
    if lib == "lapack":
        base = "heevd" if dtypes.is_complex(a.dtype) else "syevd"
        target = _lapack_name(base, a.dtype)
        cfg = {"mode": _char("V"), "uplo": _char("L" if lower else "U")}
    else:
        target, cfg = f"{lib}_syevd_ffi", {"algorithm": "0 : ui8", "lower": _bool(lower)}
    info = _batch_info(a)
    v, vals, ok = custom_call(ctx, target, [x], [a], [a, w, info], cfg, {0: 0})
    return [_nan_unless_ok(ctx, v, a, ok, info), _nan_unless_ok(ctx, vals, w, ok, info)]


def _svd(ctx, eqn, args):
    (x,), (a,) = args, in_avals_of(eqn)
    full_matrices, compute_uv = eqn.params["full_matrices"], eqn.params["compute_uv"]
    lib = _solver(lowering_platform(), "svd")
    *batch, m, n = a.shape
    k = min(m, n)
    s_aval = ShapedArray((*batch, k), dtypes.real_dtype(a.dtype))
    u_aval = a.update(shape=(*batch, m, m if full_matrices else k))
    vh_aval = a.update(shape=(*batch, n if full_matrices else k, n))
    info = _batch_info(a)
    if lib == "lapack":
        mode = "A" if full_matrices else "S"
        outs = custom_call(ctx, _lapack_name("gesdd", a.dtype), [x], [a],
                           [a, s_aval, u_aval, vh_aval, info],
                           {"mode": _char(mode if compute_uv else "N")}, {0: 0})
        _, s, u, vh, ok = outs
    elif m <= 1024 and n <= 1024:
        s, u, vh, ok = _gesvdj(ctx, lib, x, a, s_aval, full_matrices, compute_uv)
    else:
        s, u, vh, ok = _gesvd(ctx, lib, x, a, s_aval, u_aval, vh_aval, full_matrices, compute_uv)
    results = [_nan_unless_ok(ctx, s, s_aval, ok, info)]
    if compute_uv:
        results += [_nan_unless_ok(ctx, u, u_aval, ok, info),
                    _nan_unless_ok(ctx, vh, vh_aval, ok, info)]
    return results


def _gesvdj(ctx, lib, x, a, s_aval, full_matrices, compute_uv):
    """cuSOLVER's Jacobi SVD (what JAX uses up to 1024 x 1024): it returns ``v``, not
    ``vh``, and has an economy mode only worth using above 32 x 32."""
    *batch, m, n = a.shape
    k = min(m, n)
    econ = not full_matrices and m > 32 and n > 32
    u_aval = a.update(shape=(*batch, m, k if econ else m))
    v_aval = a.update(shape=(*batch, n, k if econ else n))
    info = _batch_info(a)
    _, s, u, v, ok = custom_call(ctx, f"{lib}_gesvdj_ffi", [x], [a],
                                 [a, s_aval, u_aval, v_aval, info],
                                 {"compute_uv": _bool(compute_uv),
                                  "full_matrices": _bool(not econ)}, {0: 0})
    if not compute_uv:
        return s, None, None, ok
    nb = len(batch)
    vh_aval = a.update(shape=(*batch, v_aval.shape[-1], n))
    vh = ctx.op1("stablehlo.transpose", [v], [v_aval], vh_aval,
                 f"permutation = {i64s(list(range(nb)) + [nb + 1, nb])}")
    if dtypes.is_complex(a.dtype):
        vh = ctx.op1("chlo.conj", [vh], [vh_aval], vh_aval)
    if not full_matrices and not econ:
        u = _slice(ctx, u, u_aval, (m, k))
        vh = _slice(ctx, vh, vh_aval, (k, n))
    return s, u, vh, ok


def _gesvd(ctx, lib, x, a, s_aval, u_aval, vh_aval, full_matrices, compute_uv):
    """cuSOLVER's QR-based SVD for large matrices; it wants ``m >= n``, so a wide
    matrix is passed row-major (its transpose, to the library) with u and vh swapped."""
    m, n = a.shape[-2:]
    transposed = m < n
    if not compute_uv:
        u_aval = vh_aval = ShapedArray((), a.dtype)
    info = _batch_info(a)
    first, second = (vh_aval, u_aval) if transposed else (u_aval, vh_aval)
    _, s, o1, o2, ok = custom_call(
        ctx, f"{lib}_gesvd_ffi", [x], [a], [a, s_aval, first, second, info],
        {"compute_uv": _bool(compute_uv), "full_matrices": _bool(full_matrices),
         "transposed": _bool(transposed)}, {0: 0}, column_major=not transposed)
    u, vh = (o2, o1) if transposed else (o1, o2)
    return s, u, vh, ok


def _cpu_only(what, jax_too=True):
    """LAPACK's target name root for ``what``; other platforms raise."""
    platform = lowering_platform()
    if platform != "cpu":
        why = ("as in JAX, which implements it on CPU only" if jax_too else
               "JAX's GPU lowering picks cuSOLVER's geev or its own hybrid kernel by the "
               "cuSOLVER version found at run time, which xform does not reproduce")
        raise NotImplementedError(f"linalg.{what} has no lowering for platform {platform!r}: "
                                  f"it runs on CPU only ({why})")
    _solver(platform, what)


def _eig(ctx, eqn, args):
    (x,), (a,), outs, p = args, in_avals_of(eqn), out_avals_of(eqn), eqn.params
    _cpu_only("eig", jax_too=False)
    left, right = p["compute_left_eigenvectors"], p["compute_right_eigenvectors"]
    real = not dtypes.is_complex(a.dtype)
    w_aval, vec = outs[0], a.update(dtype=outs[0].dtype)
    part = a.update(shape=a.shape[:-1])   # geev's eigenvalues: real and imaginary parts if real
    info = _batch_info(a)
    mode = {True: _char("V"), False: _char("N")}
    res = custom_call(ctx, _lapack_name("geev", a.dtype), [x], [a],
                      [part] * (2 if real else 1) + [vec, vec, info],
                      {"compute_left": mode[bool(left)], "compute_right": mode[bool(right)]}, {})
    *w, vl, vr, ok = res
    w = ctx.op1("stablehlo.complex", w, [part, part], w_aval) if real else w[0]
    results = [_nan_unless_ok(ctx, w, w_aval, ok, info)]
    results += [_nan_unless_ok(ctx, v, vec, ok, info) for v, on in ((vl, left), (vr, right)) if on]
    return results


def _schur(ctx, eqn, args):
    (x,), (a,) = args, in_avals_of(eqn)
    vectors = eqn.params["compute_schur_vectors"]
    _cpu_only("schur")
    part, info = a.update(shape=a.shape[:-1]), _batch_info(a)
    real = not dtypes.is_complex(a.dtype)
    t, z, *_, ok = custom_call(ctx, _lapack_name("gees", a.dtype), [x], [a],
                               [a, a] + [part] * (2 if real else 1) + [info, info],
                               {"mode": _char("V" if vectors else "N"), "sort": _char("N")},
                               {0: 0})
    return [_nan_unless_ok(ctx, v, a, ok, info) for v in ([t, z] if vectors else [t])]


def _hessenberg(ctx, eqn, args):
    (x,), (a,), (_, taus) = args, in_avals_of(eqn), out_avals_of(eqn)
    _cpu_only("hessenberg")
    info = _batch_info(a)
    h, t, ok = custom_call(ctx, _lapack_name("gehrd", a.dtype), [x], [a], [a, taus, info],
                           {"low": "1 : i32", "high": f"{a.shape[-1]} : i32"}, {0: 0})
    return [_nan_unless_ok(ctx, h, a, ok, info), _nan_unless_ok(ctx, t, taus, ok, info)]


def _tridiagonal(ctx, eqn, args):
    (x,), (a,), outs = args, in_avals_of(eqn), out_avals_of(eqn)
    lower = eqn.params["lower"]
    lib = _solver(lowering_platform(), "tridiagonal")
    if lib == "lapack":
        base = "hetrd" if dtypes.is_complex(a.dtype) else "sytrd"
        target, cfg = _lapack_name(base, a.dtype), {"uplo": _char("L" if lower else "U")}
    else:
        target, cfg = f"{lib}_sytrd_ffi", {"lower": _bool(lower)}
    info = _batch_info(a)
    *res, ok = custom_call(ctx, target, [x], [a], [*outs, info], cfg, {0: 0})
    return [_nan_unless_ok(ctx, r, o, ok, info) for r, o in zip(res, outs)]


RULES[L.cholesky] = _cholesky
RULES[L.triangular_solve] = _triangular_solve
RULES[L.lu] = _lu
RULES[L.qr] = _qr
RULES[L.eigh] = _eigh
RULES[L.svd] = _svd
RULES[L.eig] = _eig
RULES[L.schur] = _schur
RULES[L.hessenberg] = _hessenberg
RULES[L.tridiagonal] = _tridiagonal
