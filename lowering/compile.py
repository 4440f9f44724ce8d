"""Jaxpr -> compiled PJRT executable, and calling it on device buffers."""
from __future__ import annotations

import functools

from primitives.core import ClosedJaxpr, Eqn, Jaxpr, Literal, ShapedArray, Var

from . import _jaxlib
from .stablehlo import lower_module


class Executable:
    """A compiled program: call it with a list of device buffers, get a list back."""

    __slots__ = ("text", "exe", "handlers", "out_avals", "device")

    def __init__(self, text: str, out_avals, device, small_straight_line=False):
        self.text = text
        self.device = device
        self.out_avals = out_avals
        try:
            self.exe = _jaxlib.compile_module(text, device,
                                              small_straight_line=small_straight_line)
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
                      small_straight_line=_small_straight_line(jaxpr))


SMALL_ARRAY = 1024   # elements; see _small_straight_line
MANY_EQNS = 256


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


@functools.lru_cache(maxsize=8192)
def compile_single_op(prim, params_key, in_avals: tuple, device) -> Executable:
    """A cached one-equation executable: how eager mode runs a meta-operator."""
    params = dict(params_key)
    invars = [Var(a) for a in in_avals]
    out_avals = prim.abstract_eval(*in_avals, **params)
    outvars = [Var(a) for a in out_avals]
    jaxpr = Jaxpr([], invars, [Eqn(prim, invars, outvars, params)], outvars)
    return compile_jaxpr(jaxpr, device)
