"""The jax.numpy names added for breadth, against jax.numpy: values, shapes, dtypes and
weak types (eager, and under jit where the function can be jitted), a few gradients vs
jax.grad, and the errors for value-dependent shapes.

One table drives most of it: each row is (name, array arguments, static arguments).
Arrays come from a small fixed pool so the one-op executables are shared between rows.
"""
import functools
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import xform
import xform.numpy as xnp

from oracle import assert_same

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

RNG = np.random.default_rng(1)
V = np.array([0.5, -1.5, 2.0, np.nan, 3.0, -0.25], np.float32)       # with a NaN
F = RNG.standard_normal(6).astype(np.float32)
M = RNG.standard_normal((3, 4)).astype(np.float32)
MN = M.copy()
MN[1, 2] = np.nan
I = np.array([3, 1, 2, 3, 0, 1], np.int32)
J = np.array([1, 5, 2], np.int32)
S = np.sort(F)
Z = (F + 1j * F[::-1]).astype(np.complex64)
B = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1, 1], np.uint8)
SQ = RNG.standard_normal((3, 3)).astype(np.float32)

# (name, arrays, static keyword arguments, jit-able)
CASES = [
    # elementwise
    ("fmax", (V, F), {}, True), ("fmin", (V, F), {}, True), ("logaddexp2", (F, V), {}, True),
    ("angle", (Z,), {}, True), ("angle", (F,), dict(deg=True), True),
    ("angle", (I,), {}, True), ("iscomplex", (Z,), {}, True), ("isreal", (Z,), {}, True),
    ("nan_to_num", (np.array([np.nan, np.inf, -np.inf, 1.0], np.float32),), {}, True),
    ("nan_to_num", (np.array([np.nan, np.inf, 2.0], np.float32),), dict(nan=5.0, posinf=9.0), True),
    ("frexp", (np.array([0.0, 1.0, -3.5, -0.0, 6e5, np.inf], np.float32),), {}, True),
    ("ldexp", (F, I), {}, True), ("modf", (F * 3,), {}, True),
    ("spacing", (np.array([1.0, -2.0, 0.0, 1e20], np.float32),), {}, True),
    ("i0", (np.array([0.0, 0.5, -3.0, 14.0, 16.0, 40.0], np.float32),), {}, True),
    ("bitwise_count", (I,), {}, True), ("bitwise_invert", (I,), {}, True),
    ("bitwise_left_shift", (I, I), {}, True), ("bitwise_right_shift", (J, np.int32(1)), {}, True),
    ("sinc", (F,), {}, True), ("heaviside", (F, np.float32(0.5)), {}, True),
    # nan reductions and statistics
    *[(n, (MN,), dict(axis=ax), True) for n in ("nansum", "nanprod", "nanmax", "nanmin",
                                                "nanmean", "nanvar", "nanstd", "nanargmax",
                                                "nanargmin", "nancumsum", "nancumprod")
      for ax in (None, 1)],
    ("nanmax", (np.array([np.nan, np.nan], np.float32),), {}, True),
    ("nanargmin", (np.array([np.nan, np.nan], np.float32),), {}, True),
    ("nansum", (I,), {}, True), ("nanmean", (MN,), dict(axis=0, keepdims=True), True),
    ("nanvar", (MN,), dict(ddof=1), True),
    *[(n, (M,), dict(axis=ax, keepdims=kd), True) for n in ("median",)
      for ax, kd in ((None, False), (1, False), (0, True), ((0, 1), False))],
    ("nanmedian", (MN,), dict(axis=1), True), ("median", (MN,), {}, True),
    *[("quantile", (M, np.float32(0.3)), dict(axis=1, method=m), True)
      for m in ("linear", "lower", "higher", "midpoint", "nearest")],
    ("quantile", (M, np.array([0.1, 0.5, 1.0], np.float32)), dict(axis=0), True),
    ("nanquantile", (MN, np.array([0.25, 0.75], np.float32)), dict(axis=1), True),
    ("percentile", (M, np.float32(40)), {}, True),
    ("nanpercentile", (MN, np.float32(90)), dict(axis=0, keepdims=True), True),
    ("cov", (M,), {}, True), ("cov", (M,), dict(rowvar=False, ddof=0), True),
    ("cov", (M[0], M[1]), {}, True), ("cov", (M, None, True, False, None, np.array([1, 2, 1, 3]),
                                            np.array([0.5, 1.0, 2.0, 1.0], np.float32)), {}, True),
    ("corrcoef", (M,), {}, True), ("corrcoef", (M[0], M[2]), {}, True),
    ("average", (M,), dict(axis=1), True), ("ptp", (M,), dict(axis=0), True),
    ("count_nonzero", (I,), {}, True),
    # searching, counting, histograms
    ("searchsorted", (S, F), {}, True), ("searchsorted", (S, F), dict(side="right"), True),
    ("searchsorted", (np.array([1.0, 2.0, np.nan], np.float32), V), {}, True),
    ("searchsorted", (I, J), dict(sorter=np.argsort(I)), True),
    ("digitize", (F, np.array([-1.0, 0.0, 1.0], np.float32)), {}, True),
    ("digitize", (F, np.array([1.0, 0.0, -1.0], np.float32)), dict(right=True), True),
    ("bincount", (I,), {}, False), ("bincount", (I,), dict(length=6), True),
    ("bincount", (I, F), dict(minlength=7), False),
    ("histogram", (F,), dict(bins=4), True), ("histogram", (F,), dict(bins=3, range=(-1, 1)), True),
    ("histogram", (F, np.float32([0.0, -1.0, 1.0])), {}, True),
    ("histogram", (F,), dict(bins=5, weights=np.abs(F), density=True), True),
    ("histogram_bin_edges", (F,), dict(bins=5), True),
    ("histogram2d", (F, F[::-1]), dict(bins=3), True),
    ("histogramdd", (M.T,), dict(bins=(2, 3, 2)), True),
    ("interp", (np.linspace(-2, 5, 9, dtype=np.float32), np.arange(4.0, dtype=np.float32),
                np.array([1.0, 3.0, 2.0, 0.0], np.float32)), {}, True),
    ("interp", (F, np.arange(4.0, dtype=np.float32), np.array([1.0, 3.0, 2.0, 0.0], np.float32)),
     dict(left=-9.0, right="extrapolate"), True),
    ("interp", (F * 4, np.array([0.0, 1.5, 3.0], np.float32), np.array([1.0, 3.0, 2.0], np.float32)),
     dict(period=4.0), True),
    # sets (size= under jit)
    ("unique", (I,), {}, False), ("unique", (I,), dict(size=6, fill_value=-1), True),
    ("unique", (I,), dict(size=3), True),
    ("unique", (I,), dict(return_index=True, return_inverse=True, return_counts=True), False),
    ("unique", (I,), dict(return_index=True, return_counts=True, size=6), True),
    ("unique", (np.array([[1, 2], [0, 1], [1, 2]], np.int32),), dict(axis=0), False),
    ("unique", (V,), {}, False), ("unique_values", (I,), {}, False),
    ("unique_counts", (I,), dict(size=5), True), ("unique_inverse", (I,), {}, False),
    ("unique_all", (I,), dict(size=4), True),
    ("union1d", (I, J), {}, False), ("union1d", (I, J), dict(size=7), True),
    ("intersect1d", (I, J), {}, False), ("intersect1d", (I, J), dict(size=4), True),
    ("setdiff1d", (I, J), {}, False), ("setdiff1d", (I, J), dict(size=5), True),
    ("setxor1d", (I, J), {}, False), ("setxor1d", (I, J), dict(size=5, fill_value=9), True),
    ("isin", (I, J), {}, True), ("isin", (I, J), dict(invert=True), True),
    ("lexsort", ((I, F),), {}, True), ("lexsort", (M,), dict(axis=0), True),
    ("partition", (F, 2), {}, True), ("partition", (M, 1), dict(axis=0), True),
    ("argpartition", (F, 3), {}, True), ("argpartition", (M, 2), {}, True),
    ("sort_complex", (F,), {}, True),
    # differences, integration, convolution, polynomials
    ("diff", (M,), {}, True), ("diff", (M,), dict(n=2, axis=0), True),
    ("diff", (F,), dict(prepend=0.0, append=F[:2]), True), ("diff", (I > 1,), {}, True),
    ("ediff1d", (M,), dict(to_begin=np.float32(7), to_end=F[:2]), True),
    ("gradient", (F,), {}, True), ("gradient", (M, 2.0), {}, True),
    ("gradient", (M,), dict(axis=1), True), ("gradient", (F, np.cumsum(np.abs(F) + 0.1)), {}, True),
    ("trapezoid", (M,), {}, True), ("trapezoid", (M,), dict(dx=0.5, axis=0), True),
    ("trapezoid", (F, np.cumsum(np.abs(F))), {}, True),
    *[(n, (F, F[:4]), dict(mode=m), True) for n in ("convolve", "correlate")
      for m in ("full", "same", "valid")],
    ("correlate", (F[:3], F), dict(mode="full"), True), ("correlate", (Z, Z[:2]), {}, True),
    ("convolve", (I, J), {}, True),
    ("polyval", (F[:4], F), {}, True), ("polyval", (J, I), {}, True),
    ("polyadd", (F[:4], F[:2]), {}, True), ("polysub", (F[:2], F), {}, True),
    ("polymul", (F[:3], F[:2]), {}, True), ("polyder", (F[:4],), dict(m=2), True),
    ("polyint", (F[:4],), {}, True), ("polyint", (F[:3],), dict(m=2, k=3.0), True),
    ("polydiv", (F, np.array([2.0, 1.0, -1.0], np.float32)), {}, True),
    ("poly", (F[:3],), {}, True),
    ("vander", (F[:4],), {}, True), ("vander", (F[:3],), dict(N=5, increasing=True), True),
    ("unwrap", (np.cumsum(np.abs(F) * 3),), {}, True),
    ("unwrap", (M * 4,), dict(axis=0, period=3.0), True),
    ("matvec", (M, F[:4]), {}, True), ("vecmat", (F[:3], M), {}, True),
    # building and editing arrays
    ("append", (M, F[:4]), {}, True), ("append", (M, M[:1]), dict(axis=0), True),
    ("delete", (F, 2), {}, True), ("delete", (M, np.array([0, 2])), dict(axis=1), False),
    ("delete", (M,), dict(obj=slice(0, 3, 2), axis=1), True),
    ("insert", (F, 2, np.float32(9)), {}, True), ("insert", (M, 1, F[:3]), dict(axis=1), True),
    ("insert", (F, np.array([0, 2, 2, 6]), F[:4]), {}, False), ("insert", (M, 3, np.float32(0)), dict(axis=0), True),
    ("resize", (F, (4, 4)), {}, True), ("resize", (M, (5,)), {}, True),
    ("unstack", (M,), {}, True), ("unstack", (M,), dict(axis=1), True),
    ("diagflat", (M[:2, :2],), dict(k=1), True),
    ("fill_diagonal", (M, np.float32(5)), dict(inplace=False), True),
    ("fill_diagonal", (np.zeros((2, 2, 2), np.float32), np.float32(1)), dict(inplace=False), True),
    ("place", (F, F > 0, np.float32([7, 8])), dict(inplace=False), True),
    ("put", (F, J[:2], np.float32([-1, -2])), dict(inplace=False), True),
    ("put", (M, np.array([0, 13]), np.float32(4)), dict(mode="wrap", inplace=False), True),
    ("put_along_axis", (M, np.argsort(M, 1)[:, :1], np.float32(0)), dict(axis=1, inplace=False), True),
    ("extract", (M > 0, M), {}, False), ("extract", (M > 0, M), dict(size=8), True),
    ("compress", (np.array([True, False, True]), M), dict(axis=0), False),
    ("compress", (np.array([True, False, True, True]), M), dict(axis=1, size=2), True),
    ("choose", (np.array([0, 1, 2, 1], np.int32), (M[0], M[1], M[2])), dict(mode="clip"), True),
    ("choose", (np.array([0, 4, -1, 1], np.int32), (M[0], M[1])), dict(mode="wrap"), True),
    ("select", ([F > 0, F < -1], [F, F * 2]), dict(default=-5.0), True),
    ("tril_indices", (), dict(n=4, k=1), True), ("triu_indices", (), dict(n=3, m=5), True),
    ("tril_indices_from", (M,), {}, True), ("triu_indices_from", (M,), dict(k=-1), True),
    ("diag_indices", (), dict(n=3, ndim=3), True), ("diag_indices_from", (SQ,), {}, True),
    ("indices", (), dict(dimensions=(2, 3)), True), ("indices", (), dict(dimensions=(2, 3), sparse=True), True),
    ("ix_", (J, I[:2]), {}, True),
    ("packbits", (B,), {}, True), ("packbits", (B.reshape(2, 5),), dict(axis=1, bitorder="little"), True),
    ("unpackbits", (np.array([7, 200], np.uint8),), {}, True),
    ("unpackbits", (np.array([[7, 200]], np.uint8),), dict(axis=1, count=11), True),
    # windows, creation
    *[(n, (), dict(M=m), True) for n in ("bartlett", "blackman", "hamming", "hanning")
      for m in (1, 6)],
    ("kaiser", (), dict(M=7, beta=3.0), True),
    ("geomspace", (), dict(start=1.0, stop=1000.0, num=4), True),
    ("geomspace", (), dict(start=-2.0, stop=-32.0, num=5, endpoint=False), True),
    ("trim_zeros", (np.array([0, 0, 1, 0, 2, 0], np.int32),), {}, False),
    ("trim_zeros", (np.array([0, 0, 1, 0, 2, 0], np.int32),), dict(trim="b"), False),
]


