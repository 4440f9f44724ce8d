"""``xform.export`` (as ``jax.export``): serialize a jitted function as a portable
StableHLO program, load it in another process and call it.  Defined in
``xform/api/export.py``, which says what an ``Exported`` holds and how it is stored."""
from .api.export import (  # noqa: F401
    DisabledSafetyCheck, Exported, SymbolicScope, default_export_platform, deserialize, export,
    is_symbolic_dim, register_namedtuple_serialization, register_pytree_node_serialization,
    maximum_supported_calling_convention_version,
    minimum_supported_calling_convention_version, symbolic_args_specs, symbolic_shape)
