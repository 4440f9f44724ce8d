"""Rules of the meta-operators that hold sub-programs, named axes or host functions, one
module per family, every transform side by side: control flow, checkpoint, custom
derivatives, collectives, linear algebra, FFT, ``shard_map``, host callbacks and ``check``
(with the ``checkify`` rules of control flow).
Importing this package registers them in the transforms' tables (``transforms.jvp.JVP``, ``transforms.transpose.TRANSPOSE``,
``transforms.partial_eval.PARTIAL_EVAL``, ``transforms.batching.RULES``).
"""
from . import (callbacks, checkify, collectives, control_flow, custom_derivatives, exported, fft,
               linalg, remat, shard_map)
