"""Per-name overrides of the oracle sweep's classification (sweep_table.classify): names whose
signature does not say how to call them, or whose class needs particular arguments.

`O(cls, extra, kwargs, call=...)`: the class, extra positional arguments after the class's
own, keyword arguments, and ``call(m, f)`` returning the function to call in library ``m``
(jax or xform) when the name wants its arguments in another shape (a predicate, a body
function, a tuple).  `C(fn)`: a builder of the name's own cases.  `U(why)`: unclassified.
"""
import numpy as np

from oracle.sweep_cases import C, D, F, I, Lib, O, U, int_dtype, m34, sq  # noqa: F401

_SHAPE = "shape, not values"

IO = U("file I/O, printing or text formatting: no numeric result to compare")


def _ints(dt, v):
    return np.asarray(v, int_dtype(dt))


def _gather_dn(m):
    return m.lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
                                        start_index_map=(0,))


def _scatter_dn(m):
    return m.lax.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0,),
                                         scatter_dims_to_operand_dims=(0,))


def _scatter_cases(dt):
    upd = np.asarray([[1.0, -2.0, 3.0, 0.5], [4.0, 4.0, -1.0, 0.0]], dt)
    return [(lab, (a, _ints(dt, [[0], [2]]), upd), {}, 1, lab == "ties")
            for lab, a in m34(dt).items()] + \
        [("dup-index", (m34(dt)["ties"], _ints(dt, [[1], [1]]), upd), {}, 1, False)]


def _conv_cases(dt):
    r = np.random.default_rng(11)
    lhs = r.normal(0, 1, (1, 2, 5, 5)).round(4).astype(dt)
    rhs = r.normal(0, 1, (3, 2, 2, 2)).round(4).astype(dt)
    return [("rand", (lhs, rhs), {}, 1, True)]


def _square_pair(dt):
    s = sq(dt)
    return [(lab, (s[lab], s["rand"]), {}, 1, lab == "spd") for lab in ("spd", "rand", "ones")]


def _tridiag(dt):
    dl = np.asarray([0.0, 1.0, -0.5], dt)
    d = np.asarray([4.0, 3.0, 5.0], dt)
    du = np.asarray([1.0, 0.5, 0.0], dt)
    b = np.asarray([[1.0], [2.0], [-1.0]], dt)
    return [("rand", (dl, d, du, b), {}, 1, True)]


def _collective(*extra, call=None):
    return O("collective", extra,
             call=call or (lambda m, f: lambda x, name, *r: f(x, name, *r)))


def _mvn(dt):
    x = np.asarray([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5], [0.5, -0.5, 1.0], [3.0, 2.0, -2.0]], dt)
    return [("rand", (x, np.asarray([0.5, -0.5, 1.0], dt), np.asarray(sq(dt)["spd"], dt)),
             {}, 1, True)]


def _simplex(dt):
    x = np.asarray([[0.2, 0.3, 0.5], [1 / 3, 1 / 3, 1 / 3], [0.0, 0.5, 0.5], [0.9, 0.05, 0.05]], dt)
    return x