def _to_lib(x, lib):
    """NumPy values become ``lib`` arrays (inside tuples and lists too); the rest stays."""
    if isinstance(x, (np.ndarray, np.generic)):
        return lib.asarray(x)
    if isinstance(x, (tuple, list)):
        return type(x)(_to_lib(e, lib) for e in x)
    return x


def _call(lib, name, args, kw, jit):
    """``lib.name(*args, **kw)``: NumPy-array positional arguments are traced under jit,
    every other argument is closed over."""
    dyn = [isinstance(a, np.ndarray) for a in args]
    fixed = [None if d else _to_lib(a, lib) for a, d in zip(args, dyn)]
    static = {k: _to_lib(v, lib) for k, v in kw.items()}

    def positional(*vals):
        it = iter(vals)
        return getattr(lib, name)(*[next(it) if d else f for d, f in zip(dyn, fixed)], **static)
    if jit:
        positional = (jax.jit if lib is jnp else xform.jit)(positional)
    return positional(*[lib.asarray(a) for a, d in zip(args, dyn) if d])


@pytest.mark.parametrize("name,args,kw,jittable", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_against_jax(name, args, kw, jittable):
    try:
        want = _call(jnp, name, args, kw, jittable)
    except (TypeError, ValueError, NotImplementedError) as e:
        with pytest.raises(type(e)):
            _call(xnp, name, args, kw, False)
        return
    # eager mode compiles one executable per op: run it where jit cannot, and on a sample
    if not jittable or zlib.crc32(f"{name}{kw}".encode()) % 4 == 0:
        _assert_tree_same(_call(xnp, name, args, kw, False), want, f"eager {name}{kw}")
    if jittable:
        _assert_tree_same(_call(xnp, name, args, kw, True), want, f"jit {name}{kw}")


def _assert_tree_same(got, want, where):
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want), \
            f"{where}: {type(got).__name__} of {len(got) if hasattr(got, '__len__') else '-'}, " \
            f"jax gives {len(want)}"
        for g, w in zip(got, want):
            _assert_tree_same(g, w, where)
        return
    assert_same(got, want, where)


