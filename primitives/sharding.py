"""Meshes and shardings: how a global array is laid out over devices (JAX's names).

Pure data, hashable, so they can sit in equation parameters (``sharding_constraint``,
``shard_map``) and in jit cache keys.  Devices are opaque objects here (PJRT devices,
read for their ``id`` only); nothing in this module talks to a runtime.

* ``Mesh(devices, axis_names)``: an n-d array of devices with a name per axis.
* ``PartitionSpec(*entries)`` (``P``): one entry per array dimension, each ``None``
  (not split), an axis name, or a tuple of names (split over their product, major to
  minor).  Mesh axes no entry names hold a replica each.
* ``NamedSharding(mesh, spec)``, ``SingleDeviceSharding(device)``.
* the meta-operator ``sharding_constraint[sharding]  x -> x``: ``x`` unchanged, laid
  out as ``sharding`` says (``with_sharding_constraint``).

What every sharding answers (``shard_shape``, ``devices_indices_map``,
``tile_assignment``) is computed here, once, for the runtime (``lowering._jaxlib``
builds the buffer layout from ``tile_assignment``), the lowering (``sdy`` attributes
from ``mesh`` and ``spec``) and the API (``Array.addressable_shards``).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .lru import LRU
from .ops import _define, _fail


class ShardingError(ValueError):
    """A mesh, partition spec or sharding that does not fit what it is used with."""


# --- PartitionSpec ----------------------------------------------------------------------

def _entry(e, where):
    if e is None or isinstance(e, str):
        return e
    if isinstance(e, (tuple, list)) and all(isinstance(n, str) for n in e):
        e = tuple(e)
        return None if not e else e[0] if len(e) == 1 else e
    raise ShardingError(f"PartitionSpec{where}: each entry must be None, a mesh axis name "
                        f"or a tuple of names, got {e!r}")


class PartitionSpec(tuple):
    """How each dimension of an array is split over mesh axes: ``P('x', None)`` splits
    dimension 0 over axis ``x`` and keeps dimension 1 whole; ``P(('x', 'y'))`` splits
    dimension 0 over both (``x`` major).  Trailing dimensions not given are not split."""

    def __new__(cls, *entries):
        entries = tuple(_entry(e, "") for e in entries)
        self = super().__new__(cls, entries)
        names = [n for e in entries for n in _names(e)]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ShardingError(f"{self}: mesh axis {dup[0]!r} is used more than once; an "
                                f"axis can split at most one dimension")
        return self

    def __repr__(self):
        return "PartitionSpec(" + ", ".join(repr(e) for e in self) + ")"

    __str__ = __repr__

    def short(self) -> str:
        """``P('x', None)``: how the IR printer shows a spec."""
        return "P(" + ", ".join(repr(e) for e in self) + ")"

    def __reduce__(self):
        return (PartitionSpec, tuple(self))

    def axis_names(self) -> tuple:
        """Every mesh axis the spec uses, in order."""
        return tuple(n for e in self for n in _names(e))

    def padded(self, ndim: int) -> tuple:
        """The entries for an array of rank ``ndim`` (trailing ``None``s added)."""
        return tuple(self) + (None,) * (ndim - len(self))


P = PartitionSpec


def _names(entry) -> tuple:
    if entry is None:
        return ()
    return (entry,) if isinstance(entry, str) else tuple(entry)


# --- Mesh ---------------------------------------------------------------------------------

class Mesh:
    """An n-d array of devices with one name per axis, as ``jax.sharding.Mesh``.

    ``with mesh:`` makes it the mesh that a bare ``PartitionSpec`` refers to (in
    ``with_sharding_constraint`` and ``jit(in_shardings=P(...))``)."""

    __slots__ = ("devices", "axis_names", "axis_sizes", "device_ids", "_key", "_hash")

    def __init__(self, devices, axis_names):
        if isinstance(axis_names, str):
            axis_names = (axis_names,)
        axis_names = tuple(axis_names)
        devs = np.empty(np.shape(devices), dtype=object)
        devs[...] = devices if not isinstance(devices, np.ndarray) else devices
        if devs.ndim != len(axis_names):
            raise ShardingError(f"Mesh: {devs.ndim}-d device array {devs.shape} needs "
                                f"{devs.ndim} axis names, got {axis_names}")
        for n in axis_names:
            if not isinstance(n, str):
                raise ShardingError(f"Mesh: axis names must be strings, got {n!r}")
        if len(set(axis_names)) != len(axis_names):
            raise ShardingError(f"Mesh: axis names must be distinct, got {axis_names}")
        if devs.size == 0:
            raise ShardingError("Mesh: needs at least one device")
        ids = tuple(int(d.id) for d in devs.flat)
        if len(set(ids)) != len(ids):
            raise ShardingError(f"Mesh: a device appears more than once: ids {ids}")
        self.devices = devs
        self.axis_names = axis_names
        self.axis_sizes = tuple(int(s) for s in devs.shape)
        self.device_ids = np.array(ids, dtype=np.int64).reshape(devs.shape)
        self._key = (axis_names, self.axis_sizes, ids)
        self._hash = hash(self._key)

    @property
    def shape(self) -> dict:
        return dict(zip(self.axis_names, self.axis_sizes))

    @property
    def size(self) -> int:
        return int(self.devices.size)

    @property
    def empty(self) -> bool:
        return False

    @property
    def device_list(self) -> list:
        """The devices in mesh order (row-major): logical device ``i`` of a program
        compiled over this mesh is ``device_list[i]``."""
        return list(self.devices.flat)

    def axis_size(self, names) -> int:
        return math.prod(self.shape[n] for n in _names(names) if n in self.shape)

    def __eq__(self, other):
        return type(other) is Mesh and other._key == self._key

    def __hash__(self):
        return self._hash

    def __repr__(self):
        axes = ", ".join(f"'{n}': {s}" for n, s in zip(self.axis_names, self.axis_sizes))
        return f"Mesh({axes})"

    def __enter__(self):
        _CONTEXT_MESHES.append(self)
        return self

    def __exit__(self, *exc):
        _CONTEXT_MESHES.pop()
        return False

    def __reduce__(self):
        raise TypeError("a Mesh holds devices and cannot be pickled")


_CONTEXT_MESHES: list = []


def context_mesh():
    """The mesh of the innermost ``with mesh:`` block, or None."""
    return _CONTEXT_MESHES[-1] if _CONTEXT_MESHES else None


# --- shardings ------------------------------------------------------------------------------

class Sharding:
    """What every sharding answers.  Subclasses give ``tile_assignment`` and
    ``device_list`` (and ``is_fully_replicated`` when they can split)."""

    memory_kind = None

    @property
    def device_set(self) -> set:
        return set(self.device_list)

    @property
    def num_devices(self) -> int:
        return len(self.device_list)

    @property
    def addressable_devices(self) -> set:
        return {d for d in self.device_list if _is_local(d)}

    @property
    def is_fully_addressable(self) -> bool:
        return all(_is_local(d) for d in self.device_list)

    def tile_assignment(self, ndim: int):
        """``(tiles, order, replicas)``: dimension ``d`` is cut into ``tiles[d]`` equal
        pieces; the array ``np.arange(num_devices)[order]`` reshaped to
        ``tiles + (replicas,)`` gives, for each tile, the logical devices (positions in
        ``device_list``) that hold it."""
        raise NotImplementedError

    def check_shape(self, shape, what: str = "array") -> None:
        """Raise ``ShardingError`` naming ``what`` unless ``shape`` splits evenly."""
        tiles, _, _ = self.tile_assignment(len(shape))
        for d, (n, t) in enumerate(zip(shape, tiles)):
            if n % t:
                raise ShardingError(
                    f"{what}: {self} splits dimension {d} of shape {tuple(shape)} into {t} "
                    f"pieces, but {n} is not divisible by {t}")

    def shard_shape(self, shape) -> tuple:
        tiles, _, _ = self.tile_assignment(len(shape))
        return tuple(n // t for n, t in zip(shape, tiles))

    def devices_indices_map(self, shape) -> dict:
        """``{device: tuple of slices}``: the part of a global array of ``shape`` each
        device holds."""
        shape = tuple(shape)
        tiles, order, reps = self.tile_assignment(len(shape))
        grid = np.arange(self.num_devices)[list(order)].reshape(tuple(tiles) + (reps,))
        devs = self.device_list
        out = {}
        for pos in np.ndindex(grid.shape):
            d = devs[int(grid[pos])]
            out[d] = tuple(slice(i * (n // t), (i + 1) * (n // t)) if t > 1 else slice(None)
                           for i, n, t in zip(pos, shape, tiles))
        return out

    @property
    def is_fully_replicated(self) -> bool:
        """Every device holds the whole array (a single device does)."""
        return True


def _is_local(device) -> bool:
    pi = getattr(device, "process_index", 0)
    client = getattr(device, "client", None)
    return client is None or pi == client.process_index()


class SingleDeviceSharding(Sharding):
    """The whole array on one device."""

    __slots__ = ("device",)

    def __init__(self, device):
        self.device = device

    @property
    def device_list(self) -> list:
        return [self.device]

    def tile_assignment(self, ndim):
        return (1,) * ndim, (0,), 1

    def __eq__(self, other):
        return type(other) is SingleDeviceSharding and other.device == self.device

    def __hash__(self):
        return hash(("single", self.device))

    def __repr__(self):
        return f"SingleDeviceSharding(device={self.device!r})"


class NamedSharding(Sharding):
    """An array laid out over ``mesh`` as ``spec`` says (``jax.sharding.NamedSharding``)."""

    __slots__ = ("mesh", "spec", "_hash")

    def __init__(self, mesh, spec=None):
        if not isinstance(mesh, Mesh):
            raise ShardingError(f"NamedSharding: mesh must be a Mesh, got "
                                f"{type(mesh).__name__}")
        if spec is None:
            spec = PartitionSpec()
        elif not isinstance(spec, PartitionSpec):
            if isinstance(spec, (tuple, list)):
                spec = PartitionSpec(*spec)
            else:
                raise ShardingError(f"NamedSharding: spec must be a PartitionSpec, got "
                                    f"{spec!r}")
        unknown = [n for n in spec.axis_names() if n not in mesh.shape]
        if unknown:
            raise ShardingError(f"NamedSharding: {spec} names axis {unknown[0]!r}, which is "
                                f"not in {mesh} (axes {mesh.axis_names})")
        self.mesh = mesh
        self.spec = spec
        self._hash = hash((mesh, tuple(spec)))

    @property
    def device_list(self) -> list:
        return self.mesh.device_list

    def check_rank(self, ndim: int, what: str = "array") -> None:
        if len(self.spec) > ndim:
            raise ShardingError(f"{what}: {self.spec} has {len(self.spec)} entries, but the "
                                f"array has rank {ndim}; a spec has at most one entry per "
                                f"dimension")

    def check_shape(self, shape, what: str = "array") -> None:
        self.check_rank(len(shape), what)
        super().check_shape(shape, what)

    def tile_assignment(self, ndim):
        return _named_tiles(self.mesh, tuple(self.spec), ndim)

    @property
    def is_fully_replicated(self) -> bool:
        return all(self.mesh.shape[n] == 1 for n in self.spec.axis_names())

    def with_spec(self, spec):
        return NamedSharding(self.mesh, spec)

    def __eq__(self, other):
        return type(other) is NamedSharding and other.mesh == self.mesh and \
            tuple(other.spec) == tuple(self.spec)

    def __hash__(self):
        return self._hash

    def __repr__(self):
        return f"NamedSharding(mesh={self.mesh}, spec={self.spec})"


class TiledSharding(Sharding):
    """A layout XLA chose that no partition spec over the mesh names (a mesh axis split
    between two dimensions, say): the devices and the tile assignment as XLA gave them."""

    __slots__ = ("_devices", "_tiles")

    def __init__(self, devices, tiles, order, replicas):
        self._devices = list(devices)
        self._tiles = (tuple(tiles), tuple(order), int(replicas))

    @property
    def device_list(self) -> list:
        return self._devices

    def tile_assignment(self, ndim):
        tiles, order, reps = self._tiles
        if len(tiles) != ndim:
            raise ShardingError(f"{self} describes rank-{len(tiles)} arrays, not rank {ndim}")
        return self._tiles

    @property
    def is_fully_replicated(self) -> bool:
        return all(t == 1 for t in self._tiles[0])

    def __eq__(self, other):
        return type(other) is TiledSharding and other._tiles == self._tiles and \
            [d.id for d in other._devices] == [d.id for d in self._devices]

    def __hash__(self):
        return hash(self._tiles)

    def __repr__(self):
        tiles, order, reps = self._tiles
        return f"TiledSharding(tiles={tiles}, devices={list(order)}, replicas={reps})"


_TILES_CACHE = LRU("sharding tiles")   # (mesh, spec, ndim) -> tiles; hits read .data


def _named_tiles(mesh: Mesh, spec: tuple, ndim: int):
    key = (mesh, spec, ndim)
    hit = _TILES_CACHE.data.get(key)
    if hit is not None:
        return hit
    entries = spec + (None,) * (ndim - len(spec))
    sizes = mesh.shape
    index = {n: i for i, n in enumerate(mesh.axis_names)}
    used, tiles = [], []
    for e in entries[:ndim]:
        names = _names(e)
        used.extend(names)
        tiles.append(math.prod(sizes[n] for n in names))
    rest = [n for n in mesh.axis_names if n not in used]
    perm = [index[n] for n in used + rest]
    order = tuple(int(i) for i in np.arange(mesh.size).reshape(mesh.axis_sizes)
                  .transpose(perm).reshape(-1))
    out = (tuple(tiles), order, math.prod(sizes[n] for n in rest))
    return _TILES_CACHE.put(key, out)


def spec_from_tiles(mesh: Mesh, ndim: int, tiles, order, replicas):
    """The ``PartitionSpec`` over ``mesh`` whose tile assignment is ``(tiles, order,
    replicas)``, or None if no spec gives it (XLA chose a layout the mesh's axes cannot
    name).  Tries each way to hand the mesh axes to dimensions (a mesh has few axes)."""
    tiles, order = tuple(tiles), tuple(order)
    for spec in _candidate_specs(mesh, ndim, tiles):
        if _named_tiles(mesh, spec, ndim) == (tiles, order, replicas):
            while spec and spec[-1] is None:
                spec = spec[:-1]
            return PartitionSpec(*spec)
    return None


def _candidate_specs(mesh, ndim, tiles):
    names = mesh.axis_names
    sizes = mesh.shape
    for assign in itertools.product(range(ndim + 1), repeat=len(names)):
        groups = [[n for n, a in zip(names, assign) if a == d] for d in range(ndim)]
        if any(math.prod(sizes[n] for n in g) != t for g, t in zip(groups, tiles)):
            continue
        for perms in itertools.product(*(itertools.permutations(g) for g in groups)):
            yield tuple(None if not p else p[0] if len(p) == 1 else tuple(p) for p in perms)


# --- the meta-operator ----------------------------------------------------------------------

def _constraint_rule(x, *, sharding):
    if not isinstance(sharding, NamedSharding):
        _fail("sharding_constraint", f"sharding must be a NamedSharding, got {sharding!r}")
    try:
        sharding.check_shape(x.shape, f"{x.str_short()}")
    except ShardingError as e:
        _fail("sharding_constraint", str(e))
    return [x]


sharding_constraint = _define(
    "sharding_constraint", "sharding", _constraint_rule, ("sharding",),
    "the operand, laid out over the devices as ``sharding`` says (an annotation for XLA's "
    "partitioner; the value is unchanged)")
