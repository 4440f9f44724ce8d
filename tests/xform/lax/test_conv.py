"""lax convolutions against jax.lax: values, shapes, gradients (lhs and rhs) and vmap.

Each case is one convolution configuration (1-d or 2-d, layout strings or axis positions,
padding modes, strides, dilations, feature/batch groups), run through both libraries.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.lax as xl
from primitives.ops import ConvDimensionNumbers

RNG = np.random.default_rng(0)


def _arr(shape):
    return RNG.standard_normal(shape).astype(np.float32)


# (lhs shape, rhs shape, keyword arguments of conv_general_dilated)
CASES = {
    "1d_default_layout": ((2, 3, 9), (4, 3, 3), dict(window_strides=(2,), padding="SAME")),
    "1d_nwc_wio_dilated": ((2, 10, 3), (3, 3, 4), dict(
        window_strides=(1,), padding="VALID", rhs_dilation=(2,),
        dimension_numbers=("NWC", "WIO", "NWC"))),
    "1d_lhs_dilation": ((1, 2, 6), (3, 2, 2), dict(
        window_strides=(1,), padding=((1, 2),), lhs_dilation=(2,))),
    "2d_nhwc_hwio_same": ((2, 7, 6, 4), (3, 2, 4, 5), dict(
        window_strides=(2, 1), padding="SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))),
    "2d_same_lower_dilated": ((2, 7, 6, 4), (3, 2, 4, 5), dict(
        window_strides=(1, 2), padding="SAME_LOWER", rhs_dilation=(2, 1),
        dimension_numbers=("NHWC", "HWIO", "NHWC"))),
    "2d_feature_groups": ((2, 6, 5, 5), (6, 3, 2, 2), dict(
        window_strides=(1, 1), padding=((1, 0), (0, 1)), feature_group_count=2)),
    "2d_depthwise_nhwc": ((1, 6, 6, 3), (3, 3, 1, 6), dict(
        window_strides=(2, 2), padding="SAME", feature_group_count=3,
        dimension_numbers=("NHWC", "HWIO", "NHWC"))),
    "2d_batch_groups": ((4, 3, 5, 4), (6, 3, 2, 2), dict(
        window_strides=(1, 1), padding="VALID", batch_group_count=2)),
    "2d_mixed_layouts": ((2, 4, 7, 6), (5, 4, 3, 2), dict(
        window_strides=(1, 2), padding=((0, 1), (2, 1)), lhs_dilation=(1, 2),
        rhs_dilation=(2, 1), dimension_numbers=("NCWH", "OIWH", "NWHC"))),
    "2d_axis_positions": ((2, 4, 7, 6), (5, 4, 3, 2), dict(
        window_strides=(1, 1), padding="SAME",
        dimension_numbers=ConvDimensionNumbers((0, 1, 2, 3), (0, 1, 2, 3), (0, 3, 1, 2)))),
}
IDS = sorted(CASES)


def _case(name):
    ls, rs, kw = CASES[name]
    return _arr(ls), _arr(rs), kw


def _conv(lax_mod, kw):
    dn = kw.get("dimension_numbers")
    if lax_mod is jax.lax and isinstance(dn, ConvDimensionNumbers):
        kw = dict(kw, dimension_numbers=jax.lax.ConvDimensionNumbers(*dn))
    return lambda l, r: lax_mod.conv_general_dilated(l, r, **kw)


def _close(got, want, tol=2e-5):
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=tol, atol=tol)


def _value_and_vjp(lib, f):
    """One jitted program: f's value and its gradients w.r.t. both operands (one compile)."""
    def run(lhs, rhs, ct):
        out, pullback = lib.vjp(f, lhs, rhs)
        return out, pullback(ct)
    return lib.jit(run)


def _check_value_and_gradients(xf, jf, lhs, rhs):
    ct = _arr(jax.eval_shape(jf, lhs, rhs).shape)
    got, got_grads = _value_and_vjp(xform, xf)(lhs, rhs, ct)
    want, want_grads = _value_and_vjp(jax, jf)(lhs, rhs, ct)
    _close(got, want)
    for g, w in zip(got_grads, want_grads):   # w.r.t. lhs and w.r.t. rhs
        _close(g, w, 1e-4)


@pytest.mark.parametrize("name", IDS)
def test_conv_values_and_gradients(name):
    lhs, rhs, kw = _case(name)
    _check_value_and_gradients(_conv(xl, kw), _conv(jax.lax, kw), lhs, rhs)