# --- what the table cannot say -------------------------------------------------------------

def test_value_dependent_shapes_need_size_under_jit():
    x = xnp.asarray(I)
    for fn, arg in [(xnp.unique, "size"), (lambda v: xnp.setdiff1d(v, v[:2]), "size"),
                    (lambda v: xnp.extract(v > 1, v), "size"), (xnp.bincount, "length"),
                    (lambda v: xnp.delete(v, v[:2]), "obj")]:
        with pytest.raises(TypeError, match=arg):
            xform.jit(fn)(x)


def test_frexp_subnormals_and_fill_diagonal_wrap_match_numpy():
    """Cases where JAX differs from NumPy (it flushes subnormals; it has no wrap=True)."""
    x = np.array([1e-40, -3e-42, 2.5e-39], np.float32)
    m, e = xnp.frexp(xnp.asarray(x))
    want_m, want_e = np.frexp(x)
    np.testing.assert_array_equal(np.asarray(m), want_m)
    np.testing.assert_array_equal(np.asarray(e), want_e)
    a = np.zeros((5, 2), np.float32)
    got = xnp.fill_diagonal(xnp.asarray(a), xnp.asarray(F[:2]), wrap=True, inplace=False)
    np.fill_diagonal(a, F[:2], wrap=True)
    np.testing.assert_array_equal(np.asarray(got), a)


