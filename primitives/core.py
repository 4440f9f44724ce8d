"""The IR: abstract values, variables, literals, equations and jaxprs.

A ``Jaxpr`` is a straight-line program in SSA form::

    { lambda c:f32[3]; a:f32[3] b:f32[]. let
        d:f32[3] = mul a c
        e:f32[3] = add d 1.0:f32[]
      in (e,) }

``constvars`` are inputs whose values are known when the program is built
(captured arrays); they are passed to the compiled executable as buffers, never
baked in as literals.  Every transform reads one Jaxpr and writes another.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Callable, NamedTuple

import numpy as np

from . import dtypes
from .lru import LRU
from .shape_poly import canonical_dim


class ShapedArray:
    """Abstract value: shape, dtype and whether the dtype is weak (from a Python scalar)."""

    __slots__ = ("shape", "dtype", "weak_type", "_hash")

    def __init__(self, shape, dtype, weak_type: bool = False):
        self.shape = shape if type(shape) is tuple else tuple(canonical_dim(d) for d in shape)
        self.dtype = dtype if type(dtype) is np.dtype or isinstance(dtype, np.dtype) \
            else np.dtype(dtype)
        self.weak_type = bool(weak_type)
        self._hash = hash((self.shape, self.dtype, self.weak_type))

    ndim = property(lambda self: len(self.shape))
    # an int, or a DimExpr when a dimension is symbolic (primitives/shape_poly.py)
    size = property(lambda self: math.prod(self.shape, start=1))

    def __eq__(self, other):
        return (type(other) is ShapedArray and self.shape == other.shape
                and self.dtype == other.dtype and self.weak_type == other.weak_type)

    def __hash__(self):
        return self._hash

    def update(self, shape=None, dtype=None, weak_type=None) -> "ShapedArray":
        return ShapedArray(self.shape if shape is None else shape,
                           self.dtype if dtype is None else dtype,
                           self.weak_type if weak_type is None else weak_type)

    def strip_weak(self) -> "ShapedArray":
        return self if not self.weak_type else ShapedArray(self.shape, self.dtype)

    def str_short(self) -> str:
        return f"{short_dtype(self.dtype)}[{','.join(map(str, self.shape))}]"

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapedArray({self.dtype.name}[{','.join(map(str, self.shape))}]{weak})"


_SHORT = {"bool": "bool", "bfloat16": "bf16"}


def short_dtype(dt) -> str:
    name = np.dtype(dt).name
    if name in _SHORT:
        return _SHORT[name]
    for long, short in (("float", "f"), ("uint", "u"), ("int", "i"), ("complex", "c")):
        if name.startswith(long):
            return short + name[len(long):]
    return name


_var_ids = itertools.count()


class Var:
    """An SSA variable. Identity is the object; ``count`` orders them for printing."""

    __slots__ = ("aval", "count")

    def __init__(self, aval: ShapedArray):
        self.aval = aval
        self.count = next(_var_ids)

    def __repr__(self):
        return f"Var({self.count}:{self.aval.str_short()})"


class Literal:
    """A scalar constant written inline in the IR (e.g. the ``1.0`` in ``x + 1.0``).

    ``device_copy`` lets eager execution keep the scalar's device buffer with it.
    """

    __slots__ = ("val", "aval", "device_copy")

    def __init__(self, val, aval: ShapedArray):
        assert aval.shape == ()
        self.val = val
        self.aval = aval
        self.device_copy = None

    def __repr__(self):
        return f"Literal({self.val!r}:{self.aval.str_short()})"

    def key(self):
        return (self.val.item() if isinstance(self.val, np.generic) else self.val,
                self.aval)


Atom = Var | Literal


class SourceInfo(NamedTuple):
    """Where in the user's code an equation was written."""
    filename: str
    lineno: int
    function: str

    def __str__(self):
        return f"{self.filename}:{self.lineno} ({self.function})"


