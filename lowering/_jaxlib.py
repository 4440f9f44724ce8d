"""Every private jaxlib import xform makes lives in this module.

jaxlib is our XLA binding: PJRT clients, compile options, device buffers
(``ArrayImpl``) and their result handlers.  Nothing here traces or transforms.
A jaxlib upgrade that moves a name breaks this file only.
"""
from __future__ import annotations

import functools
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # XLA's C++ INFO lines are noise to users

import numpy as np  # noqa: E402

import jaxlib._jax as _xc                      # noqa: E402  PJRT client, buffers, options
from jax._src import core as _jax_core        # noqa: E402  ShapedArray: a buffer's aval
from jax.extend import backend as _backend    # noqa: E402
from jax._src.lib import xla_client as _xla_client  # noqa: E402  HloSharding, OpSharding

from primitives.lru import memoize             # noqa: E402
from . import disk_cache                        # noqa: E402

ArrayImpl = _xc.ArrayImpl
JaxRuntimeError = _xc.JaxRuntimeError
DeviceList = _xc.DeviceList
CompileOptions = _xc.CompileOptions

# Cheap C++ stack capture, used to remember where each traced equation was written.
_Traceback = getattr(_xc, "Traceback", None)
capture_traceback = getattr(_Traceback, "get_traceback", None)


def code_line(code, lasti: int) -> int:
    """Source line of bytecode offset ``lasti`` in ``code``."""
    return _Traceback.code_addr2line(code, lasti)


def _platform_from_env() -> str | None:
    return os.environ.get("XFORM_PLATFORMS") or os.environ.get("JAX_PLATFORMS") or None


_platform = _platform_from_env()


def set_platform(name: str | None) -> None:
    global _platform
    _platform = name or None
    default_device.cache_clear()


@functools.lru_cache(maxsize=None)
def client(platform: str | None = None):
    """The PJRT client for ``platform``; 'cpu' unless told otherwise (after
    ``distributed_start``, the multi-process CPU client)."""
    names = (platform or _platform or "cpu").split(",")
    errors = []
    for name in names:
        name = {"gpu": "cuda"}.get(name.strip(), name.strip())
        if name == "cpu" and _distributed is not None:   # xform.distributed is up
            return _distributed.cpu_client
        try:
            return _backend.get_backend(name)
        except RuntimeError as e:  # plugin not installed, or no device
            errors.append(f"{name}: {e}")
    raise RuntimeError("no usable platform among " + ", ".join(names) + ": " + "; ".join(errors))


_default_override = None   # config jax_default_device (a device), see set_default_device


def set_default_device(value) -> None:
    """``jax_default_device``: a device, a platform name ('cpu', 'gpu', 'tpu': its first
    local device) or None (the first local device of the default platform)."""
    global _default_override
    if isinstance(value, str):
        value = client(value).local_devices()[0]
    _default_override = value
    default_device.cache_clear()


@functools.lru_cache(maxsize=None)
def default_device():
    if _default_override is not None:
        return _default_override
    return client(_platform).local_devices()[0]


Device = _xc.Device   # the type of every device a PJRT client lists (``jax.Device``)


@functools.lru_cache(maxsize=4096)
def _sharding(device):
    return _xc.SingleDeviceSharding(device)


@memoize("jax avals")
def _jax_aval(shape, dtype, weak_type):
    return _jax_core.ShapedArray(shape, dtype, weak_type=weak_type)


def buffer_from_numpy(x: np.ndarray, device=None, weak_type: bool = False) -> ArrayImpl:
    """Copy a host array to ``device``; returns a device buffer."""
    device = device or default_device()
    aval = _jax_aval(x.shape, x.dtype, weak_type)
    # enable_x64=True: the dtype is already ours (xform's x64 switch decided it); left to
    # None, jaxlib would canonicalise f64 to f32 by JAX's own flag
    return _xc.batched_device_put(aval, _sharding(device), [x], [device], True, False,
                                  enable_x64=True)


def buffers_on(buffers, device):
    """``buffers`` with each single-device one that is on another device than ``device``
    copied there (through the host), or None if all already are: uncommitted arrays an
    earlier ``jax_default_device`` left elsewhere."""
    out, moved = [], False
    for b in buffers:
        if type(b) is ArrayImpl and len(b.devices()) == 1 and buffer_device(b) != device:
            b = buffer_from_numpy(np.asarray(b), device, b.weak_type)
            moved = True
        out.append(b)
    return out if moved else None


