"""``xform.config``: the few global switches JAX programs set.

Every option is read by the code it names (none is stored and ignored):

* ``jax_enable_x64`` (``enable_x64``): 64-bit types (``primitives.dtypes``);
* ``jax_platforms`` (``platforms``): the device platform (``lowering._jaxlib``); changing
  it empties every cache (compiled programs belong to the old platform's device);
* ``jax_debug_nans`` / ``jax_debug_infs`` (``debug_nans`` / ``debug_infs``; also
  ``with xform.debug_nans():`` and ``JAX_DEBUG_NANS=1`` / ``JAX_DEBUG_INFS=1`` in the
  environment): every eager op and ``jit`` call raises ``FloatingPointError`` naming the
  op that made a NaN / Inf (``xform.core.nan_check``);
* ``xform_cpu_fusion_emitters`` / ``xform_cpu_loop_kernels`` / ``xform_cpu_ynn_dots``:
  XLA CPU options
  (``lowering._jaxlib``);
* ``xform_check_ir``: type-check the IR every transform and pass produces
  (``xform.core.checks``);
* ``xform_cache_size``: the most entries each of xform's caches holds
  (``primitives.lru``; default 8192, or ``XFORM_CACHE_SIZE`` from the environment);
* ``jax_disable_jit`` (``disable_jit``): jitted functions run op by op (``xform.api.jit``);
* ``jax_default_matmul_precision``: the precision of a contraction called with
  ``precision=None`` (``xform.lax.precision``);
* ``jax_numpy_rank_promotion``: ``"allow"``, ``"warn"`` or ``"raise"`` when a numpy
  operation broadcasts operands of different ranks (``xform.numpy._core``);
* ``jax_log_compiles`` (``log_compiles``): log every compile (``jit``, an eager op) on the
  ``xform.compile`` logger at WARNING level, else at DEBUG (``lowering.compile``);
* ``jax_default_device`` (``default_device``): the device uncommitted arrays and
  computations go to (``lowering._jaxlib.default_device``); a change empties every cache;
* the persistent caches (``lowering.disk_cache``): ``jax_enable_compilation_cache``
  (default on), ``jax_compilation_cache_dir`` (None: ``~/.cache/xform``),
  ``jax_compilation_cache_max_size`` (bytes per kind, default 1 GiB; -1: no bound),
  ``jax_persistent_cache_min_compile_time_secs`` (default 1.0, as JAX),
  ``jax_persistent_cache_min_entry_size_bytes``; ``xform_trace_cache`` (default on):
  also keep traced programs, so another process skips tracing (``xform.api.trace_cache``).

As in JAX, each option starts from its environment variable when that is set
(``JAX_ENABLE_X64=1``, ``JAX_DEFAULT_MATMUL_PRECISION=highest``, ...), and
``config_with_absl()`` makes them absl flags.  ``trace_key`` is the part of the
configuration a traced program depends on: ``jit`` keeps it in its cache keys, so a
program traced under one setting is never reused under another.
"""
from __future__ import annotations

import contextlib
import os

from primitives import dtypes, lru
from lowering import _jaxlib, disk_cache
from lowering import compile as _compile

from . import checks

_ALIASES = {"enable_x64": "jax_enable_x64", "platforms": "jax_platforms",
            "debug_nans": "jax_debug_nans", "debug_infs": "jax_debug_infs",
            "disable_jit": "jax_disable_jit",
            "default_matmul_precision": "jax_default_matmul_precision",
            "numpy_rank_promotion": "jax_numpy_rank_promotion",
            # JAX's "invariant checking for JAX internals": xform's IR type checks
            "enable_checks": "xform_check_ir", "jax_enable_checks": "xform_check_ir",
            "log_compiles": "jax_log_compiles", "default_device": "jax_default_device"}
_PRECISIONS = ("default", "high", "highest", "bfloat16", "tensorfloat32", "float32",
               "fastest")
_RANK_PROMOTION = ("allow", "warn", "raise")
# the options a traced program depends on, in the order of ``trace_key``
_TRACE_OPTIONS = ("jax_enable_x64", "jax_disable_jit", "jax_default_matmul_precision",
                  "jax_numpy_rank_promotion")
_TRACE_DEFAULTS = (False, None, "allow")
trace_key = False   # see _update_trace_key


def _update_trace_key(values):
    """``trace_key``: the x64 bool alone while the other trace options keep their
    defaults (the common case, as cheap to compare as before), else the whole tuple."""
    global trace_key
    rest = tuple(values[k] for k in _TRACE_OPTIONS[1:])
    trace_key = values["jax_enable_x64"] if rest == (False,) + _TRACE_DEFAULTS[1:] else \
        (values["jax_enable_x64"],) + rest


