"""xform.scipy.stats against jax.scipy.stats (float32; float64 in test_stats_x64.py).

Every distribution function is evaluated on a grid that holds its support edges (the
bounds, 0, +-inf, NaN, invalid parameters) in one jitted program per library, and compared
value by value (NaN where JAX has NaN), with dtype; weak types are compared for Python
scalar arguments; first derivatives in every argument at interior points (``vmap`` of
``grad``), second derivatives for a handful; ``vmap`` against the unbatched call.  The
multivariate distributions, ``mode``, ``rankdata``, ``sem`` and ``gaussian_kde`` have their
own tests below."""
import jax
import jax.scipy.stats as jst
import numpy as np
import pytest

import xform
import xform.scipy.stats as xst

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

F32 = np.float32
INF, NAN = np.inf, np.nan
X = [-INF, -10.0, -2.5, -1.0, -0.5, -0.0, 0.0, 1e-30, 0.5, 1.0, 2.0, 3.5, 10.0, 50.0, INF, NAN]
U = [-0.5, 0.0, 1e-30, 0.2, 0.5, 0.9, 1.0, 1.5, INF, NAN]          # around [0, 1]
P = [0.0, 1e-7, 0.1, 0.5, 0.9, 1 - 1e-7, 1.0, -0.1, 1.1, NAN]      # probabilities
K = [-1.0, 0.0, 1.0, 2.0, 3.0, 5.0, 2.5, 10.0, NAN]               # counts
LOC, SCALE = [0.0, 1.5], [1.0, 2.5]
SHAPE = [0.5, 1.0, 2.5, 10.0]
BAD_SCALE = [1.0, 2.5, 0.0, -1.0]
# the Gumbel log-densities at +-inf: z - exp(z) is inf - inf, NaN in xform and in JAX's eager
# mode; XLA rewrites JAX's jitted program into +-inf there (docs/differences.md)
XF = [v for v in X if np.isfinite(v) or np.isnan(v)]

