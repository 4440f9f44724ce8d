"""Convolutions: ``conv_general_dilated`` (the meta-operator) and the conveniences around it
(``conv``, ``conv_transpose``, layouts given as strings), plus the shape arithmetic JAX
exposes (``conv_general_shape_tuple``, ``conv_transpose_shape_tuple``, ...) and
``conv_general_dilated_patches``."""
from __future__ import annotations

import builtins

import numpy as np

from primitives import dtypes, ops
from primitives.ops import ConvDimensionNumbers

from ..core import bind, where
from .ops import aval, padtype_to_pads, rev, transpose
from .precision import canonical_precision

__all__ = ["conv_dimension_numbers", "conv_general_dilated", "conv", "conv_with_general_padding",
           "conv_transpose", "conv_general_permutations", "conv_general_shape_tuple",
           "conv_shape_tuple", "conv_transpose_shape_tuple", "conv_general_dilated_patches",
           "ConvDimensionNumbers"]


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers) -> ConvDimensionNumbers:
    """Normalise ``dimension_numbers`` to axis positions (a ``ConvDimensionNumbers``).

    Accepts ``None`` (``NCHW``/``OIHW``/``NCHW``-style defaults), a ``ConvDimensionNumbers``,
    three sequences of axis positions, or three layout strings such as
    ``('NHWC', 'HWIO', 'NHWC')``.  As in JAX, spatial dimensions are paired up in the order
    the kernel string lists them.
    """
    lhs_shape, rhs_shape = tuple(lhs_shape), tuple(rhs_shape)
    n = len(lhs_shape)
    if n != len(rhs_shape):
        raise TypeError(f"conv_dimension_numbers: lhs and rhs must have the same rank, got "
                        f"lhs shape {lhs_shape} and rhs shape {rhs_shape}")
    if n < 2:
        raise TypeError(f"conv_dimension_numbers: operands need rank >= 2 (batch/feature "
                        f"plus spatial dimensions), got shape {lhs_shape}")
    if dimension_numbers is None:
        default = tuple(range(n))
        return ConvDimensionNumbers(default, default, default)
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        specs = tuple(tuple(int(i) for i in s) for s in dimension_numbers)
    else:
        try:
            lhs_s, rhs_s, out_s = dimension_numbers
        except (TypeError, ValueError):
            raise TypeError("conv_dimension_numbers: dimension_numbers must be None, a "
                            "ConvDimensionNumbers or a triple of layout strings like "
                            f"('NHWC', 'HWIO', 'NHWC'), got {dimension_numbers!r}") from None
        if builtins.all(isinstance(s, str) for s in (lhs_s, rhs_s, out_s)):
            specs = _conv_specs_from_strings(lhs_s, rhs_s, out_s)
        else:
            specs = tuple(tuple(int(i) for i in s) for s in (lhs_s, rhs_s, out_s))
    for name, spec in zip(("lhs", "rhs", "out"), specs):
        if sorted(spec) != list(range(n)):
            raise TypeError(f"conv_dimension_numbers: the {name} spec {spec} is not a "
                            f"permutation of the {n} axes of operands of shape {lhs_shape}")
    return ConvDimensionNumbers(*specs)


def _conv_specs_from_strings(lhs_s, rhs_s, out_s):
    pairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for s, (a, b) in zip((lhs_s, rhs_s, out_s), pairs):
        if s.count(a) != 1 or s.count(b) != 1 or len(set(s)) != len(s):
            raise TypeError(f"conv_dimension_numbers: layout {s!r} must name {a!r} and "
                            f"{b!r} once each and no dimension twice")
    spatial = [c for c in rhs_s if c not in "OI"]
    if not set(lhs_s) - {"N", "C"} == set(spatial) == set(out_s) - {"N", "C"}:
        raise TypeError(f"conv_dimension_numbers: layouts {(lhs_s, rhs_s, out_s)} do not "
                        f"name the same spatial dimensions")

    def spec(s, first, second):
        return (s.index(first), s.index(second)) + tuple(s.index(c) for c in spatial)
    return spec(lhs_s, "N", "C"), spec(rhs_s, "O", "I"), spec(out_s, "N", "C")


