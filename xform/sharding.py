"""``xform.sharding``: how arrays are laid out over devices (``jax.sharding``).

    mesh = xform.make_mesh((2, 4), ("data", "model"))
    x = xform.device_put(x, NamedSharding(mesh, P("data", None)))
    f = xform.jit(step, in_shardings=..., out_shardings=...)

The types are IR data (``primitives/sharding.py``); meshes and sharded arrays are made
in ``xform/api/sharding.py``.
"""
from primitives.sharding import (  # noqa: F401
    Mesh, NamedSharding, PartitionSpec, Sharding, ShardingError, SingleDeviceSharding,
    TiledSharding)
from .api.sharding import AxisType, make_mesh  # noqa: F401

P = PartitionSpec


def use_mesh(mesh: Mesh) -> Mesh:
    """``with use_mesh(mesh):`` is ``with mesh:``: inside, a bare ``PartitionSpec``
    refers to ``mesh`` (``jax.sharding.use_mesh``)."""
    if not isinstance(mesh, Mesh):
        raise TypeError(f"use_mesh: expected a Mesh, got {type(mesh).__name__}")
    return mesh
