"""The oracle sweep's points and argument builders, one per signature class.

A class's builder turns a name's `Spec` (see sweep_table.py) and a float dtype into a list
of `Case`s: the arguments to call both libraries with.  Arguments are NumPy arrays (traced
inputs: converted to each library's array, batched by `vmap`, differentiated when float),
`Lib(fn)` (a static value that differs per library, e.g. a body function for `lax.scan`:
`fn(m)` gets `jax` or `xform`) or anything else (a static Python value, closed over).

Elementwise classes pack all their points into one vector (`Case.labels` names each
element), so one call checks every point and a mismatch is still reported per point.
Other classes make one case per point (a matrix with ties, a singular matrix, ...).
`quick` marks the small fixed subset the in-suite test runs (points {0, 1, tie}).
"""
from __future__ import annotations

import dataclasses

import numpy as np

INF, NAN = float("inf"), float("nan")


class Lib:
    """A static argument that differs per library: ``fn(m)`` with ``m`` jax or xform."""
    def __init__(self, fn):
        self.fn = fn

    def __repr__(self):
        return "Lib(...)"


@dataclasses.dataclass
class Case:
    label: str                       # the point ("ties", "spd", ...) or "packed"
    args: tuple                      # primary arguments, then the name's extra arguments
    kwargs: dict = dataclasses.field(default_factory=dict)
    labels: tuple | None = None      # packed: one point label per element along axis 0
    quick: tuple | bool = False      # packed: the quick labels; else whether in the subset
    nprimary: int = 0                # how many leading args vmap batches (axis 0)
    partners: tuple = ()             # stack mode: two more values for each batched arg

    def quick_case(self):
        """The in-suite subset of this case (None if none of it is quick)."""
        if self.labels is None:
            return self if self.quick else None
        keep = [i for i, lab in enumerate(self.labels) if lab in (self.quick or ())]
        if not keep:
            return None
        idx = np.asarray(keep)
        args = tuple(a[idx] if isinstance(a, np.ndarray) and i < self.nprimary else a
                     for i, a in enumerate(self.args))
        return dataclasses.replace(self, args=args, labels=tuple(self.labels[i] for i in keep))


def tiny(dt):
    return 1e-30 if np.dtype(dt) == np.float32 else 1e-300


def _rng(seed=0):
    return np.random.default_rng(seed)


# --- points ----------------------------------------------------------------------------

def unary_points(dt):
    """(label, value) pairs: zeros, units, tiny/huge, infinities, NaN, domain edges (log 0,
    sqrt 0, arccosh 1, arctanh ±1, log1p -1), and three fixed random points."""
    t = tiny(dt)
    pts = [("0", 0.0), ("-0", -0.0), ("1", 1.0), ("-1", -1.0), ("0.5", 0.5), ("-0.5", -0.5),
           ("2", 2.0), ("-2", -2.0), ("tiny", t), ("-tiny", -t), ("huge", 1e30),
           ("-huge", -1e30), ("1000", 1000.0), ("-1000", -1000.0), ("inf", INF),
           ("-inf", -INF), ("nan", NAN)]
    r = _rng(1)
    pts += [(f"r{i}", float(v)) for i, v in enumerate(np.round(r.normal(0, 1.5, 3), 4))]
    pts += [("r3", float(np.round(r.uniform(0.05, 0.95), 4)))]   # a probability
    return pts


QUICK_UNARY = ("0", "1")


def binary_points(dt):
    """(label, a, b): ties (a == b, so the derivative of max/min/... splits), zeros of both
    signs, infinities, NaN, and random pairs."""
    t = tiny(dt)
    r = np.round(_rng(2).normal(0, 1.5, 6), 4)
    ties = [0.0, 1.0, -1.0, 2.0, 0.5, INF, -INF, NAN]
    pts = [(f"tie({v:g})", v, v) for v in ties]
    pairs = [(0.0, 1.0), (1.0, 0.0), (0.0, -0.0), (-0.0, 0.0), (1.0, -1.0), (-1.0, 1.0),
             (2.0, 0.5), (0.5, 2.0), (-2.0, 3.0), (3.0, -2.0), (-2.0, 0.5), (0.0, -1.0),
             (0.0, 2.0), (2.0, 0.0), (1.0, INF), (INF, 1.0), (-INF, INF), (INF, -INF),
             (NAN, 1.0), (1.0, NAN), (t, 1e30), (1e30, t), (1000.0, -1000.0),
             (-1000.0, 1000.0), (r[0], r[1]), (r[2], r[3]), (r[4], r[5]),
             (abs(r[0]), abs(r[3]))]
    pts += [(f"({a:g},{b:g})", float(a), float(b)) for a, b in pairs]
    return pts


QUICK_BINARY = ("(0,1)", "tie(1)", "tie(0)")


