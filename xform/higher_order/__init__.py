"""Rules of the meta-operators that hold sub-programs or named axes, one module per
family, every transform side by side: control flow, checkpoint, custom derivatives,
collectives, linear algebra, FFT and ``shard_map``.  Importing this package registers
them in the transforms' tables (``transforms.jvp.JVP``, ``transforms.transpose.TRANSPOSE``,
``transforms.partial_eval.PARTIAL_EVAL``, ``transforms.batching.RULES``).
"""
from . import collectives, control_flow, custom_derivatives, fft, linalg, remat, shard_map