@memoize("result handlers")
def result_handler(shape, dtype, weak_type, device):
    """Wraps an executable's raw output as a buffer with the right aval (C++ fast path)."""
    aval, sharding = _jax_aval(shape, dtype, weak_type), _sharding(device)
    try:
        return _xc.array_result_handler(aval, sharding, True, True)  # jaxlib 0.10: skip checks
    except TypeError:
        return _xc.array_result_handler(aval, sharding, True)        # jaxlib 0.11


# --- buffers over several devices ---------------------------------------------------------
# A sharded array is one ``ArrayImpl`` holding a buffer per device, described by a
# ``GSPMDSharding``: the devices in order (logical device i of a program compiled over
# them is ``devices[i]``) and an ``HloSharding`` saying which tile each holds.  xform's
# own ``primitives.sharding`` objects compute the tiles (``tile_assignment``); this layer
# only spells them for the binding.

def _hlo_sharding_text(tiles, order, replicas) -> str:
    n = len(order)
    if n == 1 or all(t == 1 for t in tiles):
        return "{replicated}"
    dims = list(tiles) + ([replicas] if replicas > 1 else [])
    last = " last_tile_dim_replicate" if replicas > 1 else ""
    return f"{{devices=[{','.join(map(str, dims))}]{','.join(map(str, order))}{last}}}"


@memoize("buffer shardings")
def buffer_sharding(devices: tuple, tiles: tuple, order: tuple, replicas: int):
    """The binding's description of a layout: ``devices`` (in logical order) hold the
    tiles ``(tiles, order, replicas)`` of ``primitives.sharding.Sharding.tile_assignment``."""
    if len(devices) == 1:
        return _sharding(devices[0])
    hlo = _xla_client.HloSharding.from_string(_hlo_sharding_text(tiles, order, replicas))
    return _xc.GSPMDSharding(DeviceList(tuple(devices)), hlo)


def tiles_of(op_sharding, ndim: int, num_devices: int):
    """``(tiles, order, replicas)`` of an XLA ``OpSharding`` (what a compiled program says
    a parameter or output is), or None when it is not a plain tiling (manual, maximal)."""
    hlo = _xla_client.HloSharding.from_proto(op_sharding)
    if hlo.is_replicated():
        return (1,) * ndim, tuple(range(num_devices)), num_devices
    if not hlo.is_tiled() or hlo.is_manual():
        return None
    dims = list(hlo.tile_assignment_dimensions())
    devs = tuple(int(d) for d in hlo.tile_assignment_devices())
    reps = 1
    if hlo.replicate_on_last_tile_dim():
        reps = dims.pop()
    elif len(dims) > ndim:
        if hlo.subgroup_types() and any(t != _xla_client.OpSharding.Type.REPLICATED
                                         for t in hlo.subgroup_types()):
            return None
        reps = 1
        for d in dims[ndim:]:
            reps *= d
        dims = dims[:ndim]
    return tuple(dims), devs, reps


def put_shards(shape, dtype, sharding, pieces, devices, weak_type: bool = False):
    """One sharded buffer of a global ``shape``/``dtype``: ``pieces[i]`` (host arrays)
    copied to ``devices[i]``; ``sharding`` is a ``buffer_sharding``."""
    aval = _jax_aval(tuple(shape), np.dtype(dtype), weak_type)
    return _xc.batched_device_put(aval, sharding, list(pieces), list(devices), True, False,
                                  enable_x64=True)


def assemble(shape, dtype, weak_type, sharding, buffers):
    """One sharded buffer from single-device buffers, one per device of this process in
    the order of the sharding's devices.  The binding's own consistency checks are
    skipped: they ask JAX's backend registry how many processes there are, which
    xform's multi-process client (``distributed_start``) is not registered with; the
    callers check shapes and devices themselves."""
    return _xc.ArrayImpl(_jax_aval(tuple(shape), np.dtype(dtype), weak_type), sharding,
                         list(buffers), True, True)


