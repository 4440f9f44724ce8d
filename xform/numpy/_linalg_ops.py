"""Products (``matmul``, ``dot``, ``vdot``, ``inner``, ``outer``, ``tensordot``, ``kron``,
``cross``, ``matvec``, ``vecmat``) and matrix structure (``diagonal``, ``trace``, ``diag``,
``tril``, ``triu``).  ``einsum`` is in _einsum, which builds on ``diagonal``."""
from __future__ import annotations

import builtins

import numpy as _onp

from primitives.dtypes import bool_

from .. import lax
from ..core import where as _where_msg
from ._core import (asarray, broadcast_arrays_for, broadcast_shapes, canonicalize_axes,
                    canonicalize_axis, promote_dtypes, stack)
from ._shape import broadcast_to, expand_dims, moveaxis, ravel, reshape
from ._creation import eye, tri, zeros
from ._ufuncs import conj, multiply
from ._reductions import sum
from ._selection import where
from ._indexing import take
from ._editing import pad

__all__ = ["matmul", "dot", "vdot", "vecdot", "inner", "outer", "tensordot",
           "kron", "cross", "matvec", "vecmat", "diagonal", "trace", "diag", "diagflat", "tril",
           "triu"]


def _mm_error(op, a, b):
    raise TypeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} are not aligned: "
                    f"contracting dimension {a.shape[-1] if a.ndim else '-'} != "
                    f"{b.shape[-2] if b.ndim > 1 else (b.shape[0] if b.ndim else '-')}"
                    f"{_where_msg()}")


def matmul(a, b, *, precision=None, preferred_element_type=None):
    a, b = promote_dtypes(a, b)
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must be at least 1-d, got shapes {a.shape} and "
                         f"{b.shape}{_where_msg()}")
    a_vec, b_vec = a.ndim == 1, b.ndim == 1
    if a.ndim <= 2 and b.ndim <= 2 and a.shape[-1] == b.shape[0]:
        # no batch dims: contract directly (a vector operand is not reshaped to a matrix,
        # which would leave reshapes and transposes of [n, 1] in every derivative)
        return lax.dot_general(a, b, (((a.ndim - 1,), (0,)), ((), ())),
                               precision=precision, preferred_element_type=preferred_element_type)
    if a_vec:
        a = reshape(a, (1, a.shape[0]))
    if b_vec:
        b = reshape(b, (b.shape[0], 1))
    if a.shape[-1] != b.shape[-2]:
        _mm_error("matmul", a if not a_vec else _ShapeOnly((a.shape[-1],)),
                  b if not b_vec else _ShapeOnly((b.shape[0],)))
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-2], op="matmul")
    nb = len(batch)
    # batch dims of size 1 that need no broadcasting are contracted as batch dims
    a = broadcast_to(a, batch + a.shape[-2:]) if a.shape[:-2] != batch else a
    b = broadcast_to(b, batch + b.shape[-2:]) if b.shape[:-2] != batch else b
    bd = tuple(range(nb))
    out = lax.dot_general(a, b, (((nb + 1,), (nb,)), (bd, bd)),
                          precision=precision, preferred_element_type=preferred_element_type)
    if a_vec:
        out = lax.squeeze(out, (nb,))
    if b_vec:
        out = lax.squeeze(out, (out.ndim - 1,))
    return out


class _ShapeOnly:
    def __init__(self, shape):
        self.shape = shape
        self.ndim = len(shape)


def dot(a, b, *, precision=None, preferred_element_type=None):
    a, b = promote_dtypes(a, b)
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if a.ndim == 1 and b.ndim == 1:
        if a.shape != b.shape:
            _mm_error("dot", a, _ShapeOnly((b.shape[0], 1)))
        return lax.dot_general(a, b, (((0,), (0,)), ((), ())),
                               precision=precision, preferred_element_type=preferred_element_type)
    bc = 0 if b.ndim == 1 else b.ndim - 2
    if a.shape[-1] != b.shape[bc]:
        _mm_error("dot", a, b if b.ndim > 1 else _ShapeOnly((b.shape[0], 1)))
    return lax.dot_general(a, b, (((a.ndim - 1,), (bc,)), ((), ())),
                           precision=precision, preferred_element_type=preferred_element_type)


def vdot(a, b, *, precision=None, preferred_element_type=None):
    a, b = asarray(a), asarray(b)
    return dot(ravel(conj(a)), ravel(b), precision=precision,
               preferred_element_type=preferred_element_type)


def vecdot(x1, x2, /, *, axis=-1, precision=None, preferred_element_type=None):
    # an elementwise product and a sum: exact in any precision; the sum accumulates in
    # preferred_element_type when one is given
    lax.canonical_precision(precision, "vecdot")
    x1, x2 = promote_dtypes(x1, x2)
    s1, s2 = x1.shape, x2.shape
    nd = builtins.max(len(s1), len(s2))
    if not s1 or not s2:
        raise ValueError(f"vecdot: x1 and x2 must have at least one dimension, got shapes "
                         f"{s1} and {s2}{_where_msg()}")
    ax = canonicalize_axis(axis, nd, "vecdot") - nd        # counted from the end
    if -ax > builtins.min(len(s1), len(s2)) or s1[ax] != s2[ax]:
        raise ValueError(f"vecdot: x1 and x2 must have the same size along axis {axis} (it "
                         f"is not broadcast), got shapes {s1} and {s2}{_where_msg()}")
    x1, x2 = broadcast_arrays_for("vecdot", x1, x2)
    # the product's dtype, as matmul (sum alone would widen small integers)
    dt = preferred_element_type if preferred_element_type is not None else \
        (None if x1.dtype == bool else x1.dtype)
    return sum(conj(x1) * x2, axis=ax, dtype=dt)


