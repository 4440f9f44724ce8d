"""Meshes and sharded arrays, as ``jax.make_mesh`` and ``jax.make_array_from_*``.

The sharding types themselves (``Mesh``, ``PartitionSpec``, ``NamedSharding``, ...) are
IR data and live in ``primitives/sharding.py``; ``xform.sharding`` is their public face.
"""
from __future__ import annotations

import enum
import math

import numpy as np

from primitives import dtypes
from primitives.core import ShapedArray
from primitives.sharding import Mesh, Sharding, ShardingError, SingleDeviceSharding
from lowering import _jaxlib

from ..core import Array, where
from ..core import array as array_mod


class AxisType(enum.Enum):
    """How a mesh axis is partitioned.  xform implements ``Auto`` (XLA's partitioner
    propagates shardings; JAX's default before 0.7); ``Explicit`` sharding-in-types and
    ``Manual`` outside ``shard_map`` are not implemented."""
    Auto = "auto"
    Explicit = "explicit"
    Manual = "manual"


def make_mesh(axis_shapes, axis_names, axis_types=None, *, devices=None) -> Mesh:
    """A mesh of ``prod(axis_shapes)`` devices (the first ones of ``devices()`` unless
    given), as ``jax.make_mesh``.  Axes are ``AxisType.Auto``; asking for another type
    raises (see docs/differences.md)."""
    axis_shapes = tuple(int(s) for s in axis_shapes)
    if isinstance(axis_names, str):
        axis_names = (axis_names,)
    axis_names = tuple(axis_names)
    if len(axis_shapes) != len(axis_names):
        raise ValueError(f"make_mesh: {len(axis_shapes)} axis sizes {axis_shapes} but "
                         f"{len(axis_names)} names {axis_names}{where()}")
    if axis_types is not None:
        types = (axis_types,) * len(axis_names) if isinstance(axis_types, AxisType) else \
            tuple(axis_types)
        bad = [t for t in types if t is not AxisType.Auto]
        if bad:
            raise NotImplementedError(
                f"make_mesh: axis_types={types}: only AxisType.Auto is implemented "
                f"(XLA's partitioner chooses layouts between annotations){where()}")
    devs = list(devices) if devices is not None else list(_jaxlib.client().devices())
    n = math.prod(axis_shapes)
    if n > len(devs):
        raise ValueError(f"make_mesh: a {axis_shapes} mesh needs {n} devices, but "
                         f"{len(devs)} are available{where()}")
    if devices is not None and n != len(devs):
        raise ValueError(f"make_mesh: a {axis_shapes} mesh needs {n} devices, but "
                         f"{len(devs)} were given{where()}")
    return Mesh(np.array(devs[:n], dtype=object).reshape(axis_shapes), axis_names)


def _check_sharding(sharding, what):
    if not isinstance(sharding, Sharding):
        raise TypeError(f"{what}: expected a Sharding, got {type(sharding).__name__}{where()}")


def make_array_from_callback(shape, sharding: Sharding, data_callback, dtype=None) -> Array:
    """A global array of ``shape`` laid out as ``sharding``: each device this process
    holds gets ``data_callback(index)``, its piece (``index`` a tuple of slices)."""
    what = "make_array_from_callback"
    _check_sharding(sharding, what)
    shape = tuple(int(s) for s in shape)
    try:
        sharding.check_shape(shape, what)
    except ShardingError as e:
        raise ShardingError(f"{e}{where()}") from None
    index = sharding.devices_indices_map(shape)
    local = sharding.shard_shape(shape)
    pieces, devs = [], []
    for d in sharding.device_list:
        if d not in sharding.addressable_devices:
            continue
        p = np.asarray(data_callback(index[d]))
        if dtype is not None:
            p = p.astype(dtype)
        if p.shape != local:
            raise ValueError(f"{what}: the callback returned shape {p.shape} for index "
                             f"{index[d]}, but {sharding} gives pieces of shape {local}"
                             f"{where()}")
        pieces.append(p)
        devs.append(d)
    return _assemble(shape, sharding, pieces, devs)