def _spatial_tuple(name, what, value, nsp, default):
    """``value`` (None or a sequence of ints) as a tuple with one entry per spatial dim."""
    if value is None:
        return (default,) * nsp
    value = tuple(int(v) for v in value)
    if len(value) != nsp:
        raise ValueError(f"{name}: {what} needs one entry per spatial dimension ({nsp}), "
                         f"got {value}")
    return value


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, batch_group_count=1,
                         precision=None, preferred_element_type=None):
    """General n-d convolution (XLA ``Convolution``), with strides, padding, dilations and
    feature/batch groups.  ``padding`` is 'SAME', 'SAME_LOWER', 'VALID' or (lo, hi) pairs."""
    name = "conv_general_dilated"
    la, ra = aval(lhs), aval(rhs)
    dn = conv_dimension_numbers(la.shape, ra.shape, dimension_numbers)
    nsp = la.ndim - 2
    window_strides = _spatial_tuple(name, "window_strides", window_strides, nsp, 1)
    lhs_dilation = _spatial_tuple(name, "lhs_dilation", lhs_dilation, nsp, 1)
    rhs_dilation = _spatial_tuple(name, "rhs_dilation", rhs_dilation, nsp, 1)
    if isinstance(padding, str):
        if builtins.any(d != 1 for d in lhs_dilation):
            raise ValueError(f"{name}: string padding {padding!r} is not defined with "
                             f"lhs_dilation {lhs_dilation}; give explicit (lo, hi) pairs or "
                             f"use lax.conv_transpose")
        in_sp = [la.shape[d] for d in dn.lhs_spec[2:]]
        k_sp = [(ra.shape[d] - 1) * r + 1 for d, r in zip(dn.rhs_spec[2:], rhs_dilation)]
        padding = padtype_to_pads(in_sp, k_sp, window_strides, padding)
    try:
        padding = tuple((int(lo), int(hi)) for lo, hi in padding)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: padding must be 'SAME', 'SAME_LOWER', 'VALID' or a "
                         f"sequence of (low, high) pairs, got {padding!r}") from None
    if len(padding) != nsp:
        raise ValueError(f"{name}: padding needs one (low, high) pair per spatial dimension "
                         f"({nsp}), got {padding}")
    feature_group_count, batch_group_count = int(feature_group_count), int(batch_group_count)
    if feature_group_count < 1 or batch_group_count < 1:
        raise ValueError(f"{name}: feature_group_count ({feature_group_count}) and "
                         f"batch_group_count ({batch_group_count}) must be positive")
    if feature_group_count > 1 and batch_group_count > 1:
        raise ValueError(f"{name}: at most one of feature_group_count "
                         f"({feature_group_count}) and batch_group_count "
                         f"({batch_group_count}) may be > 1")
    pet = None if preferred_element_type is None else dtypes.canonicalize(preferred_element_type)
    return bind(ops.conv_general_dilated, lhs, rhs, window_strides=window_strides,
                padding=padding, lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
                dimension_numbers=dn, feature_group_count=feature_group_count,
                batch_group_count=batch_group_count,
                precision=canonical_precision(precision, "conv_general_dilated"),
                preferred_element_type=pet)


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """``conv_general_dilated`` in the NCHW/OIHW layout without dilation."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                              precision=None, preferred_element_type=None):
    """``conv_general_dilated`` in the NCHW/OIHW layout, with dilations."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
                                rhs_dilation=rhs_dilation, precision=precision,
                                preferred_element_type=preferred_element_type)