def test_index_tricks_and_vectorize():
    assert_same(xnp.r_[xnp.asarray(F[:2]), 0:3, -1.0], jnp.r_[F[:2], 0:3, -1.0])
    assert_same(xnp.r_[0:1:5j], jnp.r_[0:1:5j])
    assert_same(xnp.c_[xnp.asarray(F[:3]), xnp.asarray(S[:3])], jnp.c_[F[:3], S[:3]])
    assert_same(xnp.mgrid[0:3, 0:2], jnp.mgrid[0:3, 0:2])
    for g, w in zip(xnp.ogrid[0:3, 1:4], jnp.ogrid[0:3, 1:4]):
        assert_same(g, w)
    assert xnp.s_[1:2] == np.s_[1:2] and xnp.index_exp[0] == np.index_exp[0]
    dot = xnp.vectorize(lambda a, b: xnp.sum(a * b), signature="(n),(n)->()")
    assert_same(dot(xnp.asarray(M), xnp.asarray(F[:4])),
                jnp.vectorize(lambda a, b: jnp.sum(a * b), signature="(n),(n)->()")(M, F[:4]))
    clip_add = xnp.vectorize(lambda a, b: xnp.where(a > b, a, b))
    assert_same(clip_add(xnp.asarray(M), xnp.asarray(F[:4])), jnp.maximum(M, F[:4]))
    assert_same(xnp.apply_along_axis(xnp.diff, 1, xnp.asarray(M)),
                jnp.apply_along_axis(jnp.diff, 1, M))
    assert_same(xnp.apply_over_axes(xnp.sum, xnp.asarray(M), (0, 1)),
                jnp.apply_over_axes(jnp.sum, M, (0, 1)))
    assert_same(xnp.piecewise(xnp.asarray(F), [F < 0, F > 1], [lambda v: -v, 7.0, 0.5]),
                jnp.piecewise(F, [F < 0, F > 1], [lambda v: -v, 7.0, 0.5]))
    assert_same(xnp.block([[xnp.asarray(SQ), xnp.asarray(SQ[:, :1])]]),
                jnp.block([[SQ, SQ[:, :1]]]))
    assert_same(xnp.fromfunction(lambda i, j: i + 2 * j, (2, 3), dtype=np.int32),
                jnp.fromfunction(lambda i, j: i + 2 * j, (2, 3), dtype=jnp.int32))
    assert xnp.isdtype(np.float32, "real floating") and not xnp.isdtype(np.int8, "bool")
    assert xnp.isdtype(np.uint8, ("bool", "unsigned integer"))


