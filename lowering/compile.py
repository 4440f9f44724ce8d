"""Jaxpr -> compiled PJRT executable, and calling it on device buffers."""
from __future__ import annotations

from primitives.lru import memoize
from primitives.core import Eqn, Jaxpr, Var, sub_jaxprs

from . import _jaxlib
from . import rules  # noqa: F401  registers every lowering rule
from .emitter import lower_module


class Executable:
    """A compiled program: call it with a list of device buffers, get a list back."""

    __slots__ = ("text", "exe", "handlers", "out_avals", "device")

    def __init__(self, text: str, out_avals, device, kind=None):
        """``kind``: what ``program_kind`` says of the program (picks XLA options)."""
        self.text = text
        self.device = device
        self.out_avals = out_avals
        try:
            self.exe = _jaxlib.compile_module(text, device, kind=kind)
        except _jaxlib.JaxRuntimeError as e:  # a lowering bug: show the module
            raise RuntimeError(f"XLA rejected the lowered program: {e}\n--- module ---\n{text}") from None
        self.handlers = [_jaxlib.result_handler(a.shape, a.dtype, a.weak_type, device)
                         for a in out_avals]

    def __call__(self, buffers):
        return self.exe.execute_sharded(buffers).consume_with_handlers(self.handlers)

    def hlo_text(self) -> str:
        return self.exe.hlo_modules()[0].to_string()


def compile_jaxpr(jaxpr: Jaxpr, device=None, donated=()) -> Executable:
    """Lower and compile; the executable takes ``constvars + invars`` buffers."""
    device = device or _jaxlib.default_device()
    text = lower_module(jaxpr, donated=donated, platform=_jaxlib.platform_name(device))
    return Executable(text, [v.aval for v in jaxpr.outvars], device,
                      kind=program_kind(jaxpr))


SMALL_ARRAY = 1024   # elements; see _small_straight_line and _small_loops
MANY_EQNS = 256
SMALL_LOOP_DOT = 1 << 16     # multiply-adds of one dot_general in a loop body
SMALL_LOOP_EQNS = 1000       # equations in all loop bodies of a program together


def program_kind(jaxpr: Jaxpr):
    """``"straight-line"``, ``"small-loops"`` or None: the two kinds of program for which
    ``_jaxlib`` sends XLA other options than its defaults (see the functions below)."""
    if _small_straight_line(jaxpr):
        return "straight-line"
    if _small_loops(jaxpr):
        return "small-loops"
    return None


def _small_straight_line(jaxpr: Jaxpr) -> bool:
    """At least ``MANY_EQNS`` equations, no loops or branches, and no array above
    ``SMALL_ARRAY`` elements: a program whose run time is launch overhead and whose
    compile time is XLA's fixed cost per kernel (an unrolled 100-layer gradient on
    f32[8]s), for which ``_jaxlib`` picks XLA's cheaper-to-compile CPU emitter.  Short
    programs compile quickly either way and keep XLA's default, whose results are the
    ones JAX gets to the last bit."""
    if len(jaxpr.eqns) < MANY_EQNS:
        return False
    for v in jaxpr.invars:
        if v.aval.size > SMALL_ARRAY:
            return False
    for e in jaxpr.eqns:
        if e.prim.subjaxpr_params:
            return False
        for v in e.outvars:
            if v.aval.size > SMALL_ARRAY:
                return False
    return True


_LOOPS = ("scan", "while")
_INDEXING = ("slice", "dynamic_slice", "gather")   # read a small part of a big operand


def _small_loops(jaxpr: Jaxpr) -> bool:
    """The program has loops, and every loop body (nested ones included) works on small
    arrays only: no equation makes or reads more than ``SMALL_ARRAY`` elements (reading a
    slice of a big operand, or writing one into it in place, counts as the slice), no
    ``dot_general`` does more than ``SMALL_LOOP_DOT`` multiply-adds, and all bodies
    together have at most ``SMALL_LOOP_EQNS`` equations.  Such a loop's time goes to
    XLA's per-kernel dispatch at every step (an RK4 step on f32[64] is ~35 kernels of
    well under a microsecond each), so ``_jaxlib`` lets XLA compile each whole loop into
    one kernel.  Loops with big arrays or matrix products keep XLA's default, where
    each operation gets its own kernel (and matrix products XLA's threaded library)."""
    bodies = []
    _collect_loop_bodies(jaxpr, bodies)
    if not bodies:
        return False
    budget = [SMALL_LOOP_EQNS]
    return all(_small_body(b, budget) for b in bodies)


def _collect_loop_bodies(jaxpr: Jaxpr, out: list) -> None:
    for e in jaxpr.eqns:
        for sub in sub_jaxprs(e):
            if e.prim.name in _LOOPS:
                out.append(sub.jaxpr)
            else:
                _collect_loop_bodies(sub.jaxpr, out)


def _small_body(body: Jaxpr, budget: list) -> bool:
    for e in body.eqns:
        budget[0] -= 1
        if budget[0] < 0:
            return False
        if not all(_small_body(sub.jaxpr, budget) for sub in sub_jaxprs(e)):
            return False
        if e.prim.name in _LOOPS:     # its stacked outputs are written in place
            continue
        if not _small_eqn(e):
            return False
    return True


def _small_eqn(e: Eqn) -> bool:
    name = e.prim.name
    if name == "dot_general":
        (lc, _), _ = e.params["dimension_numbers"]
        lhs = e.invars[0].aval
        k = 1
        for d in lc:
            k *= lhs.shape[d]
        return e.outvars[0].aval.size * k <= SMALL_LOOP_DOT
    if name == "dynamic_update_slice":
        return e.invars[1].aval.size <= SMALL_ARRAY
    if any(v.aval.size > SMALL_ARRAY for v in e.outvars):
        return False
    return name in _INDEXING or all(a.aval.size <= SMALL_ARRAY for a in e.invars)


@memoize("one-op executables")
def compile_single_op(prim, params_key, in_avals: tuple, device) -> Executable:
    """A cached one-equation executable: how eager mode runs a meta-operator."""
    params = dict(params_key)
    invars = [Var(a) for a in in_avals]
    out_avals = prim.abstract_eval(*in_avals, **params)
    outvars = [Var(a) for a in out_avals]
    jaxpr = Jaxpr([], invars, [Eqn(prim, invars, outvars, params)], outvars)
    return compile_jaxpr(jaxpr, device)