def _conv_transpose_pads(k, s, padding):
    """(lo, hi) padding of the dilated input that makes ``conv_transpose`` the transpose
    of a forward conv with kernel extent ``k``, stride ``s`` and ``padding``."""
    if padding == "SAME":
        total = k + s - 2
        lo = k - 1 if s > k - 1 else -(-total // 2)
    elif padding == "VALID":
        total = k + s - 2 + builtins.max(k - s, 0)
        lo = k - 1
    else:
        raise ValueError(f"conv_transpose: padding must be 'SAME', 'VALID' or (low, high) "
                         f"pairs, got {padding!r}")
    return lo, total - lo


_CONV_TRANSPOSE_LAYOUTS = {2: ("NC", "IO", "NC"), 3: ("NHC", "HIO", "NHC"),
                           4: ("NHWC", "HWIO", "NHWC"), 5: ("NHWDC", "HWDIO", "NHWDC")}


def conv_transpose(lhs, rhs, strides, padding, rhs_dilation=None, dimension_numbers=None,
                   transpose_kernel=False, precision=None, preferred_element_type=None):
    """Fractionally strided ("transposed") convolution: the input is dilated by ``strides``.

    Layouts default to TensorFlow's (``NHWC``/``HWIO``).  With ``transpose_kernel=True`` the
    kernel's spatial axes are flipped and its in/out features swapped, which makes the result
    the gradient of the forward conv with the same kernel.
    """
    la, ra = aval(lhs), aval(rhs)
    nd = la.ndim
    if nd != ra.ndim or nd < 2:
        raise ValueError(f"conv_transpose: lhs {la.str_short()} and rhs {ra.str_short()} "
                         f"must have the same rank >= 2")
    if dimension_numbers is None:
        if nd not in _CONV_TRANSPOSE_LAYOUTS:
            raise ValueError(f"conv_transpose: no default layout for rank {nd}; pass "
                             f"dimension_numbers")
        dimension_numbers = _CONV_TRANSPOSE_LAYOUTS[nd]
    dn = conv_dimension_numbers(la.shape, ra.shape, dimension_numbers)
    nsp = nd - 2
    strides = _spatial_tuple("conv_transpose", "strides", strides, nsp, 1)
    rhs_dilation = _spatial_tuple("conv_transpose", "rhs_dilation", rhs_dilation, nsp, 1)
    if isinstance(padding, str):
        k_sp = [(ra.shape[d] - 1) * r + 1 for d, r in zip(dn.rhs_spec[2:], rhs_dilation)]
        padding = [_conv_transpose_pads(k, s, padding.upper()) for k, s in zip(k_sp, strides)]
    if transpose_kernel:
        rhs = rev(rhs, dn.rhs_spec[2:])
        perm = list(range(nd))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = dn.rhs_spec[1], dn.rhs_spec[0]
        rhs = transpose(rhs, perm)
    return conv_general_dilated(lhs, rhs, (1,) * nsp, padding, strides, rhs_dilation, dn,
                                precision=precision,
                                preferred_element_type=preferred_element_type)


# --- shape arithmetic (as JAX's; no tracing) ----------------------------------------------

def conv_general_permutations(dimension_numbers):
    """For layout strings ``(lhs, rhs, out)``: the axis orders that bring each operand to
    ``NC<spatial>`` / ``OI<spatial>``, spatial axes in the kernel string's order."""
    try:
        lhs_s, rhs_s, out_s = dimension_numbers
    except (TypeError, ValueError):
        raise TypeError(f"conv_general_permutations: dimension_numbers must be three layout "
                        f"strings, got {dimension_numbers!r}{where()}") from None
    _conv_specs_from_strings(lhs_s, rhs_s, out_s)   # validates
    pairs = (("N", "C"), ("O", "I"), ("N", "C"))

    def perm(spec, pair):
        spatial = [i for i, c in enumerate(spec) if c not in pair]
        if spec is not rhs_s:
            spatial.sort(key=lambda i: rhs_s.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1])) + tuple(spatial)
    return tuple(perm(s, p) for s, p in zip((lhs_s, rhs_s, out_s), pairs))


