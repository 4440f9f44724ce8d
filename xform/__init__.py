"""xform: composable function transformations (jit, grad, vmap, ...) over a small IR.

    import xform as jax
    import xform.numpy as jnp

The package is layered (docs/design.md): ``core`` <- ``passes`` <- ``lax`` <-
``transforms`` <- ``higher_order`` <- ``api`` <- the surfaces (``numpy``, ``random``,
``nn``, ``scipy``, ``tree_util``, ...); each imports only from the layers below it.
"""
from .core import Array, ConcretizationError, UnexpectedTracerError  # noqa: F401
from .core import ensure_compile_time_eval, named_call, named_scope, typeof  # noqa: F401
from .core.config import (config, debug_infs, debug_nans, default_matmul_precision,  # noqa: F401
                          enable_x64, numpy_rank_promotion)
from .core.config import default_device, enable_checks, log_compiles  # noqa: F401
from .api import (  # noqa: F401
    Device, copy_to_host_async, host_count, host_id, host_ids, live_arrays,
    print_environment_info, process_indices)
from .api import (  # noqa: F401
    ShapeDtypeStruct, block_until_ready, checkpoint, checkpoint_name, checkpoint_policies,
    clear_caches, closure_convert, custom_gradient, custom_jvp, custom_vjp, default_backend,
    device_count, device_get, device_put, devices, disable_jit,
    eval_shape, float0, from_dlpack, from_jax, grad, hessian, jacfwd, jacobian, jacrev, jit,
    jvp,
    linear_transpose, linearize, local_device_count, local_devices, make_jaxpr,
    process_count, process_index, remat, value_and_grad, vjp, vmap)
from .api.checkpoint import checkpoint_scan  # noqa: F401
from .api.callbacks import effects_barrier, pure_callback  # noqa: F401
from .api.shard_map import pmap, shard_map  # noqa: F401
from .api.sharding import (  # noqa: F401
    make_array_from_callback, make_array_from_process_local_data,
    make_array_from_single_device_arrays, make_mesh)
from . import lax, numpy, random, nn, scipy, tree, tree_util  # noqa: F401
from . import ad_checkpoint, custom_derivatives, sharding  # noqa: F401
from . import distributed  # noqa: F401
from . import serialization  # noqa: F401
from . import export  # noqa: F401
from . import dlpack, stages  # noqa: F401
from . import debug, experimental  # noqa: F401
from .sharding import NamedSharding, PartitionSpec as P  # noqa: F401
from .api import solves as _solves
from . import special as _special


def _attach_lax_names_from_above():
    """``jax.lax`` names whose definitions need a layer above ``xform.lax`` (their
    derivative rules are ``custom_jvp``/``custom_vjp``, special functions are written over
    ``xform.numpy``) are defined there and attached to the public ``xform.lax`` here, the
    one place where that happens (docs/design.md, "Layers")."""
    names = {"custom_root": _solves.custom_root,
             "custom_linear_solve": _solves.custom_linear_solve,
             "igamma": _special.gammainc, "igammac": _special.gammaincc,
             "igamma_grad_a": _special.igamma_grad_a,
             "random_gamma_grad": _special.random_gamma_grad,
             "betainc": _special.betainc, "polygamma": _special.lax_polygamma,
             "zeta": _special.zeta, "bessel_i0e": _special.i0e, "bessel_i1e": _special.i1e}
    for name, fn in names.items():
        setattr(lax, name, fn)
        if name not in lax.__all__:
            lax.__all__.append(name)


_attach_lax_names_from_above()

__version__ = "0.1.0"
