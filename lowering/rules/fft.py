"""Lowering rule of ``fft`` (primitives/fft.py): one ``stablehlo.fft``."""
from __future__ import annotations

from primitives import fft as _fft

from ..emitter import RULES, i64s, in_avals_of, out_avals_of


def _fft_lower(ctx, eqn, args):
    p = eqn.params
    attrs = (f"fft_type = #stablehlo<fft_type {p['fft_type']}>, "
             f"fft_length = {i64s(p['fft_lengths'])}")
    return ctx.op("stablehlo.fft", args, in_avals_of(eqn), out_avals_of(eqn), attrs)


RULES[_fft.fft] = _fft_lower
