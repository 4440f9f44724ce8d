"""Lowering of host callbacks (primitives/callback.py): XLA's Python callback custom call.

The custom call names its Python function by an index into the module's list of host
callbacks (``add_host_callback``); ``lowering.compile`` hands the list to the compiler.
An ``io_callback`` is marked ``has_side_effect`` so XLA never drops it; an ordered one
also takes the body's token and returns the next one (``Ctx.token``), which orders it
after every earlier ordered callback of the program, loop steps included."""
from __future__ import annotations

from primitives import callback as _callback

from ..emitter import (RULES, TOKEN, add_host_callback, in_avals_of, lowering_platform,
                       maximal_sharding, out_avals_of)

_TARGETS = {"cpu": "xla_ffi_python_cpu_callback", "cuda": "xla_ffi_python_gpu_callback",
            "rocm": "xla_ffi_python_gpu_callback"}


def _callback_lower(ctx, eqn, args):
    p = eqn.params
    cb = p["callback"]
    platform = lowering_platform()
    target = _TARGETS.get(platform)
    if target is None:
        raise NotImplementedError(
            f"{eqn.prim.name}: host callbacks are not supported on {platform} "
            f"(callback {cb.name}{cb.where()})")
    effect = eqn.prim.effect is not None
    ordered = bool(p.get("ordered"))
    if ordered and ctx.token is None:   # a region the token does not reach (shard_map)
        raise NotImplementedError(
            f"an ordered callback ({cb.name}{cb.where()}) inside shard_map is not "
            f"supported; pass ordered=False")
    index = add_host_callback(cb.host_call(p["result_avals"], ordered))
    in_avals, out_avals = in_avals_of(eqn), out_avals_of(eqn)
    args = list(args)
    if ordered:
        args, in_avals, out_avals = [ctx.token] + args, [TOKEN] + in_avals, [TOKEN] + out_avals
    attrs = (f'api_version = 4 : i32, call_target_name = "{target}", '
             f"has_side_effect = {'true' if effect else 'false'}, "
             f"backend_config = {{index = {index} : ui64}}"
             + maximal_sharding(len(out_avals)))   # over a mesh: runs on one device
    outs = ctx.op("stablehlo.custom_call", args, in_avals, out_avals, attrs)
    if ordered:
        ctx.token, outs = outs[0], outs[1:]
    return outs


RULES[_callback.pure_callback] = _callback_lower
RULES[_callback.io_callback] = _callback_lower