_CACHE_OPTIONS = {"jax_enable_compilation_cache": "ENABLED",
                  "jax_compilation_cache_dir": "DIRECTORY",
                  "jax_compilation_cache_max_size": "MAX_BYTES",
                  "jax_persistent_cache_min_compile_time_secs": "MIN_COMPILE_SECS",
                  "jax_persistent_cache_min_entry_size_bytes": "MIN_ENTRY_BYTES"}


def _set_cache_option(key, value):
    """Check a persistent-cache option and hand it to ``lowering.disk_cache``."""
    try:
        if key == "jax_enable_compilation_cache":
            value = value.lower() in ("1", "true", "yes", "on") if isinstance(value, str) \
                else bool(value)
        elif key == "jax_compilation_cache_dir":
            value = None if value in (None, "") else os.path.abspath(
                os.path.expanduser(os.fspath(value)))
        elif key == "jax_persistent_cache_min_compile_time_secs":
            value = float(value)
        else:
            value = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"config.update: {key} cannot be {value!r}") from None
    setattr(disk_cache, _CACHE_OPTIONS[key], value)
    return value


def _check_default_device(value):
    if value is None or isinstance(value, _jaxlib.Device):
        return value
    if isinstance(value, str) and value in ("cpu", "gpu", "tpu", "cuda", "rocm"):
        try:
            _jaxlib.client(value)
        except RuntimeError as e:
            raise ValueError(f"config.update: jax_default_device {value!r}: {e}") from None
        return value
    raise ValueError(f"config.update: jax_default_device must be a Device (such as "
                     f"xform.devices('cpu')[0]), a platform name such as 'cpu' or 'gpu', or "
                     f"None; got {type(value).__name__} {value!r:.60}")


def _env_value(name, default):
    raw = os.environ.get(name.upper())
    if raw is None:
        return default
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return raw.strip()