class Eqn:
    """``outvars = prim[params](*invars)``; ``source`` points at the user's line."""

    # (xform.core.Builder.add_eqn, the tracing hot path, fills these slots without
    # calling __init__: a new slot needs setting there too)
    __slots__ = ("prim", "invars", "outvars", "params", "source")

    def __init__(self, prim: "Primitive", invars, outvars, params: dict, source=None):
        self.prim = prim
        self.invars = list(invars)
        self.outvars = list(outvars)
        self.params = params
        self.source = source

    def __repr__(self):
        return f"Eqn({self.prim.name}, {self.invars} -> {self.outvars})"


def sub_jaxprs(eqn: Eqn):
    """The ClosedJaxprs ``eqn`` holds (a loop's body, a cond's branches, ...)."""
    for name in eqn.prim.subjaxpr_params:
        v = eqn.params[name]
        yield from (v if isinstance(v, (tuple, list)) else (v,))


class Jaxpr:
    __slots__ = ("constvars", "invars", "eqns", "outvars")

    def __init__(self, constvars, invars, eqns, outvars):
        self.constvars = list(constvars)
        self.invars = list(invars)
        self.eqns = list(eqns)
        self.outvars = list(outvars)

    @property
    def in_avals(self):
        return [v.aval for v in self.invars]

    @property
    def out_avals(self):
        return [v.aval for v in self.outvars]

    def __str__(self):
        return pp_jaxpr(self)

    __repr__ = __str__


class ClosedJaxpr:
    """A jaxpr together with the values of its constvars."""

    __slots__ = ("jaxpr", "consts")

    def __init__(self, jaxpr: Jaxpr, consts):
        assert len(jaxpr.constvars) == len(consts)
        self.jaxpr = jaxpr
        self.consts = list(consts)

    in_avals = property(lambda self: self.jaxpr.in_avals)
    out_avals = property(lambda self: self.jaxpr.out_avals)
    eqns = property(lambda self: self.jaxpr.eqns)

    def __str__(self):
        return pp_jaxpr(self.jaxpr)

    __repr__ = __str__

    def pretty_print(self) -> str:
        return str(self)


class Primitive:
    """A meta-operator: a name, the family it belongs to, and its shape/dtype rule.

    ``abstract_eval(*in_avals, **params) -> list[ShapedArray]`` is the only rule
    that lives here; JVP/transpose/batching/lowering rules live with their
    transform (xform/ad.py, xform/batching.py, lowering/rules/).
    ``params`` documents the parameter names, ``doc`` says what the op does.
    """

    def __init__(self, name: str, family: str, abstract_eval: Callable,
                 params: tuple = (), doc: str = "", multiple_results: bool = False,
                 subjaxpr_params: tuple = (), effect: Callable | None = None,
                 host_impl: Callable | None = None):
        self.name = name
        self.family = family
        self.abstract_eval = abstract_eval
        self.params = params
        self.doc = doc
        self.multiple_results = multiple_results
        self.subjaxpr_params = subjaxpr_params  # params holding ClosedJaxprs
        # ``effect(**params) -> "ordered" | "unordered"``: the op does something besides
        # computing its outputs (see ``effects`` below); None: a pure function
        self.effect = effect
        # ``host_impl(*numpy arrays, **params) -> numpy arrays``: applied eagerly, the op
        # runs in Python on the host instead of as a compiled one-op program
        self.host_impl = host_impl
        if effect is not None:
            EFFECTFUL.add(self)

    def __repr__(self):
        return self.name


# --- effects -------------------------------------------------------------------------------
# An equation has an effect when running it does something besides computing its outputs
# (a host callback that prints).  Passes never drop, merge, fold or hoist such an equation,
# and a trace that runs equations as it records them (a concrete trace) leaves it for the
# evaluation of the transformed program, so it runs once.  "ordered" effects also keep
# their program order, across loop steps and calls (the lowering threads a token through).

EFFECTFUL: set = set()   # meta-operators with an ``effect``
_NO_EFFECTS: frozenset = frozenset()
_jaxpr_effects = LRU("jaxpr effects")   # id(Jaxpr) -> (Jaxpr, effects); jaxprs are immutable