# (distribution, functions, value axes, interior points for derivatives: one list per
# argument, arguments not differentiated).  The functions of a group share one grid, so
# that one jitted program computes them together (the shared parts once).
LS = [[-1.3, 0.4, 2.2], [0.0, 0.5, -1.0], [1.0, 2.0, 0.7]]
LSP = [[0.2, 0.5, 0.85], [0.0, 0.5, -1.0], [1.0, 2.0, 0.7]]
POS_LS = [[0.3, 1.7, 4.1], [0.0, 0.1, -1.0], [1.0, 2.0, 0.7]]
SIX = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")
Q = ("ppf", "isf")
GROUPS = [
    ("norm", SIX, [X, LOC, SCALE], LS, ()),
    ("norm", Q, [P, LOC, SCALE], LSP, ()),
    ("cauchy", SIX, [X, LOC, SCALE], LS, ()),
    ("cauchy", Q, [P, LOC, SCALE], LSP, ()),
    ("logistic", ("logpdf", "pdf", "cdf", "sf"), [X, LOC, SCALE], LS, ()),
    ("logistic", Q, [P, LOC, SCALE], LSP, ()),
    ("laplace", ("logpdf", "pdf", "cdf"), [X, LOC, SCALE], LS, ()),
    ("gennorm", ("logpdf", "pdf", "cdf"), [X, [0.5, 1.0, 2.0, 4.0]],
     [LS[0], [0.5, 1.0, 4.0]], ()),
    ("uniform", ("logpdf", "pdf", "cdf"), [X, LOC, SCALE], [[0.3, 2.0, 0.1]] + LS[1:], ()),
    ("t", ("logpdf", "pdf"), [X, [0.5, 1.0, 3.0, 30.0], LOC, SCALE],
     [LS[0], [0.5, 3.0, 30.0]] + LS[1:], ()),
    ("gamma", SIX, [X, SHAPE, LOC, SCALE], [POS_LS[0], [0.5, 2.5, 3.0]] + POS_LS[1:], ()),
    ("chi2", SIX, [X, SHAPE, LOC, SCALE], [POS_LS[0], [1.0, 2.5, 3.0]] + POS_LS[1:], ()),
    ("beta", ("logpdf", "pdf"), [U, SHAPE[:3] + [0.0, -1.0], [0.5, 1.0, 3.0], LOC, SCALE],
     [[0.2, 0.5, 0.7], [0.5, 2.5, 3.0], [1.5, 0.7, 4.0], [0.0, 0.1, -0.2], [1.0, 1.2, 0.9]],
     ()),
    # betainc has no derivative in a and b (JAX raises too)
    ("beta", ("cdf", "logcdf", "sf", "logsf"),
     [U, SHAPE[:3] + [0.0, -1.0], [0.5, 1.0, 3.0], LOC, SCALE],
     [[0.2, 0.5, 0.7], [0.5, 2.5, 3.0], [1.5, 0.7, 4.0], [0.0, 0.1, -0.2], [1.0, 1.2, 0.9]],
     (1, 2)),
    ("expon", SIX, [X, LOC, SCALE], POS_LS, ()),
    ("pareto", SIX, [X, [0.5, 1.0, 3.0], LOC, SCALE],
     [[1.5, 3.0, 5.0], [0.5, 1.0, 3.0], [0.0, 0.2, -1.0], [1.0, 2.0, 0.7]], ()),
    ("expon", ("ppf",), [P, LOC, BAD_SCALE], LSP, ()),
    ("uniform", ("ppf",), [P, LOC, BAD_SCALE], LSP, ()),
    ("pareto", ("ppf",), [P, [0.5, 1.0, 3.0], LOC, SCALE],
     [LSP[0], [0.5, 1.0, 3.0]] + LSP[1:], ()),
    # JAX cannot differentiate xlogy(-1, scale) in scale (an integer tangent)
    ("gumbel_l", ("logpdf", "pdf"), [XF, LOC, BAD_SCALE], LS, (2,)),
    ("gumbel_l", ("cdf", "logcdf", "sf", "logsf"), [X, LOC, BAD_SCALE], LS, ()),
    ("gumbel_l", ("ppf",), [P, LOC, BAD_SCALE], LSP, (0,)),
    # JAX cannot differentiate xlogy(-1, scale) in scale (an integer tangent)
    ("gumbel_r", ("logpdf", "pdf"), [XF, LOC, BAD_SCALE], LS, (2,)),
    ("gumbel_r", ("cdf", "logcdf", "sf", "logsf"), [X, LOC, BAD_SCALE], LS, ()),
    ("gumbel_r", ("ppf",), [P, LOC, BAD_SCALE], LSP, (0,)),
    ("truncnorm", SIX, [X, [-INF, -2.0, 0.0, 1.0], [-1.0, 0.5, 3.0, INF], [0.0, 1.0],
                        [1.0, 2.0]],
     [[-0.3, 0.4, 1.5], [-1.0, -2.0, 0.0], [1.0, 0.5, 2.0], [0.0, 0.1, -0.2], [1.0, 1.2, 0.9]],
     ()),
    ("vonmises", ("logpdf", "pdf"), [X, [0.0, 0.5, 2.0, 50.0, -1.0]],
     [LS[0], [0.5, 2.0, 50.0]], ()),
    ("wrapcauchy", ("logpdf", "pdf"), [X + [2 * np.pi, 6.3], [0.0, 0.3, 0.9, 1.0, -0.1]],
     [[0.3, 1.7, 4.1], [0.3, 0.5, 0.9]], ()),
    ("poisson", ("logpmf", "pmf", "cdf"), [K, [0.0, 0.5, 3.0, 20.0], [0.0, 1.0]],
     [[0.0, 2.0, 5.0], [0.5, 3.0, 20.0], [0.0, 0.0, 1.0]], ()),
    ("poisson", ("entropy",), [[0.0, 0.5, 3.0, 9.9, 10.0, 50.0, 99.0, 100.0, 1000.0, NAN],
                               [0.0, 1.0]], [[0.5, 3.0, 50.0, 500.0], [0.0] * 4], ()),
    ("bernoulli", ("logpmf", "pmf"), [K, [0.0, 0.3, 1.0], [0.0, 1.0]],
     [[0.0, 1.0, 1.0], [0.3, 0.5, 0.9], [0.0, 0.0, 0.0]], ()),
    ("bernoulli", ("cdf",), [K, [0.0, 0.3, 1.0, -0.1, 1.1, NAN]],
     [[0.5, 0.0, 2.0], [0.3] * 3], ()),
    ("bernoulli", ("ppf",), [P, [0.0, 0.3, 1.0, -0.1, 1.1, NAN]], [[0.5, 0.2, 0.9], [0.3] * 3],
     ()),
    ("binom", ("logpmf", "pmf"), [K, [0.0, 1.0, 5.0, 10.0], [0.0, 0.3, 1.0], [0.0, 1.0]],
     [[0.0, 2.0, 3.0], [1.0, 5.0, 10.0], [0.3, 0.5, 0.9], [0.0, 0.0, 1.0]], ()),
    ("nbinom", ("logpmf", "pmf"), [K, [1.0, 2.5, 5.0], [0.0, 0.3, 1.0], [0.0, 1.0]],
     [[0.0, 2.0, 3.0], [1.0, 2.5, 5.0], [0.3, 0.5, 0.9], [0.0, 0.0, 1.0]], ()),
    ("geom", ("logpmf", "pmf"), [K, [0.0, 0.3, 1.0], [0.0, 1.0]],
     [[1.0, 2.0, 3.0], [0.3, 0.5, 0.9], [0.0, 0.0, 1.0]], ()),
    ("betabinom", ("logpmf", "pmf"), [K, [0.0, 1.0, 5.0], [0.5, 2.0, 0.0], [0.5, 3.0],
                                      [0.0, 1.0]],
     [[0.0, 2.0, 3.0], [1.0, 5.0, 10.0], [0.5, 2.0, 3.0], [0.5, 3.0, 1.0], [0.0, 0.0, 1.0]],
     ()),
]
# second derivatives (in every argument) for a handful
GRAD2 = ["norm.logcdf", "t.logpdf", "gamma.logpdf", "truncnorm.logpdf", "gumbel_r.logsf"]
SPECS = {f"{d}.{f}": (axes, pts, nodiff) for d, fs, axes, pts, nodiff in GROUPS for f in fs}