def nary_points(n):
    """(label, values) for 3- and 4-argument elementwise functions (betainc, hyp1f1, ...)."""
    base = [(1.0, 1.0, 0.5, 0.5), (2.0, 3.0, 0.25, 0.25), (0.5, 0.5, 0.5, 0.5),
            (1.0, 2.0, 0.0, 0.0), (1.0, 2.0, 1.0, 1.0), (2.0, 2.0, 2.0, 2.0),
            (0.0, 1.0, 0.5, 0.5), (-1.0, 1.0, 0.5, 0.5), (1.5, 2.5, 3.5, 0.75),
            (1.0, NAN, 0.5, 0.5), (INF, 1.0, 0.5, 0.5), (3.0, 0.5, -1.0, -0.5)]
    return [("(" + ",".join(f"{v:g}" for v in vals[:n]) + ")", vals[:n]) for vals in base]


QUICK_NARY = ("(1,2,0)", "(2,2,2)", "(1,2,0,0)", "(2,2,2,2)")


def int_dtype(dt):
    return np.int32 if np.dtype(dt) == np.float32 else np.int64


def int_unary_points(dt):
    it = np.iinfo(int_dtype(dt))
    return [("0", 0), ("1", 1), ("-1", -1), ("2", 2), ("7", 7), ("-8", -8), ("31", 31),
            ("max", it.max), ("min", it.min)]


def int_binary_points(dt):
    it = np.iinfo(int_dtype(dt))
    bits = it.bits
    return [("tie(0)", 0, 0), ("tie(1)", 1, 1), ("tie(-3)", -3, -3), ("(0,1)", 0, 1),
            ("(1,0)", 1, 0), ("(5,3)", 5, 3), ("(-5,3)", -5, 3), ("(5,-3)", 5, -3),
            ("(12,18)", 12, 18), ("(7,0)", 7, 0), ("(1,31)", 1, bits - 1),
            (f"(1,{bits})", 1, bits), ("(-1,1)", -1, 1), ("(max,1)", it.max, 1),
            ("(min,-1)", it.min, -1), ("(min,1)", it.min, 1), ("(3,max)", 3, it.max)]


QUICK_INT = ("0", "1", "tie(0)", "tie(1)", "(0,1)")


def matrices(dt):
    """(label, 3x4 matrix): random, ties (duplicate maxima/minima in rows, columns and
    overall), zeros (of both signs), non-finite (inf, -inf, nan)."""
    r = _rng(3).normal(0, 1.5, (3, 4)).round(4)
    ties = [[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, -1.0, 2.0], [0.0, 1.0, 1.0, 0.0]]
    zeros = [[0.0, -0.0, 0.0, 0.0], [-0.0, 0.0, 0.0, -0.0], [0.0, 0.0, -0.0, 0.0]]
    nonfin = [[INF, 1.0, -INF, 0.0], [NAN, 2.0, 1.0, -1.0], [0.5, -0.5, 2.0, INF]]
    return [(lab, np.asarray(v, dt)) for lab, v in
            [("rand", r), ("ties", ties), ("zeros", zeros), ("nonfinite", nonfin)]]


def vectors(dt, n=5):
    r = _rng(4).normal(0, 1.5, n).round(4)
    ties = [1.0, 3.0, 3.0, 0.0, 1.0][:n]
    zeros = [0.0, -0.0, 0.0, 0.0, -0.0][:n]
    nonfin = [INF, 1.0, NAN, -INF, 2.0][:n]
    return [(lab, np.asarray(v, dt)) for lab, v in
            [("rand", r), ("ties", ties), ("zeros", zeros), ("nonfinite", nonfin)]]


def square_matrices(dt):
    """(label, 3x3): well-conditioned, symmetric positive definite, repeated eigenvalue,
    singular (ones), identity, zeros."""
    r = _rng(5).normal(0, 1, (3, 3)).round(4)
    spd = r @ r.T + np.eye(3)
    return [(lab, np.asarray(v, dt)) for lab, v in
            [("rand", r + 3 * np.eye(3)), ("spd", spd), ("diag(2,2,1)", np.diag([2., 2., 1.])),
             ("ones", np.ones((3, 3))), ("eye", np.eye(3)), ("zeros", np.zeros((3, 3)))]]


def m34(dt):
    return dict(matrices(dt))


def sq(dt):
    return dict(square_matrices(dt))


def v5(dt):
    return dict(vectors(dt))