def inner(a, b, *, precision=None, preferred_element_type=None):
    a, b = promote_dtypes(a, b)
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if a.shape[-1] != b.shape[-1]:
        _mm_error("inner", a, _ShapeOnly((b.shape[-1], 1)))
    return lax.dot_general(a, b, (((a.ndim - 1,), (b.ndim - 1,)), ((), ())),
                           precision=precision, preferred_element_type=preferred_element_type)


def outer(a, b):
    a, b = ravel(a), ravel(b)
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def tensordot(a, b, axes=2, *, precision=None, preferred_element_type=None):
    a, b = promote_dtypes(a, b)
    a, b = asarray(a), asarray(b)
    if isinstance(axes, (int, _onp.integer)):
        if axes > builtins.min(a.ndim, b.ndim):
            raise TypeError(f"tensordot: {axes} axes exceed the ranks of {a.shape} and "
                            f"{b.shape}{_where_msg()}")
        ca = tuple(range(a.ndim - axes, a.ndim))
        cb = tuple(range(axes))
    else:
        ax_a, ax_b = axes
        ca = canonicalize_axes(ax_a if isinstance(ax_a, (list, tuple)) else (ax_a,), a.ndim)
        cb = canonicalize_axes(ax_b if isinstance(ax_b, (list, tuple)) else (ax_b,), b.ndim)
    if len(ca) != len(cb) or builtins.any(a.shape[i] != b.shape[j] for i, j in zip(ca, cb)):
        raise TypeError(f"tensordot: shape mismatch on contracted axes: {a.shape} axes {ca} vs "
                        f"{b.shape} axes {cb}{_where_msg()}")
    return lax.dot_general(a, b, ((ca, cb), ((), ())), precision=precision,
                           preferred_element_type=preferred_element_type)


def kron(a, b):
    a, b = promote_dtypes(a, b)
    a, b = asarray(a), asarray(b)
    nd = builtins.max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (nd - a.ndim) + a.shape)
    b = reshape(b, (1,) * (nd - b.ndim) + b.shape)
    out = multiply(reshape(a, [x for n in a.shape for x in (n, 1)]),
                   reshape(b, [x for n in b.shape for x in (1, n)]))
    return reshape(out, [x * y for x, y in zip(a.shape, b.shape)])


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = promote_dtypes(a, b)
    a, b = moveaxis(asarray(a), axisa, -1), moveaxis(asarray(b), axisb, -1)
    if a.shape[-1] == 2:
        a = pad(a, [(0, 0)] * (a.ndim - 1) + [(0, 1)])
    if b.shape[-1] == 2:
        b = pad(b, [(0, 0)] * (b.ndim - 1) + [(0, 1)])
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    c = stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], -1)
    return moveaxis(c, -1, axisc)


def matvec(x1, x2):
    x1, x2 = promote_dtypes(x1, x2)
    return sum(x1 * expand_dims(asarray(x2), -2), -1)


def vecmat(x1, x2):
    x1, x2 = promote_dtypes(x1, x2)
    return sum(expand_dims(conj(asarray(x1)), -1) * x2, -2)


def diagonal(a, offset=0, axis1=0, axis2=1):
    a = asarray(a)
    a = moveaxis(a, (axis1, axis2), (-2, -1))
    n, m = a.shape[-2], a.shape[-1]
    k = builtins.max(0, builtins.min(n + builtins.min(offset, 0), m - builtins.max(offset, 0)))
    r = _onp.arange(k) + builtins.max(-offset, 0)
    c = _onp.arange(k) + builtins.max(offset, 0)
    flat = reshape(a, a.shape[:-2] + (n * m,))
    return take(flat, asarray((r * m + c).astype(_onp.int32)), axis=-1)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def diag(v, k=0):
    v = asarray(v)
    if v.ndim == 1:
        n = v.shape[0] + builtins.abs(k)
        mask = eye(n, k=k, dtype=bool_)
        if k >= 0:
            grid = broadcast_to(reshape(pad(v, (0, k)), (n, 1)), (n, n))
        else:
            grid = broadcast_to(reshape(pad(v, (0, -k)), (1, n)), (n, n))
        return where(mask, grid, zeros((), v.dtype))
    if v.ndim == 2:
        return diagonal(v, k)
    raise ValueError("diag: input must be 1-d or 2-d")


def diagflat(v, k=0):
    return diag(ravel(v), k)


def tril(m, k=0):
    m = asarray(m)
    mask = tri(m.shape[-2], m.shape[-1], k, bool_)
    return where(mask, m, zeros((), m.dtype))


def triu(m, k=0):
    m = asarray(m)
    mask = tri(m.shape[-2], m.shape[-1], k - 1, bool_)
    return where(mask, zeros((), m.dtype), m)