class Config:
    def __init__(self):
        self._values = {"jax_enable_x64": False, "jax_platforms": None,
                        "jax_debug_nans": checks.debug_nans, "jax_debug_infs": checks.debug_infs,
                        "xform_cpu_fusion_emitters": None, "xform_cpu_loop_kernels": None,
                        "xform_cpu_ynn_dots": None,
                        "xform_check_ir": checks.enabled(), "xform_cache_size": lru.limit(),
                        "jax_disable_jit": False, "jax_default_matmul_precision": None,
                        "jax_numpy_rank_promotion": "allow",
                        "jax_enable_compilation_cache": disk_cache.ENABLED,
                        "jax_compilation_cache_dir": disk_cache.DIRECTORY,
                        "jax_compilation_cache_max_size": disk_cache.MAX_BYTES,
                        "jax_persistent_cache_min_compile_time_secs": disk_cache.MIN_COMPILE_SECS,
                        "jax_persistent_cache_min_entry_size_bytes": disk_cache.MIN_ENTRY_BYTES,
                        "xform_trace_cache": True, "jax_log_compiles": False,
                        "jax_default_device": None}
        self._absl_flags = None
        for name in ("jax_enable_x64", "jax_disable_jit", "jax_default_matmul_precision",
                     "jax_numpy_rank_promotion", *_CACHE_OPTIONS, "xform_trace_cache"):
            value = _env_value(name, self._values[name])
            if value != self._values[name]:
                self.update(name, value)
        _update_trace_key(self._values)

    def update(self, name: str, value) -> None:
        key = _ALIASES.get(name, name)
        if key not in self._values:
            raise AttributeError(f"config.update: unknown option {name!r}; xform implements "
                                 f"{', '.join(sorted(self._values))}")
        if key == "jax_default_matmul_precision":
            if value is not None and str(value).lower() not in _PRECISIONS:
                raise ValueError(f"config.update: jax_default_matmul_precision must be None "
                                 f"or one of {', '.join(_PRECISIONS)}; got {value!r}")
            value = None if value is None else str(value).lower()
        elif key == "jax_numpy_rank_promotion":
            if value not in _RANK_PROMOTION:
                raise ValueError(f"config.update: jax_numpy_rank_promotion must be one of "
                                 f"{', '.join(_RANK_PROMOTION)}; got {value!r}")
        elif key == "jax_disable_jit":
            value = bool(value)
        elif key == "jax_debug_nans":
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
        elif key == "xform_cpu_ynn_dots":          # see lowering/_jaxlib.CPU_YNN_DOTS
            _jaxlib.CPU_YNN_DOTS = None if value is None else bool(value)
        elif key == "xform_check_ir":
            checks.set_enabled(value)
            value = checks.enabled()
        elif key == "xform_cache_size":
            lru.set_limit(value)
            value = lru.limit()
        elif key in _CACHE_OPTIONS:
            value = _set_cache_option(key, value)
        elif key == "jax_log_compiles":
            value = value.lower() in ("1", "true", "yes", "on") if isinstance(value, str) \
                else bool(value)
            _compile.LOG_COMPILES = value
        elif key == "jax_default_device":
            value = _check_default_device(value)
            before = _jaxlib.default_device()
            _jaxlib.set_default_device(value)
            if _jaxlib.default_device() != before:
                lru.clear_all()   # executables and buffers of the old default device
        elif key == "xform_trace_cache":
            value = bool(value) if not isinstance(value, str) else \
                value.lower() in ("1", "true", "yes", "on")
        self._values[key] = value
        if key in _TRACE_OPTIONS:
            _update_trace_key(self._values)

    def read(self, name):
        return self._values[_ALIASES.get(name, name)]

    def __getattr__(self, name):
        key = _ALIASES.get(name, name)
        values = self.__dict__.get("_values", {})
        if key in values:
            return values[key]
        raise AttributeError(name)

    @property
    def values(self):
        """Every option's current value, by its full name (a copy)."""
        return dict(self._values)

    def config_with_absl(self):
        """Define an absl flag for every option (``--jax_enable_x64``, ...), read back after
        ``absl.app.run`` parses the command line (JAX's ``config_with_absl`` does the same).
        Needs the ``absl-py`` package."""
        flags, app = _absl("config_with_absl")
        self._define_absl_flags(flags)
        app.call_after_init(lambda: self._read_absl_flags(flags))

    def parse_flags_with_absl(self):
        """Parse the ``--jax_*`` / ``--xform_*`` arguments of ``sys.argv`` into the options
        now, without ``absl.app.run`` (as JAX's ``parse_flags_with_absl``)."""
        import sys
        flags, _ = _absl("parse_flags_with_absl")
        self._define_absl_flags(flags)
        ours = [a for a in sys.argv[1:]
                if a.split("=")[0].lstrip("-").removeprefix("no") in self._values]
        flags.FLAGS(sys.argv[:1] + ours, known_only=True)
        self._read_absl_flags(flags)

    def _define_absl_flags(self, flags):
        if self._absl_flags is flags:
            return
        for name, value in self._values.items():
            if name in flags.FLAGS:
                continue
            if isinstance(value, bool):
                flags.DEFINE_bool(name, value, f"xform option {name}")
            elif isinstance(value, int) and not isinstance(value, bool):
                flags.DEFINE_integer(name, value, f"xform option {name}")
            else:
                flags.DEFINE_string(name, None if value is None else str(value),
                                    f"xform option {name}")
        self._absl_flags = flags

    def _read_absl_flags(self, flags):
        for name in self._values:
            flag = flags.FLAGS[name]
            if flag.present:
                self.update(name, flag.value)


def _absl(what):
    try:
        from absl import app, flags
    except ImportError:
        raise ImportError(f"config.{what} needs the absl-py package (pip install absl-py); "
                          f"without it, set options with config.update or JAX_* environment "
                          f"variables") from None
    return flags, app


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


def enable_x64(value: bool = True):
    """``with xform.enable_x64():``: 64-bit types inside the block (``jax_enable_x64``)."""
    return _option("jax_enable_x64", value)


def default_matmul_precision(value):
    """``with xform.default_matmul_precision("highest"):``: the precision of contractions
    called with ``precision=None`` inside the block."""
    return _option("jax_default_matmul_precision", value)


def enable_checks(value: bool = True):
    """``with xform.enable_checks():``: type-check the IR every transform and pass produces
    inside the block (``jax_enable_checks``, which is ``xform_check_ir``)."""
    return _option("xform_check_ir", value)


def log_compiles(value: bool = True):
    """``with xform.log_compiles():``: log each compile inside the block (``jax_log_compiles``)
    with Python's ``logging`` at WARNING level, on the ``xform.compile`` logger."""
    return _option("jax_log_compiles", value)


def default_device(device):
    """``with xform.default_device(xform.devices()[1]):``: arrays and computations with no
    committed operand go to ``device`` inside the block (``jax_default_device``; a Device,
    a platform name such as 'cpu', or None)."""
    return _option("jax_default_device", device)


def numpy_rank_promotion(value):
    """``with xform.numpy_rank_promotion("raise"):``: what numpy operations do when they
    broadcast operands of different ranks inside the block."""
    return _option("jax_numpy_rank_promotion", value)