def _partners(arrs, seed=7):
    """Two more values for each batched argument (vmap's stack mode): random floats of the
    same shape, the same integers/booleans (indices stay valid)."""
    rng = _rng(seed)
    out = []
    for _ in range(2):
        row = []
        for a in arrs:
            if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating):
                row.append(rng.normal(0, 1.5, a.shape).round(4).astype(a.dtype))
            elif isinstance(a, np.ndarray) and a.dtype == np.uint32:     # PRNG key data
                row.append((a + np.uint32(rng.integers(1, 1000))).astype(np.uint32))
            else:
                row.append(a)
        out.append(tuple(row))
    return tuple(out)


# --- class builders ---------------------------------------------------------------------
# Each takes (spec, dt) and returns [Case]; spec.extra holds the name's extra positional
# arguments (after the primary ones) and spec.kwargs its keyword arguments.

def _packed(spec, cols, labels, quick):
    args = tuple(cols) + tuple(spec.extra)
    return [Case("packed", args, dict(spec.kwargs), labels=tuple(labels), quick=quick,
                 nprimary=len(cols))]


def build_unary(spec, dt):
    pts = unary_points(dt)
    return _packed(spec, [np.asarray([v for _, v in pts], dt)], [lab for lab, _ in pts],
                   QUICK_UNARY)


def build_binary(spec, dt):
    pts = binary_points(dt)
    return _packed(spec, [np.asarray([p[1] for p in pts], dt), np.asarray([p[2] for p in pts], dt)],
                   [p[0] for p in pts], QUICK_BINARY)


def _build_nary(n):
    def build(spec, dt):
        pts = nary_points(n)
        cols = [np.asarray([v[i] for _, v in pts], dt) for i in range(n)]
        return _packed(spec, cols, [lab for lab, _ in pts], QUICK_NARY)
    return build


def build_int_unary(spec, dt):
    pts = int_unary_points(dt)
    return _packed(spec, [np.asarray([v for _, v in pts], int_dtype(dt))], [lab for lab, _ in pts],
                   QUICK_INT)


def build_int_binary(spec, dt):
    pts = int_binary_points(dt)
    it = int_dtype(dt)
    return _packed(spec, [np.asarray([p[1] for p in pts], it), np.asarray([p[2] for p in pts], it)],
                   [p[0] for p in pts], QUICK_INT)


def build_bool_binary(spec, dt):
    a = np.array([False, False, True, True])
    b = np.array([False, True, False, True])
    return _packed(spec, [a, b], ["tie(F)", "(F,T)", "(T,F)", "tie(T)"], ("(F,T)", "tie(T)"))


def _one_per_point(spec, points, quick, wrap=lambda v: (v,)):
    cases = []
    for lab, v in points:
        prim = wrap(v)
        cases.append(Case(lab, tuple(prim) + tuple(spec.extra), dict(spec.kwargs),
                          quick=lab in quick, nprimary=len(prim), partners=_partners(prim)))
    return cases


def build_array(spec, dt):
    """A 3x4 matrix (shape functions, sorting, cumulative ops, ...)."""
    return _one_per_point(spec, matrices(dt), ("ties",))


def build_vector(spec, dt):
    """A length-5 vector (polynomials, 1-D only functions)."""
    return _one_per_point(spec, vectors(dt), ("ties",))


def build_reduce(spec, dt):
    """A 3x4 matrix, reduced over all axes and over axis 1 (name's kwargs may fix more)."""
    cases = []
    for axis in (None, 1):
        for c in build_array(spec, dt):
            if axis is not None:
                c.kwargs = {**c.kwargs, spec.axis_kw: axis}
                c.label = f"{c.label}/axis=1"
            cases.append(c)
    return cases


def build_vec2(spec, dt):
    """Two length-3 vectors (dot, outer, cross, convolve, ...)."""
    pts = []
    for (lab, a), (_, b) in zip(vectors(dt, 3), vectors(dt, 3)[1:] + vectors(dt, 3)[:1]):
        pts.append((lab, (a, b)))
    pts.append(("same", (vectors(dt, 3)[0][1], vectors(dt, 3)[0][1])))
    return _one_per_point(spec, pts, ("ties",), wrap=lambda v: v)


def build_matmul(spec, dt):
    """A 3x4 and a 4x2 matrix."""
    r = _rng(6)
    pts = [("rand", (r.normal(0, 1, (3, 4)).round(4), r.normal(0, 1, (4, 2)).round(4))),
           ("ties", (matrices(dt)[1][1], np.ones((4, 2)))),
           ("nonfinite", (matrices(dt)[3][1], r.normal(0, 1, (4, 2)).round(4)))]
    pts = [(lab, (np.asarray(a, dt), np.asarray(b, dt))) for lab, (a, b) in pts]
    return _one_per_point(spec, pts, ("ties",), wrap=lambda v: v)


def build_square(spec, dt):
    return _one_per_point(spec, square_matrices(dt), ("spd",))


