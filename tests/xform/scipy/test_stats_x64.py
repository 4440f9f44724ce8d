"""xform.scipy.stats against jax.scipy.stats in float64 (jax_enable_x64 on for the module,
through the ``x64_enabled`` fixture): values at support edges for a representative function of
each formula family, first derivatives for a few, in one jitted program per library."""
import jax
import jax.scipy.stats as jst
import numpy as np
import pytest

import xform
import xform.scipy.stats as xst

pytestmark = [pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.usefixtures("x64_enabled")]

F64 = np.float64
X = np.array([-np.inf, -30.0, -1.0, -0.0, 0.0, 1e-300, 0.5, 1.0, 7.5, 40.0, np.inf, np.nan])
P = np.array([0.0, 1e-300, 1e-10, 0.3, 0.5, 1 - 1e-12, 1.0, -0.1, np.nan])
CASES = [  # name, arguments after the first, first-argument grid, derivative point
    ("norm.logcdf", (0.5, 2.0), X, 0.3), ("norm.ppf", (0.5, 2.0), P, 0.3),
    ("t.logpdf", (3.5, 0.5, 2.0), X, 0.3), ("cauchy.isf", (0.5, 2.0), P, 0.3),
    ("gamma.cdf", (2.5, 0.0, 1.5), X, 1.3), ("chi2.logsf", (3.0,), X, 1.3),
    ("beta.logpdf", (2.5, 0.7), np.array([-1.0, 0.0, 1e-300, 0.3, 1.0, 2.0, np.nan]), 0.3),
    ("gumbel_r.logsf", (0.5, 2.0), X[1:-2], 0.3), ("truncnorm.logcdf", (-1.0, 2.0), X, 0.3),
    ("vonmises.logpdf", (3.0,), X, 0.3), ("poisson.logpmf", (3.5,),
                                         np.array([-1.0, 0.0, 2.0, 2.5, 30.0, np.nan]), 2.0),
    ("binom.logpmf", (7.0, 0.3), np.array([-1.0, 0.0, 3.0, 7.0, 8.0]), 3.0),
    ("betabinom.logpmf", (7.0, 2.0, 0.5), np.array([-1.0, 0.0, 3.0, 7.0, 8.0]), 3.0),
    ("poisson.entropy", (), np.array([0.0, 0.5, 5.0, 50.0, 500.0]), 3.0),
]

GRADS = {"norm.logcdf", "gamma.cdf", "truncnorm.logcdf", "poisson.logpmf"}


def fn(lib, name):
    dist, f = name.split(".")
    return getattr(getattr(lib, dist), f)


def _program(lib, grad):
    def program(grids, points):
        out = {}
        for (name, rest, _, _), g, p in zip(CASES, grids, points):
            f = fn(lib, name)
            out[name] = f(g, *rest)
            if name not in GRADS:
                continue
            out[name + " grad"] = grad(lambda *a, f=f: f(*a), tuple(range(1 + len(rest))))(
                p, *[F64(r) for r in rest])
        return out
    return program


def test_float64():
    grids = [np.asarray(g, F64) for _, _, g, _ in CASES]
    points = [F64(p) for _, _, _, p in CASES]
    got = xform.jit(_program(xst, xform.grad))(grids, points)
    want = jax.jit(_program(jst, jax.grad))(grids, points)
    bad = []
    for k in want:
        gs, ws = (got[k], want[k]) if isinstance(want[k], tuple) else ((got[k],), (want[k],))
        for i, (g, w) in enumerate(zip(gs, ws)):
            assert g.dtype == w.dtype == np.float64, f"{k}: {g.dtype} {w.dtype}"
            g, w = np.asarray(g), np.asarray(w)
            ok = (g == w) | (np.isnan(g) & np.isnan(w)) | (np.abs(g - w) <= 1e-12 * np.abs(w))
            if not ok.all():
                bad.append(f"{k} [{i}]: got {g[~ok][:3]}, want {w[~ok][:3]}")
    assert not bad, "\n".join(bad)