GRAD_CASES = [
    ("i0", lambda lib, x: lib.sum(lib.i0(x * 5))),
    ("median", lambda lib, x: lib.median(lib.sin(x), axis=1).sum()),
    ("quantile", lambda lib, x: lib.quantile(x, 0.3)),
    ("nanmean", lambda lib, x: lib.nanmean(lib.where(x > 0, x, lib.nan) ** 2)),
    ("interp", lambda lib, x: lib.interp(x * 2, lib.arange(4.0), x[0]).sum()),
    ("convolve", lambda lib, x: (lib.convolve(x[0], x[1], mode="same") ** 2).sum()),
    ("polyval", lambda lib, x: lib.polyval(x[0], x[1]).sum()),
    ("cov", lambda lib, x: lib.corrcoef(x).sum() + lib.cov(x).sum()),
    ("trapezoid", lambda lib, x: lib.trapezoid(lib.exp(x), dx=0.1).sum()),
    ("gradient", lambda lib, x: (lib.gradient(x, axis=1) ** 2).sum()),
]


@pytest.mark.parametrize("name,loss", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_grad_matches_jax(name, loss):
    x = M[:, :4] if name != "nanmean" else M
    got = xform.jit(xform.grad(functools.partial(loss, xnp)))(xnp.asarray(x))
    want = jax.jit(jax.grad(functools.partial(loss, jnp)))(x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-5)


@functools.lru_cache(maxsize=None)
def _both_jitted(name, **kw):
    """One compiled program per function on each side, shared by the hypothesis examples."""
    return (xform.jit(functools.partial(getattr(xnp, name), **kw)),
            jax.jit(functools.partial(getattr(jnp, name), **kw)))


@settings(max_examples=10, deadline=None)
@given(data=st.lists(st.integers(-3, 3), min_size=1, max_size=8),
       other=st.lists(st.integers(-3, 3), min_size=1, max_size=4),
       q=st.floats(0, 1, width=32))
def test_hypothesis_sets_and_quantiles(data, other, q):
    a = np.asarray(data + [0] * (8 - len(data)), np.int32)   # fixed shapes: shared compiles
    b = np.asarray(other + [0] * (4 - len(other)), np.int32)
    for name in ("union1d", "intersect1d", "setdiff1d", "setxor1d"):
        ours, theirs = _both_jitted(name, size=8)
        assert_same(ours(xnp.asarray(a), xnp.asarray(b)), theirs(a, b), name)
    ours, theirs = _both_jitted("unique", size=8, return_counts=True)
    assert_same(ours(xnp.asarray(a)), theirs(a), "unique")
    f = a.astype(np.float32)
    ours, theirs = _both_jitted("quantile")
    assert_same(ours(xnp.asarray(f), xnp.asarray(np.float32(q))), theirs(f, np.float32(q)),
                "quantile")
    ours, theirs = _both_jitted("searchsorted")
    assert_same(ours(xnp.asarray(np.sort(f)), xnp.asarray(b)), theirs(np.sort(f), b))


@pytest.mark.parametrize("v", [0, 1, 2.5, True])
def test_argwhere_of_a_scalar_matches_jax(v):
    # a 0-d input: one row with no columns when the value is truthy, none otherwise
    assert_same(xnp.argwhere(xnp.asarray(v)), jnp.argwhere(jnp.asarray(v)))


def test_rounding_agrees_with_jax_bit_for_bit():
    """Scalars are written into programs as XLA constants (as JAX does), so XLA rounds
    `x / 0.75` and linspace's `iota / div` as it does for JAX: eager, jitted and JAX's
    results are the same bits, and histogram bins of values on an edge agree."""
    keep = np.arange(16) % 3 != 0
    a = xnp.where(keep, xnp.arange(16, dtype=np.float32) / 0.75, 0.0)
    b = jnp.where(keep, jnp.arange(16, dtype=np.float32) / 0.75, 0.0)
    c = xform.jit(lambda x: xnp.where(keep, x / 0.75, 0.0))(np.arange(16, dtype=np.float32))
    assert np.array_equal(np.asarray(a), np.asarray(b)) and np.array_equal(np.asarray(a), c)
    for lo, hi, n in ((-1.0, 3.0, 11), (0.0, 3.0, 11), (-2.5, 7.25, 40)):
        assert np.array_equal(np.asarray(xnp.linspace(lo, hi, n)),
                              np.asarray(jnp.linspace(lo, hi, n))), (lo, hi, n)
    t = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, -1.0, 2.0], [0.0, 1.0, 1.0, 0.0]],
                 np.float32)
    for got, want in zip(xnp.histogram2d(t[0], t[1]), jnp.histogram2d(t[0], t[1])):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_save_load_round_trip_keeps_bfloat16_as_jax(tmp_path):
    x = xnp.array([2.0, 4.5, -6.0], dtype="bfloat16")
    xnp.save(tmp_path / "a.npy", x)
    got = xnp.load(tmp_path / "a.npy")
    want = jnp.load(tmp_path / "a.npy")
    assert isinstance(got, xform.Array) and got.dtype == want.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(got, np.float32), np.asarray(want, np.float32))
    xnp.savez(tmp_path / "b.npz", a=np.arange(3))
    with xnp.load(tmp_path / "b.npz") as z:       # archives stay NumPy's, as in JAX
        np.testing.assert_array_equal(z["a"], np.arange(3))
    assert xnp.set_printoptions is np.set_printoptions


