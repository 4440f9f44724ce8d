"""``lax.Precision`` and the one place a ``precision=`` argument is turned into what the IR
carries (``dot_general`` and ``conv_general_dilated`` params; the lowering writes it as
StableHLO's ``precision_config``)."""
from __future__ import annotations

import enum

from ..core import where
from ..core.config import config as _config


class Precision(enum.Enum):
    """How precisely XLA may compute a contraction (as ``jax.lax.Precision``): on CPU all
    three are exact float32; on GPUs DEFAULT may use TF32 or bfloat16 passes, HIGHEST
    does not.  Strings are accepted as in JAX ('highest', 'float32', 'tensorfloat32', ...)."""
    DEFAULT = 0
    HIGH = 1
    HIGHEST = 2

    @classmethod
    def _missing_(cls, value):
        names = {"default": 0, "fastest": 0, "bfloat16": 0, "high": 1, "tensorfloat32": 1,
                 "highest": 2, "float32": 2}
        if isinstance(value, str) and value.lower() in names:
            return cls(names[value.lower()])
        return None


def canonical_precision(precision, op="dot_general"):
    """``None``, or the (lhs, rhs) pair of Precision names the IR carries (hashable).
    ``None`` takes the ``jax_default_matmul_precision`` option (itself None by default)."""
    if precision is None:
        precision = _config._values["jax_default_matmul_precision"]
        if precision is None:
            return None
    pair = precision if isinstance(precision, (tuple, list)) else (precision, precision)
    try:
        if len(pair) != 2:
            raise ValueError
        return tuple(Precision(p).name if not isinstance(p, Precision) else p.name
                     for p in pair)
    except ValueError:
        raise ValueError(f"{op}: precision must be None, a lax.Precision, one of 'default', "
                         f"'high', 'highest' (or 'bfloat16', 'tensorfloat32', 'float32'), "
                         f"or a pair of them; got {precision!r}{where()}") from None