def device_buffers(buf) -> list:
    """The single-device buffers of a (possibly sharded) buffer, in device order."""
    return list(buf._arrays)


def sharded_result_handler(shape, dtype, weak_type, sharding):
    aval = _jax_aval(shape, dtype, weak_type)
    try:
        return _xc.array_result_handler(aval, sharding, True, True)
    except TypeError:
        return _xc.array_result_handler(aval, sharding, True)


# XLA options sent with CPU compiles, chosen per program (lowering.compile.program_kind).
#
# "straight-line" programs (long, no control flow, small arrays) get XLA's classic CPU
# emitter.  XLA's MLIR-based fusion emitters (its default) make faster kernels for loops
# and large arrays but cost more to compile per kernel: an unrolled 100-layer gradient on
# f32[8]s (108 small kernels) took about 10 s of compile CPU time against 6 s with the
# classic emitter, whose kernels also ran that program faster (0.195 against 0.243 ms).
# ``config.update("xform_cpu_fusion_emitters", True / False)`` forces one choice for every
# program; ``None`` (the default) is the rule.
#
# "small-loops" programs (every loop body on small arrays) get a high
# ``xla_cpu_small_while_loop_byte_threshold``: XLA then compiles each whole loop into one
# kernel instead of running one kernel per operation at every step.  The 10,000-step RK4
# gradient: 35 kernel launches per step become none, 94 -> 54 ms a call, and XLA compiles
# it in 363 ms instead of 530.  XLA's default (1 kB) does this for loops on a few scalars
# only.  ``config.update("xform_cpu_loop_kernels", True / False)`` forces it on or off for
# every program with loops; ``None`` is the rule.
#
# "small-dots" programs (every matrix product small) compile without XLA's YNN library
# for matrix products (``xla_cpu_experimental_ynn_fusion_type`` empty): YNN prepares each
# product at the program's first run, ~0.4 ms apiece, which was most of a warm start
# (lowering.compile._small_dots).  ``config.update("xform_cpu_ynn_dots", True / False)``
# forces it on or off for every program; ``None`` is the rule.
CPU_FUSION_EMITTERS = None     # True / False force XLA's fusion emitters on / off; None: the rule
CPU_LOOP_KERNELS = None        # True / False force one kernel per loop on / off; None: the rule
CPU_YNN_DOTS = None            # True / False force XLA's YNN matrix products on / off; None: the rule
LOOP_KERNEL_BYTES = 1 << 40     # the threshold sent for "small-loops" programs
CPU_XLA_OPTIONS: dict = {}      # further options for every CPU compile
_unknown_options: set = set()   # names this jaxlib's XLA rejected; never sent again


def _compile_options(platform: str, kind=None):
    opts = CompileOptions()
    if platform != "cpu":
        return opts
    wanted = dict(CPU_XLA_OPTIONS)
    kinds = set(kind.split("+")) if kind else set()
    emitters = CPU_FUSION_EMITTERS
    if emitters is None:
        emitters = "straight-line" not in kinds
    if not emitters:
        wanted["xla_cpu_use_fusion_emitters"] = False
    ynn = CPU_YNN_DOTS
    if ynn is None:
        ynn = "small-dots" not in kinds
    if not ynn:
        wanted["xla_cpu_experimental_ynn_fusion_type"] = ""
    overrides = [(k, v) for k, v in wanted.items() if k not in _unknown_options]
    if overrides:
        opts.env_option_overrides = overrides
    loop_kernels = CPU_LOOP_KERNELS
    if loop_kernels is None:
        loop_kernels = "small-loops" in kinds
    if loop_kernels:
        opts = _with_backend_option(opts, "xla_cpu_small_while_loop_byte_threshold",
                                    str(LOOP_KERNEL_BYTES))
    return opts


# ``xla_backend_extra_options`` (a string map in XLA's DebugOptions) has no setter in the
# Python binding and env_option_overrides cannot set a map, so the entry is appended to
# the serialized CompileOptionsProto: concatenated protobuf messages merge, and a map
# field gains the entry.  Field numbers: CompileOptionsProto.executable_build_options = 3,
# ExecutableBuildOptionsProto.debug_options = 3, DebugOptions.xla_backend_extra_options
# = 500 (checked against the bytes XLA_FLAGS=--xla_backend_extra_options=k=v produces).

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | 0x80 if n else low)
        if not n:
            return bytes(out)


