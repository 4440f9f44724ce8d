"""Symbolic dimensions: a shape entry that is an integer polynomial in named variables.

``export.symbolic_shape("b, 4")`` gives ``(b, 4)`` where ``b`` is a ``DimExpr``.  An
abstract value may carry such entries in its shape; tracing then works for every size at
once, and the lowering writes the dimension as ``?`` in StableHLO (see
lowering/emitter.py, "symbolic dimensions").  A program with symbolic dimensions is not
compiled as it is: ``Exported.call`` learns the variables' values from its arguments'
shapes and StableHLO's shape refinement makes every dimension static again.

**Arithmetic.**  ``+``, ``-``, ``*`` with ints and other ``DimExpr``s; ``//`` and ``%``
when the division is exact for every value of the variables (``(2*b) // 2`` is ``b``);
a result without variables is a plain ``int``, so ``b - b + 3`` is ``3``.

**Comparisons.**  Every variable is at least 1 (a dimension of size 0 is not a batch).
``==`` is equality of polynomials (``b == 4`` is False: the program must not depend on
it); ``<``, ``<=``, ``>``, ``>=`` answer when the answer holds for every value of the
variables (``b >= 1`` is True) and raise ``InconclusiveDimensionOperation`` otherwise
(``b >= 2``), as does using a ``DimExpr`` where Python needs an ``int`` (``range(b)``,
``np.zeros(b)``): the message names the expression, so the user knows which shape is
symbolic.
"""
from __future__ import annotations

import ast
import math
import operator


class InconclusiveDimensionOperation(ValueError):
    """An operation on symbolic dimensions whose result depends on the variables' values."""


_value_hook = []   # [fn]: a DimExpr as a traced int value (installed by xform.numpy)


def register_value_hook(fn) -> None:
    """``fn(d)`` turns a DimExpr into an array value; arithmetic of a DimExpr with a
    float or an array uses it (``x.shape[0] * 0.5``, ``x.sum() / x.shape[0]``)."""
    _value_hook[:] = [fn]


def _as_value(d, other, what):
    if not _value_hook:
        raise TypeError(f"unsupported operand for {what}: symbolic dimension {d} and "
                        f"{type(other).__name__}")
    return _value_hook[0](d)


def _norm(terms: dict):
    """``terms`` (monomial -> coefficient) as an ``int`` when constant, else a DimExpr."""
    terms = {m: c for m, c in terms.items() if c}
    if not terms:
        return 0
    if len(terms) == 1 and () in terms:
        return terms[()]
    return DimExpr(terms)


def _terms(x) -> dict:
    if isinstance(x, DimExpr):
        return x._terms
    if isinstance(x, bool) or not isinstance(x, int):
        try:
            x = x.__index__()
        except (AttributeError, TypeError):
            raise TypeError(f"a symbolic dimension combines only with integers and other "
                            f"symbolic dimensions, not {type(x).__name__} {x!r}") from None
    return {(): int(x)} if x else {}


def _mono_mul(a: tuple, b: tuple) -> tuple:
    powers = dict(a)
    for v, p in b:
        powers[v] = powers.get(v, 0) + p
    return tuple(sorted(powers.items()))


def _mono_str(m: tuple) -> str:
    return "*".join(v if p == 1 else f"{v}^{p}" for v, p in m)