def build_solve(spec, dt):
    b = np.asarray([1.0, -2.0, 0.5], dt)
    pts = [(lab, (a, b)) for lab, a in square_matrices(dt)]
    return _one_per_point(spec, pts, ("spd",), wrap=lambda v: v)


def build_creation(spec, dt):
    """No traced input: every argument is the name's extra/keyword arguments."""
    return [Case("static", tuple(spec.extra), dict(spec.kwargs), quick=True)]


def build_random(spec, dt):
    """A raw uint32[2] key (both libraries accept key data), then the name's extras."""
    cases = []
    for lab, seed in (("key0", 0), ("key42", 42)):
        key = np.asarray([0, seed], np.uint32)
        cases.append(Case(lab, (key,) + tuple(spec.extra), dict(spec.kwargs),
                          quick=lab == "key0", nprimary=1, partners=_partners((key,))))
    return cases


def build_custom(spec, dt):
    """The name's own builder (sweep_table.CUSTOM)."""
    return spec.custom(spec, dt)


def build_host(spec, dt):
    """Host-level helpers (result_type, isscalar, ...): static arguments, compared by ==."""
    return [Case("static", tuple(spec.extra), dict(spec.kwargs), quick=True)]


# --- argument values -------------------------------------------------------------------

class F:
    """A traced float argument (per dtype): ``F(2.5)`` becomes ``np.asarray(2.5, dt)``."""
    def __init__(self, v):
        self.v = v


class I:
    """A traced integer argument, in the default integer dtype of the mode."""
    def __init__(self, v):
        self.v = v


class D:
    """A static value computed from the float dtype: ``D(lambda dt: ...)``."""
    def __init__(self, fn):
        self.fn = fn


def resolve(v, dt):
    if isinstance(v, F):
        return np.asarray(v.v, dt)
    if isinstance(v, I):
        return np.asarray(v.v, int_dtype(dt))
    if isinstance(v, D):
        return v.fn(dt)
    return v


@dataclasses.dataclass
class O:
    """An override: class, extra positional arguments and keyword arguments."""
    cls: str | None
    extra: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)
    derivs: bool | None = None
    custom: object = None
    why: str = ""
    axis_kw: str = "axis"
    call: object = None      # (m, f) -> the function to call, e.g. lambda m, f: lambda x: f(x, 2)


def U(why):
    return O(None, why=why)


def C(fn, derivs=None, call=None):
    """A custom case builder ``fn(dt) -> [(label, args tuple, kwargs, nprimary, quick)]``."""
    def build(spec, dt):
        out = []
        for lab, args, kw, npri, quick in fn(dt):
            prim = args[:npri]
            out.append(Case(lab, tuple(args), dict(kw), quick=quick, nprimary=npri,
                            partners=_partners(prim)))
        return out
    return O("custom", custom=build, derivs=derivs, call=call)



@dataclasses.dataclass
class Klass:
    build: object
    derivs: bool            # float-differentiable: jvp/vjp/grad/grad2 are checked
    doc: str
    wrap: object = None     # optional (m, f) -> f' (e.g. run a collective under vmap)


def _collective(m, f):
    """Collectives take a named axis: run them under vmap(axis_name='i')."""
    def g(x, *rest, **kw):
        return m.vmap(lambda v: f(v, "i", *rest, **kw), axis_name="i")(x)
    return g


CLASSES = {
    "unary": Klass(build_unary, True, "elementwise unary float"),
    "binary": Klass(build_binary, True, "elementwise binary float"),
    "ternary": Klass(_build_nary(3), True, "elementwise 3-argument float"),
    "quaternary": Klass(_build_nary(4), True, "elementwise 4-argument float"),
    "int_unary": Klass(build_int_unary, False, "integer/bitwise unary"),
    "int_binary": Klass(build_int_binary, False, "integer/bitwise binary"),
    "bool_binary": Klass(build_bool_binary, False, "boolean binary"),
    "array": Klass(build_array, True, "one 3x4 array (shape, sort, cumulative, ...)"),
    "vector": Klass(build_vector, True, "one length-5 vector (polynomials, 1-D)"),
    "reduce": Klass(build_reduce, True, "reduction with an axis"),
    "vec2": Klass(build_vec2, True, "two length-3 vectors"),
    "matmul": Klass(build_matmul, True, "3x4 and 4x2 matrices"),
    "square": Klass(build_square, True, "linalg: one square matrix"),
    "solve": Klass(build_solve, True, "linalg: square matrix and a vector"),
    "creation": Klass(build_creation, False, "creation (static arguments only)"),
    "random": Klass(build_random, True, "random with a key"),
    "collective": Klass(build_array, True, "collective over a vmapped named axis", _collective),
    "custom": Klass(build_custom, True, "the name's own builder"),
    "host": Klass(build_host, False, "host-level helper (static arguments)"),
}