def test_isclose_at_infinities_and_heaviside_of_nan_as_jax():
    a = np.array([1.0, -np.inf, np.inf, np.inf, np.nan, 2.0], np.float32)
    b = np.array([np.inf, np.inf, -np.inf, np.inf, np.nan, 2.0 + 1e-7], np.float32)
    for kw in ({}, {"equal_nan": True}):
        assert_same(xnp.isclose(a, b, **kw), jnp.isclose(a, b, **kw))
    assert_same(xnp.heaviside(a, np.float32(0.5)), jnp.heaviside(a, np.float32(0.5)))


def test_unique_counts_truncated_by_size_as_jax():
    # more unique values than size: the kept ones keep their own counts (the dropped ones
    # were folded into the last count)
    x = np.array([3.0, 1.0, 2.0, 2.0, 5.0, 4.0, 4.0, 0.5], np.float32)
    for size in (3, 8, 10):
        assert_same(tuple(xnp.unique_counts(x, size=size)),
                    tuple(jnp.unique_counts(x, size=size)))
        assert_same(tuple(xnp.unique_all(x, size=size)), tuple(jnp.unique_all(x, size=size)))


def test_trapezoid_as_jax_with_nonfinite_samples_and_spacing_arrays():
    m = np.array([[np.inf, 1.0, -np.inf, 0.0], [np.nan, 2.0, 1.0, -1.0],
                  [0.5, -0.5, 2.0, np.inf]], np.float32)
    for kw in ({}, {"axis": 0}, {"dx": 0.5}, {"x": np.array([0.0, 1.0, 3.0, 3.5], np.float32)},
               {"dx": np.array([0.5], np.float32)}):
        assert_same(xnp.trapezoid(m, **kw), jnp.trapezoid(m, **kw))
    r = RNG.standard_normal((3, 4)).astype(np.float32)
    assert_same(xnp.trapezoid(r, dx=np.array([1.0, 2.0, 0.5], np.float32)[:, None]),
                jnp.trapezoid(r, dx=np.array([1.0, 2.0, 0.5], np.float32)[:, None]))