OVERRIDES = {
    # --- numpy: host helpers (static arguments, results compared by ==) ----------------
    "numpy.can_cast": O("host", (D(lambda dt: dt), np.int32)),
    "numpy.isdtype": O("host", (D(lambda dt: dt), "real floating")),
    "numpy.issubdtype": O("host", (D(lambda dt: dt), np.floating)),
    "numpy.promote_types": O("host", (D(lambda dt: dt), np.int32)),
    "numpy.result_type": O("host", (D(lambda dt: dt), np.int32, 2.0)),
    "numpy.isscalar": O("host", (2.0,)),
    "numpy.iterable": O("host", ([1, 2],)),
    "numpy.broadcast_shapes": O("host", ((2, 1), (1, 3))),
    "numpy.get_printoptions": IO, "numpy.printoptions": IO, "numpy.set_printoptions": IO,
    "numpy.load": IO, "numpy.save": IO, "numpy.savez": IO, "numpy.array_repr": IO,
    "numpy.array_str": IO, "numpy.fromfile": IO, "numpy.fromiter": IO,
    "numpy.einsum_path": U("returns a printable contraction path"),
    "numpy.fromstring": O("creation", ("1 2 3.5",), {"sep": " ", "dtype": D(lambda dt: dt)}),
    "numpy.frombuffer": O("creation", (D(lambda dt: np.arange(4, dtype=dt).tobytes()),),
                          {"dtype": D(lambda dt: dt)}),
    "numpy.fromfunction": O("creation", (Lib(lambda m: lambda i, j: i + 2 * j), (2, 3))),
    "numpy.mask_indices": O("creation", (3, Lib(lambda m: m.numpy.triu))),
    # --- numpy: elementwise with extra arguments, or odd signatures -----------------------
    "numpy.clip": O("unary", (F(-1.0), F(1.0))),
    "numpy.interp": O("unary", (F([-1.0, 0.0, 1.0, 2.0]), F([0.0, 1.0, -1.0, 3.0]))),
    "numpy.piecewise": O("unary", call=lambda m, f: lambda x: f(
        x, [x < 0, x >= 0], [lambda v: -v, lambda v: v * v])),
    "numpy.vectorize": O("unary", call=lambda m, f: lambda x: f(
        lambda v: m.numpy.sin(v) * v)(x)),
    "numpy.frompyfunc": O("binary", call=lambda m, f: lambda x, y: f(
        lambda a, b: a * b + a, 2, 1)(x, y)),
    "numpy.where": O("binary", call=lambda m, f: lambda x, y: f(x > y, x, y)),
    "numpy.select": O("binary", call=lambda m, f: lambda x, y: f([x > y, x < y], [x, y], 0.5)),
    "numpy.isclose": O("binary"),
    "numpy.ldexp": O("unary", (I(3),)),
    "numpy.concat": O("array"), "numpy.concatenate": O("array"), "numpy.lexsort": O("array"),
    "numpy.cumulative_sum": O("array", kwargs={"axis": 1}),
    "numpy.cumulative_prod": O("array", kwargs={"axis": 1}),
    "numpy.squeeze": O("array", call=lambda m, f: lambda a: f(a[:, :1], 1)),
    "numpy.histogram2d": O("vec2"),
    "numpy.matvec": O("matmul", call=lambda m, f: lambda a, b: f(a, b[:, 0])),
    "numpy.vecmat": O("matmul", call=lambda m, f: lambda a, b: f(a[0], b)),
    "numpy.vecdot": O("vec2"),
    "numpy.tensordot": O("vec2", kwargs={"axes": 1}),
    "numpy.einsum": O("matmul", call=lambda m, f: lambda a, b: f("ij,jk->ik", a, b)),
    "numpy.matrix_transpose": O("array"),
    "numpy.apply_along_axis": O("array", call=lambda m, f: lambda a: f(
        lambda r: m.numpy.sum(m.numpy.sin(r) * r), 1, a)),
    "numpy.apply_over_axes": O("array", call=lambda m, f: lambda a: f(m.numpy.sum, a, [1])),
    "numpy.array": O("array"),
    "numpy.astype": O("unary", (np.float16,)),
    "numpy.array_equal": O("vec2"), "numpy.array_equiv": O("vec2"),
    "numpy.atleast_1d": O("vec2"), "numpy.atleast_2d": O("vec2"), "numpy.atleast_3d": O("vec2"),
    "numpy.broadcast_arrays": O("vec2", call=lambda m, f: lambda a, b: f(a[:, None], b[None, :])),
    "numpy.broadcast_to": O("array", ((2, 3, 4),)),
    "numpy.from_dlpack": U("needs a DLPack producer of the same library"),
    # --- numpy: arrays -------------------------------------------------------------------
    "numpy.choose": C(lambda dt: [("rand", (_ints(dt, [0, 1, 2, 1]), *(
        np.asarray(v, dt) for v in ([1., 2., 3., 4.], [-1., 0., 5., 6.], [7., 8., 9., 0.]))),
        {}, 1, True)], call=lambda m, f: lambda i, a, b, c: f(i, [a, b, c])),
    "numpy.compress": O("array", call=lambda m, f: lambda a: f(
        m.numpy.asarray([True, False, True]), a, axis=0, size=2)),
    "numpy.extract": O("array", call=lambda m, f: lambda a: f(a > 0, a, size=6)),
    "numpy.place": O("array", call=lambda m, f: lambda a: f(a, a > 0, a[0, :2] * 2.0,
                                                               inplace=False)),
    "numpy.put": O("array", (I([0, 5]), F([2.5, -1.0])), {"inplace": False}),
    "numpy.put_along_axis": O("array", (I([[0], [3], [1]]), F(2.5), 1), {"inplace": False}),
    "numpy.fill_diagonal": O("array", (F(2.5),), {"inplace": False}),
    "numpy.take": O("array", (I([0, 5, 2]),)),
    "numpy.take_along_axis": O("array", (I([[0], [3], [1]]),)),
    "numpy.reshape": O("array", ((4, 3),)),
    "numpy.permute_dims": O("array", ((1, 0),)),
    "numpy.pad": O("array", (((1, 2), (0, 1)),)),
    "numpy.ix_": C(lambda dt: [("idx", (_ints(dt, [0, 2]), _ints(dt, [1, 3, 0])), {}, 2, True)]),
    "numpy.ravel_multi_index": C(lambda dt: [("idx", (_ints(dt, [0, 1, 2]), _ints(dt, [1, 0, 3])),
                                              {}, 2, True)],
                                 call=lambda m, f: lambda a, b: f((a, b), (3, 4))),
    "numpy.unravel_index": C(lambda dt: [("idx", (_ints(dt, [0, 5, 11]),), {}, 1, True)],
                             call=lambda m, f: lambda a: f(a, (3, 4))),
    "numpy.bincount": C(lambda dt: [("rand", (_ints(dt, [0, 1, 1, 3, 2]),
                                              np.asarray([0.5, 1.0, -2.0, 3.0, 1.5], dt)),
                                     {"length": 5}, 1, True)]),
    "numpy.searchsorted": O("vec2", call=lambda m, f: lambda a, v: f(m.numpy.sort(a), v)),
    "numpy.intersect1d": O("vec2", kwargs={"size": 3}),
    "numpy.union1d": O("vec2", kwargs={"size": 6}),
    "numpy.setdiff1d": O("vec2", kwargs={"size": 3}),
    "numpy.setxor1d": O("vec2", kwargs={"size": 6}),
    "numpy.isin": O("vec2"),
    "numpy.meshgrid": O("vec2"),
    "numpy.polyadd": O("vec2"), "numpy.polysub": O("vec2"), "numpy.polymul": O("vec2"),
    "numpy.polydiv": O("vec2"), "numpy.polyval": O("vec2"),
    "numpy.polyfit": O("vec2", (1,)),
    "numpy.convolve": O("vec2"), "numpy.correlate": O("vec2"),
    "numpy.poly": O("vector"), "numpy.polyder": O("vector"), "numpy.polyint": O("vector"),
    "numpy.roots": O("vector", kwargs={"strip_zeros": False}),
    "numpy.vander": O("vector"), "numpy.trim_zeros": O("vector"), "numpy.ediff1d": O("vector"),
    "numpy.unwrap": O("array"), "numpy.unstack": O("array"),
    "numpy.diag_indices_from": O("square"),
    "numpy.argwhere": O("array", kwargs={"size": 6}),
    "numpy.nonzero": O("array", kwargs={"size": 6}),
    "numpy.flatnonzero": O("array", kwargs={"size": 6}),
    "numpy.unique": O("reduce", kwargs={"size": 6}),
    "numpy.unique_all": O("array", kwargs={"size": 6}),
    "numpy.unique_counts": O("array", kwargs={"size": 6}),
    "numpy.unique_inverse": O("array", kwargs={"size": 6}),
    "numpy.unique_values": O("array", kwargs={"size": 6}),
    "numpy.packbits": O("reduce", call=lambda m, f: lambda a, **kw: f(a > 0.5, **kw)),
    "numpy.unpackbits": C(lambda dt: [("bits", (np.asarray([[0, 1, 255], [7, 128, 64]], np.uint8),),
                                       {}, 1, True)]),
    "numpy.dsplit": O("array", ([1],), call=lambda m, f: lambda a, s: f(a[:, :, None] * a[:, None, :], s)),
    # --- numpy.linalg ----------------------------------------------------------------------
    "numpy.linalg.cross": O("vec2"),
    "numpy.linalg.outer": O("vec2"),
    "numpy.linalg.vecdot": O("vec2"),
    "numpy.linalg.matmul": O("matmul"),
    "numpy.linalg.tensordot": O("vec2", kwargs={"axes": 1}),
    "numpy.linalg.multi_dot": O("matmul", call=lambda m, f: lambda a, b: f([a, b, b.T])),
    "numpy.linalg.tensorinv": O("square", kwargs={"ind": 1}),
    "numpy.linalg.matrix_power": O("square", (3,)),
    # --- numpy.fft: 1-D transforms along the last axis ---------------------------------------
    "numpy.fft.fft": O("array"), "numpy.fft.ifft": O("array"), "numpy.fft.rfft": O("array"),
    "numpy.fft.irfft": O("array"), "numpy.fft.hfft": O("array"), "numpy.fft.ihfft": O("array"),
    # --- nn --------------------------------------------------------------------------------
    "nn.glu": O("array"),
    "nn.one_hot": C(lambda dt: [("idx", (_ints(dt, [0, 2, 1, 5, -1]),), {}, 1, True)],
                    call=lambda m, f: lambda i: f(i, 4)),
    "nn.dot_product_attention": C(lambda dt: [("rand", tuple(
        np.random.default_rng(12 + k).normal(0, 1, (1, 3, 2, 4)).round(4).astype(dt)
        for k in range(3)), {}, 1, True)]),
    "nn.get_scaled_dot_general_config": U("low-precision (nvfp4/mxfp8) configuration"),
    "nn.scaled_dot_general": U("low-precision (nvfp4/mxfp8) matmul"),
    "nn.scaled_matmul": U("JAX's raises on the CPU (its only lowering is cuDNN's); "
                          "tests/xform/nn/test_scaled_matmul.py checks ours against JAX's "
                          "documented formula"),
    # --- scipy.special -------------------------------------------------------------------
    "scipy.special.bernoulli": O("creation", (6,)),
    "scipy.special.factorial": O("unary"),
    "scipy.special.bessel_jn": O("unary", kwargs={"v": 2}),
    "scipy.special.multigammaln": O("unary", (2,)),
    "scipy.special.sph_harm_y": C(lambda dt: [("rand", (
        _ints(dt, [1, 2, 3]), _ints(dt, [0, 1, -2]), np.asarray([0.3, 1.2, 2.0], dt),
        np.asarray([0.1, -0.7, 2.5], dt)), {}, 2, True)], derivs=False),
    # --- scipy.stats -----------------------------------------------------------------------
    # truncnorm on [-1, 1.5] (the generic fill a=2.5 > b=1.5 is an empty interval, where
    # XLA's jitted programs disagree with their own eager values, in JAX as in xform)
    **{f"scipy.stats.truncnorm.{f}": O("unary", (F(-1.0), F(1.5)))
       for f in ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf")},
    "scipy.stats.multivariate_normal.pdf": C(_mvn),
    "scipy.stats.multivariate_normal.logpdf": C(_mvn),
    "scipy.stats.dirichlet.pdf": C(lambda dt: [("simplex", (_simplex(dt).T, np.asarray(
        [1.0, 2.0, 1.5], dt)), {}, 1, True)]),
    "scipy.stats.dirichlet.logpdf": C(lambda dt: [("simplex", (_simplex(dt).T, np.asarray(
        [1.0, 2.0, 1.5], dt)), {}, 1, True)]),
    # integer counts (JAX refuses float ones)
    "scipy.stats.multinomial.pmf": C(lambda dt: [("counts", (
        _ints(dt, [[1, 2, 2], [0, 5, 0]]), _ints(dt, 5),
        np.asarray([0.2, 0.3, 0.5], dt)), {}, 1, True)]),
    "scipy.stats.multinomial.logpmf": C(lambda dt: [("counts", (
        _ints(dt, [[1, 2, 2], [0, 5, 0]]), _ints(dt, 5),
        np.asarray([0.2, 0.3, 0.5], dt)), {}, 1, True)]),
    # --- lax: elementwise with odd signatures ----------------------------------------------
    # bounds static: JAX cannot differentiate scalar bounds against a vector operand
    "lax.clamp": O("unary", (-1.0, 1.0), call=lambda m, f: lambda x, lo, hi: f(lo, x, hi)),
    "lax.dot": O("vec2"),
    "lax.scaled_dot": U("2-/3-d operands with block scales; bits against JAX's in "
                        "tests/xform/lax/test_scaled_dot.py"),
    "lax.real": O("unary", call=lambda m, f: lambda x: f(m.lax.complex(x, x * 0.5))),
    "lax.imag": O("unary", call=lambda m, f: lambda x: f(m.lax.complex(x, x * 0.5))),
    "lax.select": O("binary", call=lambda m, f: lambda x, y: f(x > y, x, y)),
    "lax.select_n": O("binary", call=lambda m, f: lambda x, y: f(x > y, x, y)),
    "lax.integer_pow": O("unary", (3,)),
    "lax.betainc": O("ternary"),
    "lax.random_gamma_grad": O("binary"),
    "lax.convert_element_type": O("unary", (np.float16,)),
    "lax.bitcast_convert_type": O("unary", (D(int_dtype),)),
    "lax.reduce_precision": O("unary", (5, 10)),
    "lax.composite": O("unary", call=lambda m, f: lambda x: f(
        lambda v: m.numpy.sin(v) * 2.0, "oracle.sin2")(x)),
    "lax.platform_dependent": O("unary", call=lambda m, f: lambda x: f(
        x, default=lambda v: v * 2.0, cpu=lambda v: m.numpy.sin(v))),
    # --- lax: control flow ---------------------------------------------------------------
    "lax.cond": O("binary", call=lambda m, f: lambda x, y: f(
        m.numpy.sum(x) > m.numpy.sum(y), lambda a, b: m.numpy.sin(a) * b,
        lambda a, b: a - b, x, y)),
    "lax.switch": O("binary", call=lambda m, f: lambda x, y: f(
        m.numpy.where(m.numpy.sum(x) > 0, 1, 0),
        [lambda a, b: a * b, lambda a, b: m.numpy.cos(a) - b], x, y)),
    "lax.while_loop": O("unary", call=lambda m, f: lambda x: f(
        lambda c: c[0] < 3, lambda c: (c[0] + 1, m.numpy.sin(c[1]) * 1.5), (0, x))[1]),
    "lax.fori_loop": O("unary", call=lambda m, f: lambda x: f(
        0, 3, lambda i, c: c * 1.1 + m.numpy.sin(c), x)),
    "lax.scan": O("array", call=lambda m, f: lambda a: f(
        lambda c, r: (c + m.numpy.sin(r), c * r), a[0] * 0.0, a)),
    "lax.map": O("array", call=lambda m, f: lambda a: f(lambda r: m.numpy.sin(r) * r, a)),
    "lax.associative_scan": O("array", call=lambda m, f: lambda a: f(m.lax.add, a)),
    "lax.custom_linear_solve": O("solve", call=lambda m, f: lambda a, b: f(
        lambda v: a @ v, b, lambda mv, r: m.numpy.linalg.solve(a, r),
        lambda mv, r: m.numpy.linalg.solve(a.T, r))),
    "lax.custom_root": O("unary", call=lambda m, f: lambda x: f(
        lambda y: 2.0 * y - x, x * 0.0 + 1.0, lambda g, y0: y0 - g(y0) / 2.0,
        lambda g, y: y / g(1.0))),
    "lax.reduce": O("array", call=lambda m, f: lambda a: f(
        a, np.array(0, a.dtype), m.lax.add, (1,))),
    "lax.reduce_window": O("array", call=lambda m, f: lambda a: f(
        a, np.array(-np.inf, a.dtype), m.lax.max, (2, 2), (1, 1), "VALID")),
    # --- lax: arrays ---------------------------------------------------------------------
    "lax.concatenate": O("array", (0,)),
    "lax.stack": O("array"), "lax.unstack": O("array"),
    "lax.split": O("array", ((1, 2),)),
    "lax.squeeze": O("array", call=lambda m, f: lambda a: f(a[:, :1], (1,))),
    "lax.cumsum": O("array"), "lax.cumprod": O("array"), "lax.cummax": O("array"),
    "lax.cummin": O("array"), "lax.cumlogsumexp": O("array"),
    "lax.reduce_and": O("array", ((1,),), call=lambda m, f: lambda a, ax: f(a > 0.5, ax)),
    "lax.reduce_or": O("array", ((1,),), call=lambda m, f: lambda a, ax: f(a > 0.5, ax)),
    "lax.reduce_xor": O("array", ((1,),), call=lambda m, f: lambda a, ax: f(a > 0.5, ax)),
    "lax.sort_key_val": O("array", call=lambda m, f: lambda a: f(a, a * 2.0 + 1.0)),
    "lax.pad": O("array", (F(0.5), ((1, 0, 1), (0, 2, 0)))),
    "lax.dynamic_update_slice": O("array", (F([[7.0, 8.0]]), (1, 1))),
    "lax.dynamic_update_index_in_dim": O("array", (F([9.0, 8.0, 7.0, 6.0]), 1, 0)),
    "lax.dynamic_update_slice_in_dim": O("array", (F([[9.0, 8.0, 7.0, 6.0]]), 1, 0)),
    "lax.broadcast_in_dim": O("array", ((2, 3, 4), (1, 2))),
    "lax.broadcast_to_rank": O("array", (3,)),
    "lax.broadcast_like": O("array", (F(np.zeros((2, 3, 4))),)),
    "lax.collapse": O("array", (0,)),
    "lax.index_take": O("array", (I([[0, 1], [2, 3]]), (0, 1))),
    "lax.fft": O("array", ("RFFT", (4,))),
    "lax.dot_general": O("matmul", ((((1,), (0,)), ((), ())),)),
    "lax.batch_matmul": O("matmul", call=lambda m, f: lambda a, b: f(
        m.numpy.stack([a, a * 2.0]), m.numpy.stack([b, b - 1.0]))),
    "lax.gather": C(lambda dt: [(lab, (a, _ints(dt, [[0], [2]])), {}, 1, lab == "ties")
                                for lab, a in m34(dt).items()],
                    call=lambda m, f: lambda a, i: f(a, i, _gather_dn(m), (1, 4))),
    "lax.scatter": C(_scatter_cases, call=lambda m, f: lambda a, i, u: f(a, i, u, _scatter_dn(m))),
    "lax.scatter_add": C(_scatter_cases,
                         call=lambda m, f: lambda a, i, u: f(a, i, u, _scatter_dn(m))),
    "lax.scatter_sub": C(_scatter_cases,
                         call=lambda m, f: lambda a, i, u: f(a, i, u, _scatter_dn(m))),
    "lax.scatter_mul": C(_scatter_cases,
                         call=lambda m, f: lambda a, i, u: f(a, i, u, _scatter_dn(m))),
    "lax.scatter_min": C(_scatter_cases,
                         call=lambda m, f: lambda a, i, u: f(a, i, u, _scatter_dn(m))),
    "lax.scatter_max": C(_scatter_cases,
                         call=lambda m, f: lambda a, i, u: f(a, i, u, _scatter_dn(m))),
    "lax.scatter_apply": C(lambda dt: [(lab, (a, _ints(dt, [[0], [2]])), {}, 1, lab == "ties")
                                       for lab, a in m34(dt).items()],
                           call=lambda m, f: lambda a, i: f(
                               a, i, m.numpy.sin, _scatter_dn(m), update_shape=(2, 4))),
    "lax.conv": C(_conv_cases, call=lambda m, f: lambda x, w: f(x, w, (1, 1), "SAME")),
    "lax.conv_general_dilated": C(_conv_cases, call=lambda m, f: lambda x, w: f(
        x, w, (1, 2), [(1, 0), (0, 1)], lhs_dilation=(1, 1), rhs_dilation=(2, 1))),
    "lax.conv_with_general_padding": C(_conv_cases, call=lambda m, f: lambda x, w: f(
        x, w, (1, 1), [(0, 1), (1, 0)], (1, 1), (1, 1))),
    "lax.conv_transpose": C(_conv_cases, call=lambda m, f: lambda x, w: f(
        x, w, (2, 2), "SAME",
        dimension_numbers=("NCHW", "OIHW", "NCHW"))),
    "lax.conv_general_dilated_patches": C(_conv_cases, call=lambda m, f: lambda x, w: f(
        x, (2, 2), (1, 1), "VALID")),
    "lax.conv_general_dilated_local": U("needs a per-location kernel (not drawn)"),
    "lax.rng_bit_generator": C(lambda dt: [("key", (np.asarray([1, 2, 3, 4], np.uint32),),
                                            {}, 1, True)], derivs=False,
                               call=lambda m, f: lambda k: f(k, (3,))),
    "lax.rng_uniform": U("stateful RNG: results are not reproducible"),
    "lax.create_token": U("tokens carry no value"),
    "lax.after_all": U("tokens carry no value"),
    "lax.with_sharding_constraint": U("needs a mesh and a sharding"),
    "lax.ragged_dot": U("ragged matmul (not drawn)"),
    "lax.ragged_dot_general": U("ragged matmul (not drawn)"),
    "lax.ragged_all_to_all": U("shard_map-only collective"),
    "lax.pbroadcast": U("shard_map-only collective"), "lax.pcast": U("shard_map-only collective"),
    "lax.precv": U("shard_map-only collective"), "lax.psend": U("shard_map-only collective"),
    "lax.pswapaxes": U("shard_map-only collective"),
    # --- lax: host helpers -------------------------------------------------------------------
    "lax.broadcast_shapes": O("host", ((2, 1), (1, 3))),
    "lax.padtype_to_pads": O("host", ((4, 4), (2, 2), (1, 1), "SAME")),
    "lax.conv_shape_tuple": O("host", ((1, 2, 5, 5), (3, 2, 2, 2), (1, 1), [(0, 0), (1, 1)])),
    "lax.conv_general_shape_tuple": O("host", ((1, 2, 5, 5), (3, 2, 2, 2), (1, 1), "SAME",
                                               ("NCHW", "OIHW", "NCHW"))),
    "lax.conv_transpose_shape_tuple": O("host", ((1, 2, 5, 5), (3, 2, 2, 2), (1, 1), "SAME",
                                                 ("NCHW", "OIHW", "NCHW"))),
    "lax.reduce_window_shape_tuple": O("host", ((4, 4), (2, 2), (1, 1), [(0, 0), (0, 0)])),
    "lax.conv_dimension_numbers": O("host", ((1, 2, 5, 5), (3, 2, 2, 2),
                                             ("NCHW", "OIHW", "NCHW"))),
    "lax.conv_general_permutations": O("host", (("NCHW", "OIHW", "NCHW"),)),
    # --- lax: collectives, over a vmapped axis named "i" ----------------------------------------
    "lax.psum": _collective(), "lax.pmean": _collective(), "lax.pmax": _collective(),
    "lax.pmin": _collective(), "lax.all_gather": _collective(),
    "lax.ppermute": _collective([(0, 1), (1, 2), (2, 0)]),
    "lax.pshuffle": _collective([1, 2, 0]),
    "lax.all_to_all": _collective(call=lambda m, f: lambda x, name: f(
        m.numpy.stack([x[:3], x[1:]]).T, name, 0, 0)),
    "lax.psum_scatter": _collective(call=lambda m, f: lambda x, name: f(
        m.numpy.stack([x[:3], x[1:]]).T, name)),
    "lax.axis_index": _collective(call=lambda m, f: lambda x, name: x * f(name)),
    "lax.axis_size": _collective(call=lambda m, f: lambda x, name: x * f(name)),
    # --- lax.linalg ----------------------------------------------------------------------------
    "lax.linalg.triangular_solve": O("solve", call=lambda m, f: lambda a, b: f(
        a, m.numpy.stack([b, b * 2.0]), left_side=False, lower=True)),
    "lax.linalg.cholesky_update": O("solve", call=lambda m, f: lambda a, b: f(
        m.numpy.linalg.cholesky(a @ a.T + m.numpy.eye(3, dtype=a.dtype)).T, b)),
    "lax.linalg.symmetric_product": C(_square_pair),
    "lax.linalg.tridiagonal_solve": C(_tridiag),
    "lax.linalg.lu_pivots_to_permutation": C(lambda dt: [("piv", (
        np.asarray([2, 2, 2], np.int32),), {}, 1, True)], call=lambda m, f: lambda p: f(p, 3)),
    "lax.linalg.householder_product": O("square", call=lambda m, f: lambda a: f(
        a, a[0, :2] * 0.5)),
    "lax.linalg.ormqr": O("square", call=lambda m, f: lambda a: f(a, a[0, :2] * 0.5, a.T)),
    # --- random ------------------------------------------------------------------------------
    "random.PRNGKey": O("creation", (42,)),
    "random.key": O("creation", (42,), call=lambda m, f: lambda s: m.random.key_data(f(s))),
    "random.key_data": O("random"),
    "random.key_impl": O("host", (np.asarray([0, 42], np.uint32),)),
    "random.choice": O("random", (F([1.0, 2.0, 3.0, 4.0]), (3,))),
    "random.wrap_key_data": O("random", call=lambda m, f: lambda k: m.random.key_data(f(k))),
    "random.key_dtype": O("host"),
    "random.multinomial": O("random", (F(5.0), F([0.2, 0.3, 0.5]))),
    "random.orthogonal": O("random", (3,)),
}
