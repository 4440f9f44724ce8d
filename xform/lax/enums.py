"""The enumerations ``jax.lax`` takes as arguments: ``RoundingMethod`` (``lax.round``),
``GatherScatterMode`` (``mode=`` of gather and the scatters; strings are accepted too) and
``RandomAlgorithm`` (``rng_bit_generator``).  ``lax.Precision`` is in ``precision``."""
from __future__ import annotations

import enum


class RoundingMethod(enum.IntEnum):
    """How ``lax.round`` breaks ties: away from zero (0) or to the nearest even (1)."""
    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


class GatherScatterMode(enum.Enum):
    """What gathers and scatters do with out-of-bounds indices (as JAX's):

    * ``CLIP``: indices are clamped so every slice lies in bounds;
    * ``FILL_OR_DROP``: out-of-bounds gathers return the fill value, such scatters are
      skipped;
    * ``PROMISE_IN_BOUNDS``: the caller promises none is out of bounds (XLA's own rule
      applies: gathers clamp, scatters skip);
    * ``ONE_HOT``: JAX's one-hot matmul lowering; not implemented here (raises).
    """
    CLIP = 1
    FILL_OR_DROP = 2
    PROMISE_IN_BOUNDS = 3
    ONE_HOT = 4

    @staticmethod
    def from_any(s) -> "GatherScatterMode":
        """``None`` (FILL_OR_DROP, as JAX), a mode, or its name ('clip', 'fill', 'drop',
        'promise_in_bounds')."""
        if isinstance(s, GatherScatterMode):
            return s
        if s is None:
            return GatherScatterMode.FILL_OR_DROP
        names = {"clip": GatherScatterMode.CLIP, "fill": GatherScatterMode.FILL_OR_DROP,
                 "drop": GatherScatterMode.FILL_OR_DROP,
                 "fill_or_drop": GatherScatterMode.FILL_OR_DROP,
                 "promise_in_bounds": GatherScatterMode.PROMISE_IN_BOUNDS,
                 "one_hot": GatherScatterMode.ONE_HOT}
        if isinstance(s, str) and s.lower() in names:
            return names[s.lower()]
        raise ValueError(f"Unknown gather/scatter mode {s!r}: use one of 'clip', 'fill', "
                         f"'drop', 'promise_in_bounds' or a lax.GatherScatterMode")


class RandomAlgorithm(enum.IntEnum):
    """The bit generator of ``rng_bit_generator``: XLA's default, Threefry or Philox."""
    RNG_DEFAULT = 0
    RNG_THREE_FRY = 1
    RNG_PHILOX = 2