def _proto_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _with_backend_option(opts, key: str, value: str):
    """``opts`` with ``key=value`` in XLA's backend extra options; ``opts`` itself if this
    jaxlib cannot round-trip its CompileOptions (the option is a speed-up, not a need)."""
    entry = _proto_field(1, key.encode()) + _proto_field(2, value.encode())
    extra = _proto_field(3, _proto_field(3, _proto_field(500, entry)))
    try:
        return CompileOptions.ParseFromString(opts.SerializeAsString() + extra)
    except Exception:   # noqa: BLE001 - older/newer bindings: keep XLA's default
        return opts


_mlir_context = None


def _parsed(text: str):
    """``text`` as an MLIR module object: the binding takes host callbacks only with one."""
    global _mlir_context
    from jax.extend.mlir import ir
    from jax.extend.mlir.dialects import chlo, sdy, stablehlo
    import jaxlib.mlir._mlir_libs._jax_mlir_ext as mlir_ext   # upstream dialects (func)
    if _mlir_context is None:
        ctx = ir.Context()
        registry = ir.DialectRegistry()
        mlir_ext.register_dialects(registry)
        ctx.append_dialect_registry(registry)
        ctx.load_all_available_dialects()
        for dialect in (stablehlo, chlo, sdy):
            dialect.register_dialect(ctx)
        _mlir_context = ctx
    with _mlir_context:
        return ir.Module.parse(text)


def compile_module(text: str, device, compile_options=None, kind=None, devices=None,
                   free_params=(), free_outputs=(), host_callbacks=()):
    """Compile StableHLO module text for one device, or, given ``devices`` (a program
    with ``mhlo.num_partitions = len(devices)``), for all of them: XLA's SPMD
    partitioner (Shardy) splits it by its ``sdy`` sharding annotations, and logical
    device i runs on ``devices[i]``.  ``kind`` is what ``lowering.compile.program_kind``
    says of the program (it picks XLA options).  ``free_params`` / ``free_outputs``:
    per parameter / output, whether the partitioner may choose its layout (it has no
    ``sdy.sharding`` annotation).  ``host_callbacks``: the Python functions the module's
    host-callback custom calls name by index."""
    if devices is None or len(devices) == 1:
        devices = (device,) if devices is None else tuple(devices)
        partitions = 1
    else:
        devices = tuple(devices)
        partitions = len(devices)
    dlist = DeviceList(devices)
    client = devices[0].client
    if host_callbacks:
        module = _parsed(text)

        def compile_and_load(_, dl, opts):
            with _mlir_context:
                return client.compile_and_load(module, dl, opts, list(host_callbacks))
    else:
        compile_and_load = client.compile_and_load
    if compile_options is not None:
        return compile_and_load(text, dlist, compile_options)
    platform = devices[0].platform
    while True:
        opts = _compile_options(platform, kind)
        if partitions > 1:
            _partition(opts, devices, free_params, free_outputs)
        elif devices[0] != devices[0].client.local_devices()[0]:   # say which device
            opts.device_assignment = _xc.DeviceAssignment.create(
                np.array([[devices[0].id]], dtype=np.int32))
        try:
            if host_callbacks:   # they name this process's Python functions: not cached
                return compile_and_load(text, dlist, opts)
            return _compile_cached(client, compile_and_load, text, dlist, opts, devices)
        except JaxRuntimeError as e:   # an XLA without one of our options: drop it, retry
            unknown = [k for k, _ in opts.env_option_overrides
                       if f"No such compile option: '{k}'" in str(e)]
            if not unknown:
                raise
            _unknown_options.update(unknown)


def version() -> str:
    """The binding's version (part of every persistent cache key)."""
    import jaxlib
    return getattr(jaxlib, "__version__", "")