def fn(lib, name):
    dist, f = name.split(".")
    return getattr(getattr(lib, dist), f)


def grid(axes):
    return [g.ravel().astype(F32) for g in np.meshgrid(*map(np.asarray, axes), indexing="ij")]


def compare(got, want, what, rtol=2e-6, atol=0.0, weak=True):
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    if weak:
        assert getattr(got, "weak_type", False) == getattr(want, "weak_type", False), \
            f"{what}: weak_type {got.weak_type} != {want.weak_type}"
    g, w = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert g.shape == w.shape, f"{what}: shape {g.shape} != {w.shape}"
    ok = (g == w) | (np.isnan(g) & np.isnan(w)) | (np.abs(g - w) <= atol + rtol * np.abs(w))
    if not ok.all():
        return [f"{what}: {(~ok).sum()} mismatches, first at {np.argwhere(~ok)[0]}: "
                f"got {g[~ok][:3]}, want {w[~ok][:3]}"]
    return []


# tolerance overrides (the iterative special functions round differently in a few ulps)
RTOL = {"gamma": 2e-5, "chi2": 2e-5, "beta": 2e-5, "truncnorm": 2e-5, "poisson": 2e-5,
        "gennorm": 2e-5, "betabinom": 2e-5}


# the groups in four parts, one test each (balanced for two xdist workers)
PARTS = {"line": ("norm", "cauchy", "logistic", "laplace", "gennorm", "uniform", "t"),
         "halfline": ("gamma", "chi2", "beta", "expon", "pareto"),
         "more": ("gumbel_l", "gumbel_r", "truncnorm", "vonmises", "wrapcauchy"),
         "discrete": ("poisson", "bernoulli", "binom", "nbinom", "geom", "betabinom")}
# exp or log of another function of the same distribution (as JAX writes them): their
# derivatives are that function's times exp's or log's, so only their values are compared
DERIVED = {"cauchy.logcdf", "gamma.logcdf", "gamma.logsf", "chi2.logcdf", "chi2.logsf",
           "beta.logcdf", "beta.logsf", "expon.sf", "pareto.sf", "gumbel_l.cdf", "gumbel_l.sf",
           "gumbel_r.cdf", "truncnorm.cdf", "truncnorm.sf"}


def _derived(n):
    return n.split(".")[1] in ("pdf", "pmf") or n in DERIVED


@pytest.mark.parametrize("part", PARTS)
def test_values(part):
    """Every function of the part on its group's grid, one jitted program per library (jit
    against jit: XLA's fusions round differently from op-by-op evaluation, in both)."""
    groups = [(d, fs, grid(axes)) for d, fs, axes, _, _ in GROUPS if d in PARTS[part]]

    def program(lib, gs):
        return {f"{d}.{f}": fn(lib, f"{d}.{f}")(*gs[i]) for i, (d, fs, _) in enumerate(groups)
                for f in fs}
    gs = [g for _, _, g in groups]
    got = xform.jit(lambda g: program(xst, g))(gs)
    want = jax.jit(lambda g: program(jst, g))(gs)
    bad = []
    for n in want:
        bad += compare(got[n], want[n], n, rtol=RTOL.get(n.split(".")[0], 2e-6), atol=1e-30)
    assert not bad, "\n".join(bad)