@pytest.mark.parametrize("a,b", [([0.0, -0.0, 0.0], [np.inf, 1.0, np.nan]),
                                 ([np.inf, 1.0, np.nan], [1.5, -0.5, np.nan]),
                                 ([1.0, 2.0, 2.0, 3.0], [3.0, 4.0, 4.0, np.nan, np.nan]),
                                 ([1.0, 1.0], [1.0]), ([], [])])
def test_setxor1d_keeps_nans_and_pads_as_jax(a, b):
    """As JAX: the entries of unique(a) and unique(b), sorted together, that differ from both
    neighbours, so a NaN of each input stays (NaN != NaN); the padding is then NaN too."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    for kw in ({}, dict(size=6), dict(size=6, assume_unique=True), dict(size=2)):
        assert_same(xnp.setxor1d(a, b, **kw), jnp.setxor1d(a, b, **kw), f"{a} {b} {kw}")


def test_choose_mode_raise_checks_concrete_indices_as_jax():
    choices = [np.arange(4.0, dtype=np.float32) * k for k in (1, -2, 3)]
    i = np.array([0, 1, 2, 1], np.int32)
    assert_same(xnp.choose(i, choices), jnp.choose(i, choices))
    got = xform.grad(lambda c: xnp.choose(i, [c] + choices[1:]).sum())(choices[0])
    assert_same(got, jax.grad(lambda c: jnp.choose(i, [c] + choices[1:]).sum())(choices[0]))
    with pytest.raises(ValueError, match="invalid entry"):
        xnp.choose(np.array([0, 3], np.int32), choices)
    with pytest.raises(TypeError, match="mode='wrap'"):
        xform.jit(lambda i: xnp.choose(i, choices))(i)