def _compile_cached(client, compile_and_load, text, dlist, opts, devices):
    """``compile_and_load``, through the persistent compilation cache (lowering/disk_cache.py):
    keyed by the module text, the serialized compile options, the devices' platform, kind
    and ids, and the jaxlib version.  A program that compiles faster than
    ``MIN_COMPILE_SECS`` is not stored (loading it would save little)."""
    if not disk_cache.ENABLED:
        return compile_and_load(text, dlist, opts)
    k = disk_cache.key("xla", text, opts.SerializeAsString(), devices[0].platform,
                       devices[0].device_kind, [d.id for d in devices], version())
    blob = disk_cache.get("compile", k)
    if blob is not None:
        try:
            return client.deserialize_executable(blob, dlist, opts)
        except Exception:   # noqa: BLE001 - another build's bytes: compile afresh
            disk_cache.discard("compile", k)
    start = time.perf_counter()
    exe = compile_and_load(text, dlist, opts)
    if time.perf_counter() - start >= disk_cache.MIN_COMPILE_SECS:
        try:
            disk_cache.put("compile", k, client.serialize_executable(exe))
        except JaxRuntimeError:   # a backend that cannot serialize executables
            pass
    return exe


def _partition(opts, devices, free_params, free_outputs) -> None:
    """Compile options for an SPMD program over ``devices``: one replica, a partition
    per device, Shardy as the partitioner; parameters and outputs without a sharding
    annotation get whatever layout the partitioner propagates to them (the caller reads
    it back with ``parameter_tiles`` / ``output_tiles``)."""
    n = len(devices)
    opts.num_replicas = 1
    opts.num_partitions = n
    build = opts.executable_build_options
    build.num_replicas = 1
    build.num_partitions = n
    build.use_spmd_partitioning = True
    build.use_shardy_partitioner = True
    build.allow_spmd_sharding_propagation_to_parameters = list(free_params) or [False]
    build.allow_spmd_sharding_propagation_to_output = list(free_outputs) or [False]
    ids = np.array([[d.id for d in devices]], dtype=np.int32)
    opts.device_assignment = _xc.DeviceAssignment.create(ids)


def parameter_tiles(exe, ndims, num_devices):
    """Per parameter, its ``tiles_of`` layout in compiled program ``exe``."""
    shardings = exe.get_parameter_shardings()
    if not shardings:   # a one-device program: nothing to say
        return [None] * len(ndims)
    return [tiles_of(s, nd, num_devices) for s, nd in zip(shardings, ndims)]


def output_tiles(exe, ndims, num_devices):
    shardings = exe.get_output_shardings()
    if not shardings:
        return [None] * len(ndims)
    return [tiles_of(s, nd, num_devices) for s, nd in zip(shardings, ndims)]


def pytree_registry(module: str, name: str):
    """A new C++ pytree registry of jaxlib's (None, tuple, namedtuple, list and dict
    built in; nothing of JAX's registered), named ``module.name`` so that treedefs made
    with it pickle by reference to it."""
    reg = _xc.pytree.PyTreeRegistry(enable_none=True, enable_tuple=True,
                                    enable_namedtuple=True, enable_list=True, enable_dict=True)
    reg.__module__, reg.__name__ = module, name
    return reg


pytree = _xc.pytree   # PyTreeDef, key entries, treedef_tuple, all_leaves (C++)


def is_buffer(x) -> bool:
    return type(x) is ArrayImpl


def buffer_device(buf):
    return next(iter(buf.devices()))


def from_dlpack(capsule_or_obj, device=None):
    """Import a DLPack tensor as a buffer."""
    dev = device or default_device()
    obj = capsule_or_obj
    if hasattr(obj, "__dlpack__"):
        obj = obj.__dlpack__()
    buf = _xc.dlpack_managed_tensor_to_buffer(obj, dev, None)
    return buf


@functools.lru_cache(maxsize=64)
def platform_name(device) -> str:
    """'cpu', 'cuda', 'rocm' or 'tpu' for a device (PJRT calls CUDA and ROCm both 'gpu')."""
    p = device.platform
    if p == "gpu":
        return "rocm" if "rocm" in device.client.platform_version.lower() else "cuda"
    return p


@functools.lru_cache(maxsize=None)
def ensure_linalg_targets(platform: str) -> None:
    """Make jaxlib's LAPACK (CPU) / cuSOLVER (GPU) custom-call targets callable.

    Importing JAX's linalg module registers them with XLA (it is already imported
    by ``jax.extend.backend`` in jaxlib 0.10 and 0.11; the import makes sure), and
    the CPU kernels need LAPACK's function pointers loaded once.
    """
    import jax._src.lax.linalg  # noqa: F401  registration is an import side effect
    if platform == "cpu":
        from jax._src.lib import lapack
        lapack._lapack.initialize()