def test_weak_types_and_dtypes():
    """Shapes, dtypes and weak types of the results for Python floats and ints, NumPy
    float32 scalars, and arrays mixed with Python scalars (abstract evaluation only)."""
    def shapes(lib, shape_of):
        out = {}
        for n, (_, pts, _) in SPECS.items():
            f = fn(lib, n)
            variants = {"": [float(p[0]) for p in pts], "/int": [int(p[0]) for p in pts],
                        "/f32": [F32(p[0]) for p in pts],
                        "/array x": [np.asarray(pts[0][:2], F32)] + [p[0] for p in pts[1:]],
                        "/scalar x": [pts[0][0]] + [np.asarray(p[:2], F32) for p in pts[1:]]}
            for tag, a in variants.items():
                try:
                    out[n + tag] = shape_of(lambda: f(*a))
                except TypeError as e:    # norm.ppf/isf refuse integers, as JAX does
                    out[n + tag] = type(e)
        return out
    got, want = shapes(xst, xform.eval_shape), shapes(jst, jax.eval_shape)
    bad = []
    for n in got:
        g, w = got[n], want[n]
        if isinstance(g, type) or isinstance(w, type):
            assert g is w, f"{n}: {g} vs {w}"
        elif (g.shape, g.dtype, g.weak_type) != (w.shape, w.dtype, w.weak_type):
            bad.append(f"{n}: {g.shape} {g.dtype} weak={g.weak_type}, JAX {w.shape} "
                       f"{w.dtype} weak={w.weak_type}")
    assert not bad, "\n".join(bad)


def _all_grads(lib, names, order):
    """Per function, ``vmap`` of ``grad`` in all its differentiated arguments at once (order
    1), or of the diagonal second derivatives (order 2)."""
    gradf = xform.grad if lib is xst else jax.grad
    vmapf = xform.vmap if lib is xst else jax.vmap

    def program(points):
        out = {}
        for n in names:
            f = fn(lib, n)
            argnums = tuple(i for i in range(len(points[n])) if i not in SPECS[n][2])
            if order == 1:
                for i, g in zip(argnums, vmapf(gradf(f, argnums))(*points[n])):
                    out[f"{n} d/d{i}"] = g
            else:
                for i in argnums:
                    out[f"{n} d2/d{i}2"] = vmapf(gradf(gradf(f, i), i))(*points[n])
        return out
    return program


def _check_grads(names, order):
    points = {n: [np.asarray(p, F32) for p in SPECS[n][1]] for n in names}
    got = xform.jit(_all_grads(xst, names, order))(points)
    want = jax.jit(_all_grads(jst, names, order))(points)
    bad = []
    for n in want:
        rtol = RTOL.get(n.split(".")[0], 2e-6) * (20 if order == 2 else 5)
        bad += compare(got[n], want[n], n, rtol=rtol, atol=1e-6)
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("part", PARTS)
def test_derivatives(part):
    """First derivatives in every argument (``jit`` of ``vmap`` of ``grad``), except of the
    functions that are ``exp``/``log`` of another one."""
    _check_grads([n for n in SPECS if n.split(".")[0] in PARTS[part] and not _derived(n)], 1)


def test_second_derivatives():
    _check_grads(GRAD2, 2)


def test_vmap():
    """``vmap`` with batched and unbatched arguments against the broadcasting call."""
    names = ["gamma.cdf", "binom.pmf", "norm.ppf"]
    bad = []
    for n in names:
        args = [np.asarray(p, F32) for p in SPECS[n][1]]
        axes = tuple(None if i % 2 else 0 for i in range(len(args)))
        args = [a[0] if ax is None else a for a, ax in zip(args, axes)]
        f = fn(xst, n)
        bad += compare(xform.jit(xform.vmap(f, in_axes=axes))(*args), f(*args), n)
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("call,err", [
    (lambda: xst.norm.logpdf([1.0, 2.0]), "norm.logpdf requires ndarray or scalar"),
    (lambda: xst.gamma.cdf(1.0, "a"), "gamma.cdf requires ndarray or scalar"),
    (lambda: xst.poisson.entropy(None), "poisson.entropy requires ndarray or scalar"),
    (lambda: xst.norm.ppf(np.int32(1)), "ndtri"),
    (lambda: xst.multinomial.logpmf(np.ones(3, F32), 3, np.ones(3, F32) / 3),
     "x and n must be of integer type"),
    (lambda: xst.dirichlet.logpdf(np.ones((2, 2), F32), np.ones((2, 2), F32)),
     "must be one-dimensional"),
    (lambda: xst.multivariate_normal.logpdf(np.ones(3, F32), np.zeros(3, F32),
                                            np.eye(2, dtype=F32)), "incompatible shapes"),
    (lambda: xst.rankdata(np.ones(3, F32), method="nope"), "unknown method"),
    (lambda: xst.mode(np.ones(3, F32), nan_policy="raise"), "nan_policy"),
])
def test_errors(call, err):
    with pytest.raises((TypeError, ValueError, NotImplementedError), match=err):
        call()