def _assemble(shape, sharding, pieces, devs) -> Array:
    dt = dtypes.canonicalize(pieces[0].dtype)
    pieces = [p.astype(dt) if p.dtype != dt else p for p in pieces]
    if isinstance(sharding, SingleDeviceSharding) or len(sharding.device_list) == 1:
        return array_mod.array_from_numpy(pieces[0], devs[0])
    bs = array_mod.buffer_sharding(sharding, len(shape))
    buf = _jaxlib.put_shards(shape, dt, bs, pieces, devs)
    return array_mod.sharded(buf, ShapedArray(shape, dt), sharding)


def make_array_from_single_device_arrays(shape, sharding: Sharding, arrays) -> Array:
    """A global array of ``shape`` from its pieces, one single-device ``Array`` per device
    this process holds (in any order; each must sit on its device)."""
    what = "make_array_from_single_device_arrays"
    _check_sharding(sharding, what)
    shape = tuple(int(s) for s in shape)
    sharding.check_shape(shape, what)
    local = sharding.shard_shape(shape)
    by_device = {}
    for i, a in enumerate(arrays):
        if not isinstance(a, Array) or len(a.devices()) != 1:
            raise TypeError(f"{what}: arrays[{i}] must be a single-device Array, got "
                            f"{type(a).__name__}{where()}")
        if a.shape != local:
            raise ValueError(f"{what}: arrays[{i}] has shape {a.shape}, but {sharding} gives "
                             f"pieces of shape {local} for a global {shape}{where()}")
        by_device[a.device] = a
    want = [d for d in sharding.device_list if d in sharding.addressable_devices]
    missing = [d for d in want if d not in by_device]
    if missing:
        raise ValueError(f"{what}: no array on device {missing[0]} (the sharding needs one "
                         f"on each of {len(want)} devices of this process){where()}")
    dt = arrays[0].dtype
    if len(want) == 1 and len(sharding.device_list) == 1:
        return by_device[want[0]]
    buf = _jaxlib.assemble(shape, dt, False, array_mod.buffer_sharding(sharding, len(shape)),
                           [by_device[d]._buf for d in want])
    return array_mod.sharded(buf, ShapedArray(shape, dt), sharding)


def make_array_from_process_local_data(sharding: Sharding, local_data, global_shape=None):
    """A global array from this process's part of it (``local_data`` covers the devices
    this process holds; in one process, the whole array)."""
    what = "make_array_from_process_local_data"
    _check_sharding(sharding, what)
    local_data = np.asarray(local_data)
    ndim = local_data.ndim
    tiles, _, _ = sharding.tile_assignment(ndim)
    if global_shape is None:
        global_shape = _global_shape(sharding, local_data.shape, tiles)
    global_shape = tuple(int(s) for s in global_shape)
    sharding.check_shape(global_shape, what)
    index = sharding.devices_indices_map(global_shape)
    mine = [d for d in sharding.device_list if d in sharding.addressable_devices]
    starts = [min((index[d][k].start or 0) for d in mine) for k in range(ndim)]
    stops = [max((index[d][k].stop if index[d][k].stop is not None else global_shape[k])
                 for d in mine) for k in range(ndim)]
    box = tuple(b - a for a, b in zip(starts, stops))
    if box != local_data.shape:
        raise ValueError(f"{what}: this process holds the block {box} of the global "
                         f"{global_shape} under {sharding}, but local_data has shape "
                         f"{local_data.shape}{where()}")

    def piece(d):
        idx = tuple(slice((sl.start or 0) - a, (sl.stop if sl.stop is not None else n) - a)
                    for sl, a, n in zip(index[d], starts, global_shape))
        return local_data[idx]
    return _assemble(global_shape, sharding, [piece(d) for d in mine], mine)


def _global_shape(sharding, local_shape, tiles):
    """Each dimension scaled by how many of its tiles live in other processes."""
    shape = tuple(local_shape)
    probe = tuple(t for t in tiles)   # a shape with one element per tile
    index = sharding.devices_indices_map(probe)
    mine = [d for d in sharding.device_list if d in sharding.addressable_devices]
    out = []
    for k, (n, t) in enumerate(zip(shape, tiles)):
        local_tiles = len({index[d][k].start for d in mine}) if t > 1 else 1
        out.append(n * t // local_tiles)
    return tuple(out)