# --- multi-process runtime (PJRT's distributed runtime) -----------------------------------
# ``xform.distributed.initialize`` lands here.  Process 0 runs the coordination service;
# every process connects a client to it, and builds its CPU client on that connection:
# the client exchanges device topologies through it (every process then sees all
# processes' devices, ``client.devices()``, and addresses its own, ``local_devices()``),
# and gloo, over TCP, carries the cross-process collectives of compiled programs.  Once
# this has run, ``client("cpu")`` returns that client.  Every wait is bounded: the
# connection by ``init_timeout``, the topology exchange by the same (in minutes), the
# shutdown barrier by ``shutdown_timeout``; a dead peer is noticed within
# ``heartbeat_timeout``.  Shutdown is registered with atexit.

class _DistributedRuntime:
    def __init__(self, process_id, num_processes, service, dist_client, cpu_client):
        self.process_id, self.num_processes = process_id, num_processes
        self.service, self.dist_client, self.cpu_client = service, dist_client, cpu_client


_distributed: _DistributedRuntime | None = None
_atexit_registered = False


def backend_started() -> bool:
    """Whether xform has made a PJRT client (devices were asked for, or something ran)."""
    return client.cache_info().currsize > 0


def distributed_info():
    """``(process_id, num_processes)`` when the distributed runtime is up, else None."""
    d = _distributed
    return None if d is None else (d.process_id, d.num_processes)


def distributed_start(coordinator_address: str, num_processes: int, process_id: int, *,
                      bind_address: str, init_timeout: int, heartbeat_timeout: int,
                      shutdown_timeout: int, num_cpu_devices: int | None = None,
                      gloo_hostname: str | None = None, gloo_interface: str | None = None):
    """Start the coordination service (process 0), connect this process, and make the
    distributed CPU client.  Undoes what it did if any step fails."""
    global _distributed, _atexit_registered
    import atexit
    import math
    first = (_platform or "cpu").split(",")[0].strip()
    if first != "cpu":
        raise NotImplementedError(
            f"xform.distributed runs on the CPU platform only for now (the platform "
            f"chosen is {first!r}); set XFORM_PLATFORMS=cpu")
    service = dist_client = None
    try:
        if process_id == 0:
            service = _xc.get_distributed_runtime_service(
                bind_address, num_processes, heartbeat_timeout=heartbeat_timeout,
                cluster_register_timeout=init_timeout, shutdown_timeout=shutdown_timeout)
        dist_client = _xc.get_distributed_runtime_client(
            coordinator_address, process_id, init_timeout=init_timeout,
            heartbeat_timeout=heartbeat_timeout, shutdown_timeout=shutdown_timeout,
            use_compression=True)
        dist_client.connect()
        collectives = _xc.make_gloo_tcp_collectives(
            distributed_client=dist_client, hostname=gloo_hostname, interface=gloo_interface)
        minutes = max(1, math.ceil(init_timeout / 60))
        cpu_client = _xc.get_tfrt_cpu_client(
            asynchronous=True, distributed_client=dist_client, node_id=process_id,
            num_nodes=num_processes, collectives=collectives, num_devices=num_cpu_devices,
            get_local_topology_timeout_minutes=minutes,
            get_global_topology_timeout_minutes=minutes)
    except BaseException:
        _shutdown_quietly(dist_client, service)
        raise
    _distributed = _DistributedRuntime(process_id, num_processes, service, dist_client,
                                       cpu_client)
    if not _atexit_registered:
        atexit.register(distributed_stop)
        _atexit_registered = True


def distributed_stop() -> None:
    """Disconnect this process (waits, bounded, at the shutdown barrier for the others),
    then stop the service in process 0.  The CPU client stays (arrays may still hold it),
    as JAX's does; it can no longer talk to the other processes."""
    global _distributed
    d, _distributed = _distributed, None
    if d is not None:
        d.dist_client, d.service = _shutdown_quietly(d.dist_client, d.service, raise_=True)