def eqn_effects(eqn: "Eqn") -> frozenset:
    """The effects of one equation: its own, and those of the programs it holds."""
    prim = eqn.prim
    if prim.effect is not None:
        return frozenset((prim.effect(**eqn.params),))
    if not prim.subjaxpr_params:
        return _NO_EFFECTS
    out = _NO_EFFECTS
    for c in sub_jaxprs(eqn):
        out = out | jaxpr_effects(c.jaxpr if isinstance(c, ClosedJaxpr) else c)
    return out


def jaxpr_effects(jaxpr: "Jaxpr") -> frozenset:
    """Every effect an equation of ``jaxpr`` (or of a program it holds) has."""
    hit = _jaxpr_effects.data.get(id(jaxpr))
    if hit is not None and hit[0] is jaxpr:
        return hit[1]
    out = _NO_EFFECTS
    if EFFECTFUL:
        for e in jaxpr.eqns:
            if e.prim in EFFECTFUL or e.prim.subjaxpr_params:
                out = out | eqn_effects(e)
    _jaxpr_effects.put(id(jaxpr), (jaxpr, out))   # bounded (primitives/lru.py)
    return out


def has_effects(eqn: "Eqn") -> bool:
    prim = eqn.prim
    if prim.effect is not None:
        return True
    return bool(prim.subjaxpr_params) and bool(EFFECTFUL) and bool(eqn_effects(eqn))


# --- pretty printer -------------------------------------------------------------

def _fmt_param(v: Any, names) -> str:
    if isinstance(v, ClosedJaxpr):
        return "\n" + _indent(pp_jaxpr(v.jaxpr), 4)
    if isinstance(v, Jaxpr):
        return "\n" + _indent(pp_jaxpr(v), 4)
    if isinstance(v, (tuple, list)) and v and isinstance(v[0], (ClosedJaxpr, Jaxpr)):
        return "(" + ", ".join(_fmt_param(x, names) for x in v) + ")"
    if isinstance(v, np.dtype):
        return v.name                # as JAX prints a dtype parameter: float32
    if isinstance(v, ShapedArray):
        return v.str_short()
    if hasattr(v, "short"):          # PartitionSpec: P('x', None)
        return v.short()
    if isinstance(v, tuple):
        return "(" + ",".join(_fmt_param(x, names) for x in v) + ("," if len(v) == 1 else "") + ")"
    return str(v)


def _indent(s: str, n: int) -> str:
    return "\n".join(" " * n + line for line in s.splitlines())


def _name(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(97 + r) + s
    return s


class _Names(dict):
    def __missing__(self, v):
        n = self[v] = _name(len(self))
        return n


def pp_atom(a, names) -> str:
    if isinstance(a, Literal):
        v = a.val.item() if isinstance(a.val, np.generic) else a.val
        return f"{v}:{a.aval.str_short()}"
    return names[a]


def pp_jaxpr(jaxpr: Jaxpr) -> str:
    names = _Names()  # sub-jaxprs are printed with names of their own

    def decl(vs):
        return " ".join(f"{names[v]}:{v.aval.str_short()}" for v in vs)

    # JAX's layout: "{ lambda c:f32[3]; a:f32[3] b:f32[]. let" ... "in (e,) }"
    head = f"{{ lambda {decl(jaxpr.constvars)}; {decl(jaxpr.invars)}. let"
    lines = [head]
    for e in jaxpr.eqns:
        outs = " ".join(f"{names[v]}:{v.aval.str_short()}" for v in e.outvars)
        params = " ".join(f"{k}={_fmt_param(v, names)}" for k, v in e.params.items())
        ps = f"[{params}]" if params else ""
        args = " ".join(pp_atom(a, names) for a in e.invars)
        lhs = f"{outs} = " if outs else ""
        lines.append(f"    {lhs}{e.prim.name}{ps} {args}".rstrip())
    outs = ", ".join(pp_atom(a, names) for a in jaxpr.outvars)
    lines.append(f"  in ({outs}{',' if len(jaxpr.outvars) == 1 else ''}) }}")
    return "\n".join(lines)
