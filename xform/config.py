"""``xform.config``: the few global switches JAX programs set."""
from __future__ import annotations

from primitives import dtypes
from lowering import _jaxlib

_ALIASES = {"enable_x64": "jax_enable_x64", "platforms": "jax_platforms",
            "debug_nans": "jax_debug_nans"}


class Config:
    def __init__(self):
        self._values = {"jax_enable_x64": False, "jax_platforms": None, "jax_debug_nans": False,
                        "xform_cpu_fusion_emitters": None, "xform_cpu_loop_kernels": None}

    def update(self, name: str, value) -> None:
        key = _ALIASES.get(name, name)
        if key not in self._values:
            raise AttributeError(f"config.update: unknown option {name!r} (known: "
                                 f"{', '.join(sorted(self._values))})")
        self._values[key] = value
        if key == "jax_enable_x64":
            dtypes.set_x64(bool(value))
        elif key == "jax_platforms":
            _jaxlib.set_platform(value)
        elif key == "xform_cpu_fusion_emitters":   # see lowering/_jaxlib.CPU_FUSION_EMITTERS
            _jaxlib.CPU_FUSION_EMITTERS[0] = None if value is None else bool(value)
        elif key == "xform_cpu_loop_kernels":      # see lowering/_jaxlib.CPU_LOOP_KERNELS
            _jaxlib.CPU_LOOP_KERNELS[0] = None if value is None else bool(value)

    def read(self, name):
        return self._values[_ALIASES.get(name, name)]

    def __getattr__(self, name):
        key = _ALIASES.get(name, name)
        values = self.__dict__.get("_values", {})
        if key in values:
            return values[key]
        raise AttributeError(name)


config = Config()
