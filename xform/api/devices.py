"""Devices and placement: ``devices``, ``local_devices``, ``process_index``/``count``,
``device_put`` (to a device or a sharding), ``device_get``, ``block_until_ready``, and
zero-copy ``from_jax`` / ``from_dlpack``."""
from __future__ import annotations

import numpy as np

from primitives import dtypes
from primitives.core import ShapedArray
from primitives.sharding import NamedSharding, Sharding, SingleDeviceSharding
from lowering import _jaxlib

from ..core import trace as core
from ..core import Array, aval_of_scalar
from ..core import array as array_mod
from ..core.pytree import broadcast_prefix, tree_flatten, tree_leaves, tree_map, tree_unflatten

_PY_SCALARS = (int, float, complex, bool)


# --- devices --------------------------------------------------------------------------------------

# After ``xform.distributed.initialize`` the client is the multi-process one: ``devices()``
# lists every process's devices, ``local_devices()`` this process's (the ones it can put
# data on and run on), each device knowing its ``process_index``.

def devices(backend: str | None = None):
    """Every device of every process (all of them when not distributed)."""
    return list(_jaxlib.client(backend).devices())


def local_devices(process_index=None, backend: str | None = None):
    """The devices of this process, or of process ``process_index``."""
    if process_index is None:
        return list(_jaxlib.client(backend).local_devices())
    return [d for d in devices(backend) if d.process_index == process_index]


def device_count(backend=None):
    return len(devices(backend))


def local_device_count(backend=None):
    return len(local_devices(backend=backend))


def default_backend() -> str:
    return _jaxlib.default_device().platform


def process_index(backend: str | None = None) -> int:
    """This process's index among the processes of a distributed run (0 when alone)."""
    return _jaxlib.client(backend).process_index()


def process_count(backend: str | None = None) -> int:
    """How many processes take part (1 when not distributed)."""
    return max(d.process_index for d in devices(backend)) + 1


def device_put(x, device=None, *, may_alias=None, donate=False):
    """Copy a pytree of arrays to ``device`` (default: the default device), or lay it
    out over several devices: ``device`` may be a ``Sharding`` (``NamedSharding(mesh,
    P('x'))``) or a pytree prefix of ``x`` made of devices and shardings.

    ``may_alias=False`` always copies (the result never shares the input's buffer);
    otherwise an ``Array`` already laid out so is returned as it is.  ``donate=True``
    lets the input be deleted; it is a permission, which xform (like JAX on one device)
    does not use: the input stays valid."""
    if may_alias and donate:
        raise ValueError("device_put: may_alias and donate cannot both be True")
    leaves, tree = tree_flatten(x)
    targets = broadcast_prefix(device, tree, _is_placement, "device_put: device")
    return tree_unflatten(tree, [_put_leaf(leaf, t, may_alias, f"device_put: leaf {i}")
                                 for i, (leaf, t) in enumerate(zip(leaves, targets))])


def _is_placement(x) -> bool:
    return x is None or isinstance(x, Sharding) or hasattr(x, "client") and hasattr(x, "id")


def _put_leaf(leaf, target, may_alias, what):
    if isinstance(target, SingleDeviceSharding):
        target = target.device
    if isinstance(target, Sharding):
        return _put_sharded(leaf, target, may_alias, what)
    device = target
    if device is not None and device != _jaxlib.default_device():
        # committed to another device: computations on it run there (as in JAX)
        return _put_sharded(leaf, SingleDeviceSharding(device), may_alias, what)
    if isinstance(leaf, Array):
        if may_alias is not False and (device is None or leaf.device == device):
            return leaf
        return core.array_from_numpy(np.asarray(leaf), device, leaf.weak_type)
    if type(leaf) in _PY_SCALARS:
        a = aval_of_scalar(leaf)
        return core.array_from_numpy(np.asarray(leaf, a.dtype), device, a.weak_type)
    return core.array_from_numpy(np.asarray(leaf), device)


def _put_sharded(leaf, sharding, may_alias, what):
    if isinstance(leaf, Array):
        if may_alias is not False and getattr(leaf, "_sharding", None) == sharding:
            return leaf
        if isinstance(sharding, NamedSharding):
            sharding.check_shape(leaf.shape, f"{what} ({leaf.aval.str_short()})")
        buf = array_mod.laid_out(leaf, sharding, array_mod.buffer_sharding(sharding, leaf.ndim),
                                 what)
        return array_mod.sharded(buf, ShapedArray(leaf.shape, leaf.dtype, leaf.weak_type),
                                 sharding)
    if type(leaf) in _PY_SCALARS:
        a = aval_of_scalar(leaf)
        return array_mod.put_sharded(np.asarray(leaf, a.dtype), sharding, a.weak_type, what)
    if isinstance(sharding, NamedSharding):
        sharding.check_shape(np.shape(leaf), f"{what} (shape {np.shape(leaf)})")
    return array_mod.put_sharded(np.asarray(leaf), sharding, False, what)


def device_get(x):
    return tree_map(lambda l: np.asarray(l) if isinstance(l, Array) else l, x)


def block_until_ready(x):
    for leaf in tree_leaves(x):
        if isinstance(leaf, Array):
            leaf.block_until_ready()
    return x


def from_jax(x) -> Array:
    """Wrap a ``jax.Array`` (single device) as an ``xform.Array`` without copying."""
    aval = ShapedArray(x.shape, x.dtype, getattr(x, "weak_type", False))
    if aval.dtype != dtypes.canonicalize(aval.dtype):
        return core.array_from_numpy(np.asarray(x))
    return Array._from_buffer(x, aval)


def from_dlpack(x) -> Array:
    buf = _jaxlib.from_dlpack(x)
    return Array._from_buffer(buf, ShapedArray(buf.shape, buf.dtype))
