"""Jaxpr -> compiled PJRT executable, and calling it on device buffers."""
from __future__ import annotations

import functools

from primitives.core import ClosedJaxpr, Eqn, Jaxpr, Literal, ShapedArray, Var

from . import _jaxlib
from .stablehlo import lower_module


class Executable:
    """A compiled program: call it with a list of device buffers, get a list back."""

    __slots__ = ("text", "exe", "handlers", "out_avals", "device")

    def __init__(self, text: str, out_avals, device):
        self.text = text
        self.device = device
        self.out_avals = out_avals
        try:
            self.exe = _jaxlib.compile_module(text, device)
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
    return Executable(text, [v.aval for v in jaxpr.outvars], device)


@functools.lru_cache(maxsize=8192)
def compile_single_op(prim, params_key, in_avals: tuple, device) -> Executable:
    """A cached one-equation executable: how eager mode runs a meta-operator."""
    params = dict(params_key)
    invars = [Var(a) for a in in_avals]
    out_avals = prim.abstract_eval(*in_avals, **params)
    outvars = [Var(a) for a in out_avals]
    jaxpr = Jaxpr([], invars, [Eqn(prim, invars, outvars, params)], outvars)
    return compile_jaxpr(jaxpr, device)