class DimExpr:
    """A symbolic dimension (see the module's docstring).  Immutable and hashable."""

    __slots__ = ("_terms", "_hash")
    __array_priority__ = 1000     # `np.int64(2) * b` defers to DimExpr.__rmul__

    def __init__(self, terms: dict):
        self._terms = dict(sorted(terms.items()))
        self._hash = hash(tuple(self._terms.items()))

    @staticmethod
    def var(name: str) -> "DimExpr":
        return DimExpr({((name, 1),): 1})

    # --- what it is made of ----------------------------------------------------------------
    def terms(self):
        """``(monomial, coefficient)`` pairs; a monomial is ``((name, power), ...)``."""
        return self._terms.items()

    def variables(self) -> set:
        return {v for m in self._terms for v, _ in m}

    def as_variable(self):
        """The variable's name when the expression is just one variable, else None."""
        if len(self._terms) == 1:
            (m, c), = self._terms.items()
            if c == 1 and len(m) == 1 and m[0][1] == 1:
                return m[0][0]
        return None

    def evaluate(self, env: dict) -> int:
        """The value for the variables' values ``env`` (name -> int)."""
        total = 0
        for m, c in self._terms.items():
            term = c
            for v, p in m:
                if v not in env:
                    raise KeyError(v)
                term *= env[v] ** p
            total += term
        return total

    def bounds(self) -> tuple:
        """``(lower, upper)`` over all values >= 1 of the variables (``None``: unbounded)."""
        const = self._terms.get((), 0)
        lo = hi = const
        for m, c in self._terms.items():
            if m == ():
                continue
            if c > 0:
                lo = None if lo is None else lo + c
                hi = None
            else:
                hi = None if hi is None else hi + c
                lo = None
        return lo, hi

    # --- arithmetic ------------------------------------------------------------------------
    def __add__(self, other):
        try:
            o = _terms(other)
        except TypeError:
            return _as_value(self, other, "+") + other
        t = dict(self._terms)
        for m, c in o.items():
            t[m] = t.get(m, 0) + c
        return _norm(t)

    def __radd__(self, other):
        try:
            _terms(other)
        except TypeError:
            return other + _as_value(self, other, "+")
        return self + other

    def __neg__(self):
        return _norm({m: -c for m, c in self._terms.items()})

    def __sub__(self, other):
        try:
            o = _terms(other)
        except TypeError:
            return _as_value(self, other, "-") - other
        return self + _norm({m: -c for m, c in o.items()})

    def __rsub__(self, other):
        try:
            _terms(other)
        except TypeError:
            return other - _as_value(self, other, "-")
        return (-self) + other

    def __mul__(self, other):
        try:
            o = _terms(other)
        except TypeError:
            return _as_value(self, other, "*") * other
        t = {}
        for m1, c1 in self._terms.items():
            for m2, c2 in o.items():
                m = _mono_mul(m1, m2)
                t[m] = t.get(m, 0) + c1 * c2
        return _norm(t)

    def __rmul__(self, other):
        try:
            _terms(other)
        except TypeError:
            return other * _as_value(self, other, "*")
        return self * other

    def __pos__(self):
        return self

    def __truediv__(self, other):
        return _as_value(self, other, "/") / other

    def __rtruediv__(self, other):
        return other / _as_value(self, other, "/")

    def divmod_exact(self, other):
        """``self // other`` when it is a polynomial for every value of the variables,
        else ``InconclusiveDimensionOperation``."""
        o = _terms(other)
        if not o:
            raise ZeroDivisionError(f"symbolic dimension {self} divided by 0")
        if len(o) == 1:                                 # by one term: term by term
            (dm, dc), = o.items()
            out = {}
            for m, c in self._terms.items():
                powers = dict(m)
                for v, p in dm:
                    if powers.get(v, 0) < p:
                        break
                    powers[v] -= p
                else:
                    if c % dc == 0:
                        out[tuple(sorted((v, p) for v, p in powers.items() if p))] = c // dc
                        continue
                break
            else:
                return _norm(out)
        else:                                           # by a sum: only a constant multiple
            (m0, c0), = list(o.items())[:1]
            k, r = divmod(self._terms.get(m0, 0), c0)
            if r == 0 and k and _norm({m: c * k for m, c in o.items()}) == self:
                return k
        raise InconclusiveDimensionOperation(
            f"symbolic dimension {self} is not divisible by {_norm(o)} for every value of "
            f"{', '.join(sorted(self.variables()))}")

    def __floordiv__(self, other):
        try:
            _terms(other)
        except TypeError:
            return _as_value(self, other, "//") // other
        return self.divmod_exact(other)

    def __rfloordiv__(self, other):
        if other == 0:
            return 0
        raise InconclusiveDimensionOperation(
            f"{other} // {self}: the quotient depends on the value of the symbolic "
            f"dimension {self}")

    def __rmod__(self, other):
        """``i % d`` for an int index ``i`` with ``-d <= i < d`` (how Python normalises a
        negative index): ``i`` or ``d + i``."""
        if isinstance(other, int) and not isinstance(other, bool):
            try:
                if other >= 0 and self > other:
                    return other
                if other < 0 and self + other >= 0:
                    return self + other
            except InconclusiveDimensionOperation:
                pass
        raise InconclusiveDimensionOperation(
            f"{other} % {self}: the result depends on the value of the symbolic dimension "
            f"{self} (an index must be known to lie inside the dimension)")

    def __mod__(self, other):
        try:
            self.divmod_exact(other)
        except InconclusiveDimensionOperation:
            raise InconclusiveDimensionOperation(
                f"symbolic dimension {self} % {other}: the remainder depends on the value "
                f"of {', '.join(sorted(self.variables()))}") from None
        return 0

    # --- comparisons -----------------------------------------------------------------------
    def __eq__(self, other):
        if isinstance(other, DimExpr):
            return self._terms == other._terms
        try:
            _terms(other)
        except TypeError:
            return NotImplemented
        return False                  # a DimExpr is never a constant (see _norm)

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return self._hash

    def _decide(self, other, op: str, holds) -> bool:
        diff = self - other
        if isinstance(diff, int):
            return holds(diff)
        lo, hi = diff.bounds()      # the predicates are thresholds: test the ends
        if op in (">=", ">"):
            if lo is not None and holds(lo):
                return True
            if hi is not None and not holds(hi):
                return False
        else:
            if hi is not None and holds(hi):
                return True
            if lo is not None and not holds(lo):
                return False
        raise InconclusiveDimensionOperation(
            f"symbolic dimension comparison {self} {op} {other} is inconclusive: it "
            f"depends on the value of {', '.join(sorted(self.variables()))} (each is "
            f"assumed >= 1)")

    def __ge__(self, other):
        return self._decide(other, ">=", lambda d: d >= 0)

    def __gt__(self, other):
        return self._decide(other, ">", lambda d: d > 0)

    def __le__(self, other):
        return self._decide(other, "<=", lambda d: d <= 0)

    def __lt__(self, other):
        return self._decide(other, "<", lambda d: d < 0)

    def __bool__(self):
        return self != 0

    # --- where Python needs an int ------------------------------------------------------
    def __index__(self):
        raise InconclusiveDimensionOperation(
            f"the symbolic dimension {self} is used where a concrete integer is needed "
            f"(a Python int, range(), a NumPy shape, a loop count); shapes that depend on "
            f"it must be computed with the dimension itself")

    __int__ = __index__

    def __float__(self):
        raise InconclusiveDimensionOperation(
            f"the symbolic dimension {self} is used as a Python float; to compute with "
            f"its value, use it with an array (x.shape[0] * 1.0 becomes "
            f"x.shape[0] * jnp.ones(()))")

    # --- printing --------------------------------------------------------------------------
    def __str__(self):
        parts = []
        for m, c in sorted(self._terms.items(), key=lambda mc: (-len(mc[0]), mc[0])):
            if m == ():
                parts.append(str(c))
            elif c == 1:
                parts.append(_mono_str(m))
            elif c == -1:
                parts.append("-" + _mono_str(m))
            else:
                parts.append(f"{c}*{_mono_str(m)}")
        out = parts[0]
        for p in parts[1:]:
            out += f" - {p[1:]}" if p.startswith("-") else f" + {p}"
        return out

    __repr__ = __str__