def conv_shape_tuple(lhs_shape, rhs_shape, strides, pads, batch_group_count=1):
    """The output shape of a convolution of ``NC<spatial>`` by ``OI<spatial>`` operands."""
    lhs_shape, rhs_shape = tuple(lhs_shape), tuple(rhs_shape)
    if isinstance(pads, str):
        pads = padtype_to_pads(lhs_shape[2:], rhs_shape[2:], strides, pads)
    pads = [tuple(p) for p in pads]
    if len(pads) != len(lhs_shape) - 2:
        raise TypeError(f"conv_shape_tuple: {len(pads)} pads for {len(lhs_shape) - 2} spatial "
                        f"dimensions{where()}")
    padded = [n + lo + hi for n, (lo, hi) in zip(lhs_shape[2:], pads)]
    if builtins.any(p < 0 for p in padded):
        raise ValueError(f"conv_shape_tuple: padding {pads} removes more than the spatial "
                         f"dimensions {lhs_shape[2:]}{where()}")
    space = tuple(builtins.max(0, (p - k) // s + 1)
                  for p, k, s in zip(padded, rhs_shape[2:], strides))
    if lhs_shape[0] % batch_group_count:
        raise ValueError(f"conv_shape_tuple: batch {lhs_shape[0]} is not divisible by "
                         f"batch_group_count={batch_group_count}{where()}")
    return (lhs_shape[0] // batch_group_count, rhs_shape[0]) + space


def _in_order(shape, perm):
    return tuple(shape[i] for i in perm)


def _out_of_order(shape, perm):
    out = [0] * len(perm)
    for k, i in enumerate(perm):
        out[i] = shape[k]
    return tuple(out)


def conv_general_shape_tuple(lhs_shape, rhs_shape, window_strides, padding,
                             dimension_numbers):
    """``conv_shape_tuple`` for operands in the layouts named by ``dimension_numbers``."""
    lp, rp, op = conv_general_permutations(dimension_numbers)
    out = conv_shape_tuple(_in_order(lhs_shape, lp), _in_order(rhs_shape, rp),
                           window_strides, padding)
    return _out_of_order(out, op)


def conv_transpose_shape_tuple(lhs_shape, rhs_shape, window_strides, padding,
                               dimension_numbers):
    """The output shape of ``conv_transpose`` in the layouts of ``dimension_numbers``."""
    lp, rp, op = conv_general_permutations(dimension_numbers)
    lhs, rhs = _in_order(lhs_shape, lp), _in_order(rhs_shape, rp)
    if isinstance(padding, str):
        padding = [_conv_transpose_pads(k, s, padding.upper())
                   for k, s in zip(rhs[2:], window_strides)]
    space = tuple((n - 1) * s - k + 2 + builtins.sum(p)
                  for n, k, s, p in zip(lhs[2:], rhs[2:], window_strides, padding))
    return _out_of_order((lhs[0], rhs[0]) + space, op)


def conv_general_dilated_patches(lhs, filter_shape, window_strides, padding, lhs_dilation=None,
                                 rhs_dilation=None, dimension_numbers=None, precision=None,
                                 preferred_element_type=None):
    """The patches a convolution with a ``filter_shape`` window would see, flattened into
    the output's feature axis (ordered channel-major, then the filter's spatial axes): a
    grouped convolution with a one-hot kernel."""
    la = aval(lhs)
    filter_shape = tuple(int(k) for k in filter_shape)
    if len(filter_shape) != la.ndim - 2:
        raise ValueError(f"conv_general_dilated_patches: filter_shape {filter_shape} needs one "
                         f"entry per spatial dimension of lhs {la.shape}{where()}")
    dn = conv_dimension_numbers(la.shape, (1, 1) + filter_shape, dimension_numbers)
    size = int(np.prod(filter_shape))
    channels = la.shape[dn.lhs_spec[1]]
    eye = np.eye(size, dtype=la.dtype)
    kernel = np.broadcast_to(eye, (channels, size, size)).reshape(
        (channels * size, 1) + filter_shape)
    # OI<spatial> to the kernel layout rhs_spec names
    order = [0] * kernel.ndim
    for k, axis in enumerate(dn.rhs_spec):
        order[axis] = k
    kernel = np.ascontiguousarray(np.transpose(kernel, order))
    return conv_general_dilated(lhs, kernel, window_strides, padding, lhs_dilation,
                                rhs_dilation, dn, feature_group_count=channels,
                                precision=precision,
                                preferred_element_type=preferred_element_type)