def _shutdown_quietly(dist_client, service, raise_=False):
    error = None
    for part in (dist_client, service):   # the client first: the service waits for it
        if part is not None:
            try:
                part.shutdown()
            except Exception as e:   # noqa: BLE001 - stop the service even so
                error = error or e
    if error is not None and raise_:
        raise error
    return None, None



# --- portable artifacts (xform.export) ---------------------------------------------------

def stablehlo_versions() -> tuple[str, str, str]:
    """``(minimum, current, exported)``: the StableHLO versions this jaxlib reads (from
    minimum to current) and the one ``portable_artifact`` writes: the oldest that keeps a
    12-week compatibility window, so a program exported today loads in a binding up to
    about three months older (as JAX's default)."""
    from jax.extend.mlir.dialects import stablehlo
    minimum, current = stablehlo.get_minimum_version(), stablehlo.get_current_version()
    try:
        target = stablehlo.get_version_from_compatibility_requirement(
            stablehlo.StablehloCompatibilityRequirement.WEEK_12)
    except AttributeError:   # an older binding
        target = current
    return minimum, current, target


def portable_artifact(text: str, target_version: str) -> bytes:
    """The module ``text`` as a StableHLO portable artifact (versioned VHLO bytecode)."""
    from jax.extend.mlir.dialects import stablehlo
    module = _parsed(text)
    with _mlir_context:
        return stablehlo.serialize_portable_artifact(module, target_version)


def module_from_artifact(payload: bytes) -> str:
    """The text of a module serialized by ``portable_artifact`` (ValueError if it is not
    one this binding can read)."""
    from jax.extend.mlir.dialects import stablehlo
    _parsed("module {}")      # the context, with every dialect registered
    with _mlir_context:
        try:
            module = stablehlo.deserialize_portable_artifact(_mlir_context, payload)
        except Exception as e:   # noqa: BLE001 - the binding's error types vary
            raise ValueError(f"not a StableHLO portable artifact this jaxlib can read "
                             f"({e})") from None
        return module.operation.get_asm(enable_debug_info=False)


def refine_shapes(text: str) -> str:
    """``text`` with every dynamic (``?``) dimension made static: StableHLO's shape
    refinement propagates the static shapes of ``main``'s arguments through the functions
    it calls (inlining them), folding ``get_dimension_size`` and the ``dynamic_*`` ops
    into their static forms.  ValueError when a shape stays dynamic or a check fails."""
    from jax.extend.mlir import ir
    from jax._src.lib import _jax
    try:
        refined = _jax.mlir.refine_polymorphic_shapes(text.encode(), True, True)
    except Exception as e:   # noqa: BLE001 - the binding raises its own error types
        raise ValueError(f"the program's symbolic shapes cannot be refined: {e}") from None
    _parsed("module {}")
    with _mlir_context:
        return ir.Module.parse(refined).operation.get_asm(enable_debug_info=False)


def linkable_functions(text: str, prefix: str) -> tuple[list, str]:
    """The functions of module ``text`` renamed with ``prefix`` and made private, as text
    that can sit in another module, and the new name of its ``main``.  Argument and result
    attributes of ``main`` that describe a whole program (donation, shardings) go."""
    from jax.extend.mlir import ir
    module = _parsed(text)
    with _mlir_context:
        body = module.body
        names = [ir.StringAttr(op.attributes["sym_name"]).value for op in body.operations
                 if "sym_name" in op.attributes]
        for old in names:
            new = prefix + old
            ir.SymbolTable.replace_all_symbol_uses(old, new, module.operation)
            for op in body.operations:
                if "sym_name" in op.attributes and \
                        ir.StringAttr(op.attributes["sym_name"]).value == old:
                    op.attributes["sym_name"] = ir.StringAttr.get(new)
        funcs = []
        for op in body.operations:
            if op.operation.name != "func.func":
                raise ValueError(f"an exported module holds {op.operation.name}, which "
                                 f"cannot be linked into another program")
            op.attributes["sym_visibility"] = ir.StringAttr.get("private")
            for attr in ("arg_attrs", "res_attrs"):
                if attr in op.attributes:
                    del op.attributes[attr]
            funcs.append(op.operation.get_asm(enable_debug_info=False))
        return funcs, "@" + prefix + "main"
