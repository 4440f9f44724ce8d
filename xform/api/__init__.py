"""The public transformation API: ``jit`` (and ``make_jaxpr``, ``eval_shape``, devices),
the differentiation family (``grad``, ``vjp``, ``jvp``, ``jacfwd``, ...), ``vmap``,
``checkpoint``, ``custom_jvp`` / ``custom_vjp``, and ``shard_map`` / ``pmap``.

Importing this layer imports ``xform.higher_order``, which registers the rules of every
meta-operator that holds sub-programs in the transforms' tables.
"""
from .. import higher_order  # noqa: F401  (registers the sub-program families' rules)
from .jit import (  # noqa: F401
    Jitted, clear_caches, disable_jit, eval_shape, jit, make_jaxpr)
from .stages import ArgInfo, Compiled, Lowered, ShapeDtypeStruct  # noqa: F401
from .devices import (  # noqa: F401
    block_until_ready, default_backend, device_count, device_get, device_put, devices,
    from_dlpack, from_jax, local_device_count, local_devices, process_count, process_index)
from .ad import (  # noqa: F401
    float0, grad, hessian, jacfwd, jacobian, jacrev, jvp, linear_transpose, linearize,
    value_and_grad, vjp)
from .vmap import vmap  # noqa: F401
from .environment import (  # noqa: F401
    Device, copy_to_host_async, host_count, host_id, host_ids, live_arrays,
    print_environment_info, process_indices)
from .custom_derivatives import closure_convert, custom_gradient, custom_jvp, custom_vjp  # noqa: F401
from .checkpoint import checkpoint, checkpoint_name, checkpoint_policies, remat  # noqa: F401
from .shard_map import pmap, shard_map  # noqa: F401
