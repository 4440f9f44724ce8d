"""``xform.config``: the few global switches JAX programs set.

Every option is read by the code it names (none is stored and ignored):

* ``jax_enable_x64`` (``enable_x64``): 64-bit types (``primitives.dtypes``);
* ``jax_platforms`` (``platforms``): the device platform (``lowering._jaxlib``); changing
  it empties every cache (compiled programs belong to the old platform's device);
* ``jax_debug_nans`` / ``jax_debug_infs`` (``debug_nans`` / ``debug_infs``; also
  ``with xform.debug_nans():`` and ``JAX_DEBUG_NANS=1`` / ``JAX_DEBUG_INFS=1`` in the
  environment): every eager op and ``jit`` call raises ``FloatingPointError`` naming the
  op that made a NaN / Inf (``xform.core.nan_check``);
* ``xform_cpu_fusion_emitters`` / ``xform_cpu_loop_kernels``: XLA CPU options
  (``lowering._jaxlib``);
* ``xform_check_ir``: type-check the IR every transform and pass produces
  (``xform.core.checks``);
* ``xform_cache_size``: the most entries each of xform's caches holds
  (``primitives.lru``; default 8192, or ``XFORM_CACHE_SIZE`` from the environment).
"""
from __future__ import annotations

import contextlib

from primitives import dtypes, lru
from lowering import _jaxlib

from . import checks

_ALIASES = {"enable_x64": "jax_enable_x64", "platforms": "jax_platforms",
            "debug_nans": "jax_debug_nans", "debug_infs": "jax_debug_infs"}


class Config:
    def __init__(self):
        self._values = {"jax_enable_x64": False, "jax_platforms": None,
                        "jax_debug_nans": checks.debug_nans, "jax_debug_infs": checks.debug_infs,
                        "xform_cpu_fusion_emitters": None, "xform_cpu_loop_kernels": None,
                        "xform_check_ir": checks.enabled(), "xform_cache_size": lru.limit()}

    def update(self, name: str, value) -> None:
        key = _ALIASES.get(name, name)
        if key not in self._values:
            raise AttributeError(f"config.update: unknown option {name!r} (known: "
                                 f"{', '.join(sorted(self._values))})")
        if key == "jax_debug_nans":
            value = bool(value)
            checks.set_debug(nans=value)
        elif key == "jax_debug_infs":
            value = bool(value)
            checks.set_debug(infs=value)
        elif key == "jax_enable_x64":
            dtypes.set_x64(bool(value))
        elif key == "jax_platforms":
            _jaxlib.set_platform(value)
            lru.clear_all()    # executables, buffers, handlers of the old platform's device
        elif key == "xform_cpu_fusion_emitters":   # see lowering/_jaxlib.CPU_FUSION_EMITTERS
            _jaxlib.CPU_FUSION_EMITTERS = None if value is None else bool(value)
        elif key == "xform_cpu_loop_kernels":      # see lowering/_jaxlib.CPU_LOOP_KERNELS
            _jaxlib.CPU_LOOP_KERNELS = None if value is None else bool(value)
        elif key == "xform_check_ir":
            checks.set_enabled(value)
            value = checks.enabled()
        elif key == "xform_cache_size":
            lru.set_limit(value)
            value = lru.limit()
        self._values[key] = value

    def read(self, name):
        return self._values[_ALIASES.get(name, name)]

    def __getattr__(self, name):
        key = _ALIASES.get(name, name)
        values = self.__dict__.get("_values", {})
        if key in values:
            return values[key]
        raise AttributeError(name)


config = Config()


@contextlib.contextmanager
def _option(name: str, value):
    before = config.read(name)
    config.update(name, value)
    try:
        yield
    finally:
        config.update(name, before)


def debug_nans(value: bool = True):
    """``with xform.debug_nans():`` (or ``debug_nans(False)``): the ``jax_debug_nans``
    option inside the block, restored after it (also usable as a decorator)."""
    return _option("jax_debug_nans", value)


def debug_infs(value: bool = True):
    """``with xform.debug_infs():``: ``jax_debug_infs`` inside the block, as
    ``debug_nans``."""
    return _option("jax_debug_infs", value)
