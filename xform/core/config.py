"""``xform.config``: the few global switches JAX programs set.

Every option is read by the code it names (none is stored and ignored):

* ``jax_enable_x64`` (``enable_x64``): 64-bit types (``primitives.dtypes``);
* ``jax_platforms`` (``platforms``): the device platform (``lowering._jaxlib``); changing
  it empties every cache (compiled programs belong to the old platform's device);
* ``jax_debug_nans`` (``debug_nans``): not implemented: ``True`` raises
  ``NotImplementedError``, ``False`` is accepted;
* ``xform_cpu_fusion_emitters`` / ``xform_cpu_loop_kernels``: XLA CPU options
  (``lowering._jaxlib``);
* ``xform_check_ir``: type-check the IR every transform and pass produces
  (``xform.core.checks``);
* ``xform_cache_size``: the most entries each of xform's caches holds
  (``primitives.lru``; default 8192, or ``XFORM_CACHE_SIZE`` from the environment).
"""
from __future__ import annotations

from primitives import dtypes, lru
from lowering import _jaxlib

from . import checks

_ALIASES = {"enable_x64": "jax_enable_x64", "platforms": "jax_platforms",
            "debug_nans": "jax_debug_nans"}


class Config:
    def __init__(self):
        self._values = {"jax_enable_x64": False, "jax_platforms": None, "jax_debug_nans": False,
                        "xform_cpu_fusion_emitters": None, "xform_cpu_loop_kernels": None,
                        "xform_check_ir": checks.enabled(), "xform_cache_size": lru.limit()}

    def update(self, name: str, value) -> None:
        key = _ALIASES.get(name, name)
        if key not in self._values:
            raise AttributeError(f"config.update: unknown option {name!r} (known: "
                                 f"{', '.join(sorted(self._values))})")
        if key == "jax_debug_nans":
            if value:
                raise NotImplementedError(
                    f"config.update({name!r}, {value!r}): debug_nans is not implemented yet "
                    f"in xform (no NaN checks are made); only False is accepted")
            value = False
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