# ---- multivariate -----------------------------------------------------------------------------

def _mv_program(lib, gradf):
    def program(x, alpha, xs, counts, n, p, y, mean, cov):
        out = {
            "dirichlet.logpdf": lib.dirichlet.logpdf(x, alpha),
            "dirichlet.pdf": lib.dirichlet.pdf(x[:-1], alpha),
            "dirichlet.off": lib.dirichlet.logpdf(xs, alpha),
            "multinomial.logpmf": lib.multinomial.logpmf(counts, n, p),
            "multinomial.pmf": lib.multinomial.pmf(counts[0], n, p),
            "mvn.logpdf": lib.multivariate_normal.logpdf(y, mean, cov),
            "mvn.pdf": lib.multivariate_normal.pdf(y, mean, cov),
            "mvn.scalar_cov": lib.multivariate_normal.logpdf(y, mean, cov[0, 0]),
            "mvn.scalar": lib.multivariate_normal.logpdf(y[:, 0], mean[0], cov[0, 0]),
        }
        out["d dirichlet"] = gradf(lambda a, b: lib.dirichlet.logpdf(a, b).sum(), (0, 1))(
            x, alpha)
        out["d multinomial"] = gradf(lambda q: lib.multinomial.logpmf(counts, n, q).sum())(p)
        out["d mvn"] = gradf(lambda a, b, c: lib.multivariate_normal.logpdf(a, b, c).sum(),
                             (0, 1, 2))(y, mean, cov)
        return out
    return program


def test_multivariate():
    rng = np.random.default_rng(0)
    x = np.asarray([[0.2, 0.5, 0.1], [0.3, 0.25, 0.6], [0.5, 0.25, 0.3]], F32)
    xs = np.asarray([[0.2, -0.1, 0.5], [0.3, 0.6, 0.6], [0.5, 0.5, 0.3]], F32)
    alpha = np.asarray([1.0, 2.0, 0.5], F32)
    counts = np.asarray([[1, 2, 2], [0, 5, 0], [1, 1, 1]], np.int32)
    p = np.asarray([0.2, 0.3, 0.5], F32)
    y = rng.normal(size=(4, 3)).astype(F32)
    a = rng.normal(size=(3, 3))
    cov = (a @ a.T + 3 * np.eye(3)).astype(F32)
    mean = np.asarray([0.5, -0.5, 1.0], F32)
    vals = (x, alpha, xs, counts, np.int32(5), p, y, mean, cov)
    got = xform.jit(_mv_program(xst, xform.grad))(*vals)
    want = jax.jit(_mv_program(jst, jax.grad))(*vals)
    got_l, tree = xform.tree_util.tree_flatten(got)
    want_l = jax.tree_util.tree_leaves(want)
    bad = []
    for i, (g, w) in enumerate(zip(got_l, want_l)):
        bad += compare(g, w, f"leaf {i} of {tree}", rtol=2e-5, atol=1e-6)
    assert not bad, "\n".join(bad)


# ---- mode, rankdata, sem ----------------------------------------------------------------------

def _summary_program(lib, grad):
    def program(a, ints, nan):
        out = {}
        for axis, keepdims in ((0, False), (-1, True), (None, False), (None, True)):
            for i, src in enumerate((a, ints)):
                res = lib.mode(src, axis, keepdims=keepdims)
                out[f"mode {i} {axis} {keepdims}"] = (res.mode, res.count)
        for method in ("average", "min", "max", "dense", "ordinal"):
            for i, src in enumerate((a, ints)):
                out[f"rankdata {i} {method}"] = lib.rankdata(src, method)
        out["rankdata nan"] = lib.rankdata(nan)
        out["rankdata axis"] = lib.rankdata(a, "min", axis=1)
        for axis, ddof, policy in [(0, 1, "propagate"), (None, 0, "propagate"), (1, 2, "omit")]:
            for i, src in enumerate((a, nan, ints)):
                out[f"sem {i} {axis} {ddof} {policy}"] = lib.sem(src, axis, ddof, policy)
        out["d sem"] = grad(lambda v: lib.sem(v, None).sum())(a)
        return out
    return program


