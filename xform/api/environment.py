"""The runtime around programs: ``live_arrays``, ``print_environment_info``,
``copy_to_host_async``, the host aliases (``host_id``, ``host_count``, ``host_ids``,
``process_indices``) and ``Device`` (the type of every device).  ``log_compiles``,
``default_device`` and ``enable_checks`` are configuration (``xform.core.config``)."""
from __future__ import annotations

import gc
import os
import platform as _platform
import sys
import warnings

import numpy as np

from lowering import _jaxlib

from ..core import Array
from ..core.pytree import tree_leaves
from .devices import device_count, devices, local_device_count, process_count, process_index

Device = _jaxlib.Device


def live_arrays(platform: str | None = None) -> list:
    """Every ``Array`` alive in this process whose data is on a device of ``platform``
    (None: the default device's platform), deleted and donated ones left out, as
    ``jax.live_arrays``."""
    if platform is not None and not isinstance(platform, str):
        raise TypeError(f"live_arrays: platform must be a str such as 'cpu' or None, got "
                        f"{type(platform).__name__} {platform!r:.40}")
    want = {"gpu": ("cuda", "rocm")}.get(platform, (platform,)) if platform else \
        (_jaxlib.platform_name(_jaxlib.default_device()),)
    out = []
    for obj in gc.get_objects():
        if type(obj) is not Array:
            continue
        try:
            if obj.is_deleted():
                continue
            devs = obj.devices()
        except Exception:   # an array whose buffer was invalidated (donated)
            continue
        if any(_jaxlib.platform_name(d) in want for d in devs):
            out.append(obj)
    return out


def copy_to_host_async(x):
    """Start copying every array of the pytree ``x`` to host memory, so that a later
    ``np.asarray`` does not wait for it; returns ``x`` (as ``jax.copy_to_host_async``)."""
    for leaf in tree_leaves(x):
        if type(leaf) is Array:
            leaf._buf.copy_to_host_async()
    return x


def _renamed(old, new):
    warnings.warn(f"{old} has been renamed to {new}; the old name will be removed, as in "
                  f"JAX", UserWarning, stacklevel=3)


def host_id(backend: str | None = None) -> int:
    """``process_index``'s old name (warns, as JAX)."""
    _renamed("host_id", "process_index")
    return process_index(backend)


def host_count(backend: str | None = None) -> int:
    """``process_count``'s old name (warns, as JAX)."""
    _renamed("host_count", "process_count")
    return process_count(backend)


def process_indices(backend: str | None = None) -> list:
    """The indices of every process (``range(process_count())`` as a list)."""
    return list(range(process_count(backend)))


def host_ids(backend: str | None = None) -> list:
    """``process_indices``' old name (warns, as JAX)."""
    _renamed("host_ids", "process_indices")
    return process_indices(backend)


def print_environment_info(return_string: bool = False) -> str | None:
    """Versions (xform, jaxlib, NumPy, Python), devices, processes, platform and the
    ``XFORM_*``/``JAX_*``/``XLA_*`` environment variables: what a bug report needs.
    Printed, or returned with ``return_string=True``."""
    version = getattr(sys.modules.get("xform"), "__version__", "unknown")  # loaded by now
    devs = devices()
    info = "\n".join([
        f"xform:  {version}",
        f"jaxlib: {_jaxlib.version()}",
        f"numpy:  {np.__version__}",
        f"python: {sys.version.replace(chr(10), ' ')}",
        f"device info: {devs[0].device_kind}-{device_count()}, {local_device_count()} local "
        f"devices",
        f"default device: {_jaxlib.default_device()}",
        f"process_count: {process_count()}",
        f"platform: {_platform.uname()}",
    ])
    for key, value in os.environ.items():
        if key.startswith(("XFORM_", "JAX_", "XLA_")):
            info += f"\n{key}={value}"
    if return_string:
        return info
    print(info)
    return None