def canonical_dim(d):
    """A shape entry as an ``int`` (anything with ``__index__``) or a ``DimExpr``."""
    return d if type(d) is DimExpr else operator.index(d)


def is_symbolic(d) -> bool:
    return type(d) is DimExpr


def is_symbolic_shape(shape) -> bool:
    return any(type(d) is DimExpr for d in shape)


def evaluate(d, env: dict) -> int:
    return d.evaluate(env) if type(d) is DimExpr else d


def shape_variables(shape) -> set:
    out = set()
    for d in shape:
        if type(d) is DimExpr:
            out |= d.variables()
    return out


def size(shape):
    """The number of elements of ``shape`` (an int or a DimExpr)."""
    return math.prod(shape, start=1)


# --- parsing ---------------------------------------------------------------------------

_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.FloorDiv: lambda a, b: a // b,
           ast.Mod: lambda a, b: a % b}


def parse_dim(text: str, what: str):
    """One dimension of a shape specification: an int or a polynomial in names."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ValueError(f"{what}: cannot parse the dimension {text.strip()!r}") from None

    def ev(node):
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Name):
            return DimExpr.var(node.id)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and \
                isinstance(node.right, ast.Constant) and type(node.right.value) is int:
            return math.prod([ev(node.left)] * node.right.value, start=1)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        raise ValueError(f"{what}: the dimension {text.strip()!r} holds "
                         f"{ast.unparse(node)!r}; a dimension is an integer or a "
                         f"polynomial in names (b, 2*b, b + 1, b*h)")

    return ev(tree)
