"""The oracle sweep's table: every public callable of JAX's user-facing modules, paired with
xform's namesake and classified by signature.

`specs()` enumerates `jax.numpy` (with `linalg`, `fft`), `jax.nn`, `jax.scipy.special`,
`jax.scipy.stats` (and its distribution submodules), `jax.lax` (with `linalg`) and
`jax.random`.  Each name gets a `Spec`: xform's function (None: "missing"), its signature
class (sweep_cases.CLASSES) and the extra arguments the class's builder needs, or None
with a reason ("unclassified").  The class comes from the signature (parameter names,
arity, ufunc-ness) and the family; `OVERRIDES` fixes the names that do not fit.

`KNOWN_FAILURES` lists the names whose in-suite subset (test_sweep.py) fails today; the
suite fails on any other failing name, and on any listed name that passes (remove it).
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import types

import numpy as np

from oracle.sweep_cases import CLASSES, D, F, I, O, U, int_dtype, resolve, sq  # noqa: F401
from oracle.sweep_overrides import OVERRIDES

# (family, JAX module, xform module); "scipy.stats" also walks its submodules
FAMILIES = [
    ("numpy", "jax.numpy", "xform.numpy"),
    ("numpy.linalg", "jax.numpy.linalg", "xform.numpy.linalg"),
    ("numpy.fft", "jax.numpy.fft", "xform.numpy.fft"),
    ("nn", "jax.nn", "xform.nn"),
    ("scipy.special", "jax.scipy.special", "xform.scipy.special"),
    ("scipy.stats", "jax.scipy.stats", "xform.scipy.stats"),
    ("lax", "jax.lax", "xform.lax"),
    ("lax.linalg", "jax.lax.linalg", "xform.lax.linalg"),
    ("random", "jax.random", "xform.random"),
]
# the in-suite tests: one per group of families
GROUPS = {
    "numpy": ("numpy", "numpy.linalg", "numpy.fft"),
    "nn": ("nn",),
    "scipy.special": ("scipy.special",),
    "scipy.stats": ("scipy.stats",),
    "lax": ("lax", "lax.linalg"),
    "random": ("random",),
}


@dataclasses.dataclass
class Spec:
    family: str
    name: str
    jfn: object
    xfn: object                    # None: xform lacks the name
    cls: str | None = None         # None: unclassified (see why)
    extra: tuple = ()              # extra positional arguments after the class's own
    kwargs: dict = dataclasses.field(default_factory=dict)
    axis_kw: str = "axis"
    derivs: bool | None = None     # None: the class's default
    custom: object = None          # cls == "custom": (spec, dt) -> [Case]
    why: str = ""
    call: object = None            # (m, f) -> the function to call (fixes odd signatures)

    @property
    def key(self):
        return f"{self.family}.{self.name}"

    def cases(self, dt):
        return CLASSES[self.cls].build(self, dt)

    @property
    def differentiable(self):
        return CLASSES[self.cls].derivs if self.derivs is None else self.derivs


# Parameter values by name, for the extra required parameters of array functions.
PARAM_FILL = {
    "axis": 1, "axes": (1,), "dimension": 1, "dimensions": (1,), "axis1": 0, "axis2": 1,
    "source": 0, "destination": 1, "repeats": 2, "reps": (2, 1), "shift": 1, "obj": 1,
    "indices_or_sections": [1], "values": F(2.5), "fill_value": F(2.5), "q": F(0.3),
    "bins": F([-1.0, 0.0, 1.0, 2.0]), "index_dtype": D(int_dtype), "decimals": 1,
    "k": 2, "n": 2, "new_sizes": (4, 3), "newshape": (4, 3), "new_shape": (4, 3),
    "index": 1, "start_index": 1, "limit_index": 3, "slice_size": 2, "start_indices": (1, 1),
    "limit_indices": (3, 3), "slice_sizes": (2, 2), "permutation": (1, 0), "sizes": (2,),
    "val": F(2.5), "kth": 1, "ind": I([0, 5]), "v": F([2.5, -1.0]), "mask": None,
}
# Stats shape parameters (traced floats, so derivatives reach them too)
STATS_FILL = {"a": F(2.5), "b": F(1.5), "df": F(3.0), "p": F(0.3), "n": F(5.0), "mu": F(2.0),
              "kappa": F(1.5), "beta": F(1.5), "c": F(0.5), "alpha": F([1.0, 2.0, 1.5]),
              "mean": F([0.5, -0.5, 1.0]),
              "cov": D(lambda dt: np.asarray(sq(dt)["spd"], dt))}
# Random samplers' required parameters
RANDOM_FILL = {"shape": (3,), "a": F(2.5), "b": F(1.5), "df": F(3.0), "lam": F(4.0),
               "p": F(0.3), "n": F(5.0), "alpha": F([1.0, 2.0, 1.5]), "dfnum": F(2.0),
               "dfden": F(3.0), "loc": F(0.5), "scale": F(2.0), "sigma": F(0.7),
               "concentration": F(1.5), "logits": F([0.1, -0.3, 2.0]), "lower": F(-1.0),
               "upper": F(2.0), "left": F(-1.0), "mode": F(0.0), "right": F(2.0),
               "mean": F([0.5, -0.5, 1.0]), "cov": D(lambda dt: np.asarray(sq(dt)["spd"], dt)),
               "d": 3, "x": F([1.0, 2.0, 3.0, 4.0]), "num": 2, "data": I(7), "minval": I(-5),
               "maxval": I(9)}

# Parameter names that mark the kind of the first argument
ELEMENTWISE_PARAMS = {"x", "z", "val", "x1", "x2", "y", "h", "q", "p", "k"}
ARRAY_PARAMS = {"a", "arr", "m", "ary", "v", "operand", "array", "ar", "filt", "ar1", "A", "M",
                "x", "seq_of_zeros", "lhs", "prototype", "y", "f", "tup", "arrays", "operands",
                "p", "keys", "sample"}
CREATION_PARAMS = {"shape", "N", "n", "M", "start", "dtype", "size", "dimensions", "num"}
CREATION_FILL = {"shape": (2, 3), "N": 3, "n": 3, "M": 5, "start": 1.0, "stop": 10.0,
                 "dtype": D(lambda dt: dt), "size": 4, "dimensions": (2, 3), "num": 4,
                 "beta": 2.0, "fill_value": 1.5, "dimension": 1}
BINARY_PARAMS = {("x1", "x2"), ("x", "y"), ("a", "b"), ("p", "q"), ("n", "x"), ("h", "a"),
                 ("z", "m"), ("x", "q"), ("a", "x"), ("N", "k"), ("x", "lmbda"), ("a", "d"),
                 ("m", "x"), ("lhs", "rhs"), ("x", "df"), ("x", "b")}

INT_UNARY = {"numpy.bitwise_not", "numpy.invert", "numpy.bitwise_invert", "numpy.bitwise_count",
             "lax.bitwise_not", "lax.clz", "lax.population_count"}
INT_BINARY = {"numpy.bitwise_and", "numpy.bitwise_or", "numpy.bitwise_xor", "numpy.left_shift",
              "numpy.right_shift", "numpy.bitwise_left_shift", "numpy.bitwise_right_shift",
              "numpy.gcd", "numpy.lcm", "lax.bitwise_and", "lax.bitwise_or", "lax.bitwise_xor",
              "lax.shift_left", "lax.shift_right_arithmetic", "lax.shift_right_logical",
              "lax.mulhi"}



# --- enumeration and classification --------------------------------------------------------

def _public(mod):
    out = []
    for n in sorted(dir(mod)):
        if n.startswith("_"):
            continue
        obj = getattr(mod, n)
        if isinstance(obj, (type, types.ModuleType)) or not callable(obj):
            continue
        if type(obj).__module__ == "typing" or isinstance(obj, types.GenericAlias):
            continue
        out.append((n, obj))
    return out


def _modules(family, jname, xname):
    """[(family, jax module, xform module or None)] (stats: its submodules too)."""
    jm = importlib.import_module(jname)
    try:
        xm = importlib.import_module(xname)
    except ImportError:
        xm = None
    out = [(family, jm, xm)]
    if family == "scipy.stats":
        for sub in sorted(n for n in dir(jm) if isinstance(getattr(jm, n), types.ModuleType)):
            out.append((f"{family}.{sub}", getattr(jm, sub),
                        getattr(xm, sub, None) if xm is not None else None))
    return out


def _params(fn):
    try:
        return list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None


def classify(family, name, jfn):
    """An `O` for this name: the override, or one derived from its signature."""
    key = f"{family}.{name}"
    if key in OVERRIDES:
        return OVERRIDES[key]
    if key in INT_UNARY:
        return O("int_unary")
    if key in INT_BINARY:
        return O("int_binary")
    import jax.numpy as jnp
    if isinstance(jfn, jnp.ufunc):
        return O({1: "unary", 2: "binary"}.get(jfn.nin), why=f"ufunc with nin={jfn.nin}")
    params = _params(jfn)
    if params is None:
        return U("no signature")
    pos = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    req = [p.name for p in pos if p.default is p.empty]
    names = {p.name for p in params}
    stats = family.startswith("scipy.stats.")
    fill = dict(PARAM_FILL, **(STATS_FILL if stats else {}))
    if family == "random":
        if not req or req[0] != "key":
            return U(f"random function without a key ({', '.join(req)})")
        miss = [r for r in req[1:] if r not in RANDOM_FILL]
        if miss:
            return U(f"needs {', '.join(miss)}")
        return O("random", tuple(RANDOM_FILL[r] for r in req[1:]))
    if not req:
        if any(p.kind == p.VAR_POSITIONAL for p in params):
            return U("variadic arguments only")
        return U("no required argument")
    first = req[0]
    if first in CREATION_PARAMS and family in ("numpy", "numpy.fft", "lax"):
        miss = [r for r in req if r not in CREATION_FILL]
        if miss:
            return U(f"creation: needs {', '.join(miss)}")
        return O("creation", tuple(CREATION_FILL[r] for r in req))
    if family in ("numpy.linalg", "lax.linalg") and len(req) <= 2:
        miss = [r for r in req[1:] if r not in fill]
        if len(req) == 1 or not miss:
            return O("square", tuple(fill[r] for r in req[1:]))
        return O("solve")
    if len(req) == 1:
        if family in ("scipy.special", "nn", "lax") and first in ELEMENTWISE_PARAMS \
                and "axis" not in names:
            return O("unary")
        if family == "numpy" and first in ("x", "z", "val") and "axis" not in names:
            return O("unary")
        if stats:
            return O("unary")
        if "axis" in names:
            return O("reduce")
        if first in ARRAY_PARAMS or first in ELEMENTWISE_PARAMS:
            return O("array")
        return U(f"one argument named {first!r}")
    if len(req) == 2 and tuple(req) in BINARY_PARAMS and not stats:
        if family in ("scipy.special", "lax") or pos[0].kind == pos[0].POSITIONAL_ONLY:
            return O("binary")
        if family == "numpy" and tuple(req) in (("x1", "x2"), ("x", "y")):
            return O("binary")
        return O("vec2")
    if family == "scipy.special" and len(req) in (3, 4):
        return O({3: "ternary", 4: "quaternary"}[len(req)])
    if first in ARRAY_PARAMS or first in ELEMENTWISE_PARAMS:
        miss = [r for r in req[1:] if r not in fill]
        if miss:
            return U(f"needs {', '.join(miss)}")
        extra = tuple(fill[r] for r in req[1:])
        if stats:
            return O("unary", extra)
        return O("array", extra)
    return U(f"signature ({', '.join(req)})")


def specs(families=None):
    """Every (JAX name, xform namesake) of the swept families, classified."""
    out = []
    for family, jname, xname in FAMILIES:
        for fam, jm, xm in _modules(family, jname, xname):
            if families is not None and fam not in families and \
                    not any(fam.startswith(f + ".") for f in families):
                continue
            for name, jfn in _public(jm):
                xfn = getattr(xm, name, None) if xm is not None else None
                o = classify(fam, name, jfn)
                out.append(Spec(fam, name, jfn, xfn, o.cls, o.extra, dict(o.kwargs),
                                o.axis_kw, o.derivs, o.custom, o.why, o.call))
    return out


def group_of(family):
    for g, fams in GROUPS.items():
        if family in fams or any(family.startswith(f + ".") for f in fams):
            return g
    return None


def resolved(spec, dt):
    """The spec with its extra arguments and keyword values resolved for ``dt``."""
    return dataclasses.replace(spec, extra=tuple(resolve(v, dt) for v in spec.extra),
                               kwargs={k: resolve(v, dt) for k, v in spec.kwargs.items()})


# Left out of the in-suite subset (make oracle covers them): the gamma-family samplers
# (rejection loops) take 1-2 s each to compile in each library.
SUITE_SKIP = {f"random.{n}" for n in (
    "beta", "f", "dirichlet", "generalized_normal", "t", "chisquare", "gamma", "loggamma",
    "ball", "binomial", "poisson")}


# scipy.stats in the suite: the log-density, cdf and ppf of each distribution (pdf, sf, isf
# and the log variants are their exp/complements in both libraries, and
# tests/xform/scipy/test_stats.py checks every function); `make oracle` runs them all
SUITE_STATS_FUNCTIONS = {"logpdf", "logpmf", "cdf", "ppf"}


def in_suite(spec) -> bool:
    """Whether the in-suite subset (test_sweep.py) checks this name."""
    if spec.family.startswith("scipy.stats."):    # scipy.stats.<distribution>.<function>
        return spec.name in SUITE_STATS_FUNCTIONS
    return True


# --- what fails today in the in-suite subset ---------------------------------------------
# name -> reason.  A key "family.*" covers a whole module xform lacks (stale as soon as
# the module exists).  Shrink this as bugs get fixed: test_sweep fails on a listed name
# that passes.
KNOWN_FAILURES = {
    # differences from JAX
    "numpy.i0": "differs on purpose: i0''(0) = 1/2 (true), JAX 0 (docs/differences.md)",
    "numpy.ldexp": "differs on purpose: d/dx ldexp(x, e) at x = 0 is 2**e, JAX 1",
    "scipy.special.i0": "grad @0: 0 (i0 is even and smooth), JAX 1 (its abs kink)",
    "scipy.special.i1": "grad2 @0: 0 (i1 is odd and smooth), JAX 1 (its abs kink)",
    "random.key_dtype": "differs on purpose: uint32, the dtype of xform's keys (JAX key<fry>)",
}
