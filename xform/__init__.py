"""xform: composable function transformations (jit, grad, vmap, ...) over a small IR.

    import xform as jax
    import xform.numpy as jnp
"""
from . import core as _core
from .array import Array
from .config import config
from .api import (jit, make_jaxpr, eval_shape, ShapeDtypeStruct, device_put, device_get,
                  devices, local_devices, device_count, local_device_count, default_backend,
                  process_index, block_until_ready, from_jax, from_dlpack)
from . import tree_util
from . import tree
from . import lax
from . import numpy
from .core import ConcretizationError, UnexpectedTracerError

__version__ = "0.1.0"
from .batching import vmap
from .ad import (grad, value_and_grad, jvp, vjp, linearize, jacfwd, jacrev, hessian, float0)
from .custom_derivatives import custom_jvp, custom_vjp
from . import random
from . import nn
from . import ad_checkpoint
from .ad_checkpoint import (checkpoint, remat, checkpoint_policies, checkpoint_name,
                            checkpoint_scan)
from . import scipy  # noqa: E402,F401