@pytest.mark.parametrize("name", ["1d_nwc_wio_dilated", "2d_feature_groups", "2d_batch_groups"])
def test_conv_vmap_matches_loop(name):
    lhs, rhs, kw = _case(name)
    f = xform.jit(_conv(xl, kw))
    lhs_b = np.stack([lhs, 2 * lhs - 1, lhs[::-1]])
    rhs_b = np.stack([rhs, -rhs, rhs * 0.5])
    loop = {(i, j): np.asarray(f(lhs_b[i], rhs_b[j])) for i in range(3) for j in range(3)}
    for in_axes, args in [((0, None), (lhs_b, rhs)), ((None, 2), (lhs, np.moveaxis(rhs_b, 0, 2))),
                          ((1, 0), (np.moveaxis(lhs_b, 0, 1), rhs_b))]:
        got = xform.jit(xform.vmap(_conv(xl, kw), in_axes=in_axes))(*args)
        want = np.stack([loop[i if in_axes[0] is not None else 0,
                              i if in_axes[1] is not None else 0] for i in range(3)])
        np.testing.assert_allclose(np.asarray(got), want, rtol=2e-5, atol=2e-5,
                                   err_msg=f"in_axes={in_axes}")


@pytest.mark.parametrize("padding", ["SAME", "VALID", ((1, 0), (2, 1))])
def test_conv_and_conv_with_general_padding(padding):
    lhs, rhs = _arr((2, 3, 6, 5)), _arr((4, 3, 3, 2))
    _close(xl.conv(lhs, rhs, (1, 2), padding), jax.lax.conv(lhs, rhs, (1, 2), padding))
    if not isinstance(padding, str):
        _close(xl.conv_with_general_padding(lhs, rhs, (2, 1), padding, (2, 1), (1, 2)),
               jax.lax.conv_with_general_padding(lhs, rhs, (2, 1), padding, (2, 1), (1, 2)))


@pytest.mark.parametrize("padding,transpose_kernel", [("SAME", False), ("VALID", True),
                                                      (((2, 1), (0, 2)), True)])
def test_conv_transpose(padding, transpose_kernel):
    lhs, rhs = _arr((2, 5, 4, 3)), _arr((3, 2, 3, 3))
    args = ((2, 3), padding)
    kw = dict(rhs_dilation=(1, 2), transpose_kernel=transpose_kernel)
    _close(xl.conv_transpose(lhs, rhs, *args, **kw),
           jax.lax.conv_transpose(lhs, rhs, *args, **kw))
    # 1-d, default NHC layout, and gradients
    f = lambda L: lambda l, r: L.conv_transpose(l, r, (2,), "SAME",
                                                transpose_kernel=transpose_kernel)
    _check_value_and_gradients(f(xl), f(jax.lax), _arr((2, 6, 3)), _arr((3, 3, 3)))


@pytest.mark.parametrize("specs", [None, ("NCHW", "OIHW", "NCHW"), ("NHWC", "HWIO", "NHWC"),
                                   ("NWHC", "OHWI", "CNHW"),
                                   ConvDimensionNumbers((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))])
def test_conv_dimension_numbers(specs):
    got = xl.conv_dimension_numbers((2, 3, 4, 5), (6, 3, 2, 2), specs)
    jax_specs = jax.lax.ConvDimensionNumbers(*specs) if isinstance(
        specs, ConvDimensionNumbers) else specs
    want = jax.lax.conv_dimension_numbers((2, 3, 4, 5), (6, 3, 2, 2), jax_specs)
    assert isinstance(got, ConvDimensionNumbers)
    assert tuple(map(tuple, got)) == tuple(map(tuple, want))


def test_conv_bad_input():
    lhs, rhs = _arr((1, 2, 5, 5)), _arr((3, 2, 2, 2))
    with pytest.raises(ValueError, match="lhs_dilation.*conv_transpose"):
        xl.conv_general_dilated(lhs, rhs, (1, 1), "SAME", lhs_dilation=(2, 2))
    with pytest.raises(ValueError, match="padding"):
        xl.conv_general_dilated(lhs, rhs, (1, 1), "FULL")
    with pytest.raises(ValueError, match="padding needs one"):
        xl.conv_general_dilated(lhs, rhs, (1, 1), ((0, 0),))
    with pytest.raises(ValueError, match="window_strides"):
        xl.conv_general_dilated(lhs, rhs, (1,), "VALID")
    with pytest.raises(TypeError, match="'N' and 'C'"):
        xl.conv_general_dilated(lhs, rhs, (1, 1), "VALID", dimension_numbers=("NHWW", "OIHW",
                                                                                "NCHW"))
    with pytest.raises(TypeError, match="same spatial"):
        xl.conv_dimension_numbers(lhs.shape, rhs.shape, ("NCHW", "OIHD", "NCHW"))
    with pytest.raises(TypeError, match="same rank"):
        xl.conv_dimension_numbers((1, 2, 3), (1, 2, 3, 4), None)
    with pytest.raises(ValueError, match="at most one"):
        xl.conv_general_dilated(_arr((2, 4, 5)), _arr((4, 2, 2)), (1,), "VALID",
                                feature_group_count=2, batch_group_count=2)
    with pytest.raises(TypeError, match="conv_general_dilated"):   # shape rule
        xl.conv_general_dilated(lhs, _arr((3, 4, 2, 2)), (1, 1), "VALID")