def test_mode_rankdata_sem():
    a = np.asarray([[1.0, 3.0, 3.0, 2.0], [2.0, 2.0, 1.0, 1.0], [5.0, 3.0, 1.0, 1.0]], F32)
    nan = a.copy()
    nan[1, 2] = np.nan
    ints = np.asarray([[4, 1, 1, 4], [0, 0, 2, 2], [1, 1, 1, 3]], np.int32)
    got = xform.jit(_summary_program(xst, xform.grad))(a, ints, nan)
    want = jax.jit(_summary_program(jst, jax.grad))(a, ints, nan)
    bad = []
    for k in want:
        for g, w in zip(*((got[k], want[k]) if isinstance(want[k], tuple)
                          else ((got[k],), (want[k],)))):
            bad += compare(g, w, k, rtol=1e-5)
    # eagerly, with axis=0 on a vector (no outer jit)
    g, w = xst.mode(ints[0]), jst.mode(ints[0])
    bad += compare(g.mode, w.mode, "mode eager") + compare(g.count, w.count, "mode count")
    bad += compare(xst.rankdata(a[0]), jst.rankdata(a[0]), "rankdata eager")
    assert not bad, "\n".join(bad)


# ---- gaussian_kde ----------------------------------------------------------------------------

def _kde_program(lib, grad):
    def program(data1, data2, w, pts1, pts2):
        out = {}
        cases = [((data1,), {"bw_method": "silverman"}, pts1),
                 ((data2,), {"weights": w, "bw_method": 0.7}, pts2)]
        for i, (a, k, pts) in enumerate(cases):
            kde = lib.gaussian_kde(*a, **k)
            for attr in ("neff", "dataset", "weights", "covariance", "inv_cov"):
                out[f"kde{i}.{attr}"] = getattr(kde, attr)
            out[f"kde{i}.evaluate"] = kde(pts)
            out[f"kde{i}.logpdf"] = kde.logpdf(pts)
            out[f"kde{i}.integrate_gaussian"] = kde.integrate_gaussian(
                np.zeros(kde.d, F32), np.eye(kde.d, dtype=F32))
            out[f"kde{i}.integrate_kde"] = kde.integrate_kde(kde)
            if kde.d == 1:
                out[f"kde{i}.integrate_box_1d"] = kde.integrate_box_1d(-0.5, 1.0)
        out["d logpdf"] = grad(lambda d, p: lib.gaussian_kde(d).logpdf(p).sum(), (0, 1))(
            data1, pts1)
        return out
    return program


def test_gaussian_kde():
    rng = np.random.default_rng(1)
    vals = (rng.normal(size=12).astype(F32), rng.normal(size=(2, 10)).astype(F32),
            rng.uniform(0.5, 1.5, size=10).astype(F32), np.linspace(-3, 3, 7).astype(F32),
            rng.normal(size=(2, 5)).astype(F32))
    got = xform.jit(_kde_program(xst, xform.grad))(*vals)
    want = jax.jit(_kde_program(jst, jax.grad))(*vals)
    bad = []
    for k in want:
        for i, (g, w) in enumerate(zip(*((got[k], want[k]) if isinstance(want[k], tuple)
                                          else ((got[k],), (want[k],))))):
            bad += compare(g, w, f"{k} {i}", rtol=5e-5, atol=1e-6)
    # eagerly: a pytree through jit, resampling, the refusals
    kde = xst.gaussian_kde(vals[0])
    assert len(xform.tree_util.tree_leaves(kde)) == 5
    bad += compare(xform.jit(lambda k, p: k(p))(kde, vals[3]),
                   jst.gaussian_kde(vals[0])(vals[3]), "jit(kde)", rtol=5e-5)
    sample = kde.resample(xform.random.key(0), (6,))
    assert sample.shape == (1, 6) and np.isfinite(np.asarray(sample)).all()
    with pytest.raises(NotImplementedError, match="integrate_box"):
        kde.integrate_box(0.0, 1.0)
    with pytest.raises(ValueError, match="bw_method"):
        xst.gaussian_kde(vals[0], bw_method="nope")
    assert not bad, "\n".join(bad)
