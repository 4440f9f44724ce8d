"""Multi-process runs: ``xform.distributed.initialize`` (JAX's ``jax.distributed``).

Each process of a job calls ``initialize`` first, with the same coordinator address and
process count and its own ``process_id``::

    xform.distributed.initialize("10.0.0.1:1234", num_processes=2, process_id=0)  # host A
    xform.distributed.initialize("10.0.0.1:1234", num_processes=2, process_id=1)  # host B

Then ``xform.devices()`` lists every process's devices and ``xform.local_devices()`` this
process's; ``xform.process_index()`` / ``xform.process_count()`` say who is who.  Process 0
runs PJRT's coordination service at ``coordinator_address``; compiled programs over
devices of several processes exchange data with gloo over TCP.  Only the CPU platform is
supported for now.  The runtime is PJRT's (``lowering._jaxlib``); nothing of JAX's
``jax.distributed`` is used.
"""
from __future__ import annotations

from collections.abc import Sequence

from lowering import _jaxlib

__all__ = ["initialize", "is_initialized", "shutdown"]


def initialize(coordinator_address: str | None = None,
               num_processes: int | None = None,
               process_id: int | None = None,
               local_device_ids: int | Sequence[int] | None = None,
               *,
               cluster_detection_method: str | None = None,
               initialization_timeout: int = 300,
               heartbeat_timeout_seconds: int = 100,
               shutdown_timeout_seconds: int = 300,
               coordinator_bind_address: str | None = None,
               num_cpu_devices: int | None = None) -> None:
    """Join this process to a multi-process run.  Call it once, before anything else
    that touches devices (``devices()``, ``device_put``, any computation).

    Args:
      coordinator_address: ``"host:port"`` of process 0, where it starts the
        coordination service; every process passes the same one.
      num_processes: how many processes take part.
      process_id: this process's index, ``0 <= process_id < num_processes``.
      local_device_ids: JAX uses it to restrict the GPUs a process sees; on the CPU, the
        only platform supported here, it has no effect (as in JAX).
      cluster_detection_method: JAX infers missing arguments from TPU / SLURM / MPI
        environments; xform does not (yet): ``None`` or ``"deactivate"`` only, and
        ``coordinator_address``, ``num_processes`` and ``process_id`` must be given.
      initialization_timeout: seconds to wait for all processes to connect and to
        exchange their devices.
      heartbeat_timeout_seconds: a process silent this long is taken for dead.
      shutdown_timeout_seconds: how long ``shutdown`` (and exit) waits for the others.
      coordinator_bind_address: where process 0's service listens; default all
        addresses (``[::]``) on the port of ``coordinator_address``.
      num_cpu_devices: CPU devices in this process (default: XLA_FLAGS'
        ``--xla_force_host_platform_device_count``, else 1).

    Raises:
      RuntimeError: called twice, or after xform already made its backend.
      ValueError / TypeError: an argument missing or wrong.
    """
    if cluster_detection_method not in (None, "deactivate"):
        raise NotImplementedError(
            f"cluster_detection_method={cluster_detection_method!r}: xform does not detect "
            f"cluster environments; pass coordinator_address, num_processes and process_id")
    for name, value in (("coordinator_address", coordinator_address),
                        ("num_processes", num_processes), ("process_id", process_id)):
        if value is None:
            raise ValueError(
                f"xform.distributed.initialize: {name} must be given (xform does not infer "
                f"it from a cluster environment as JAX does on TPU / SLURM)")
    if not isinstance(coordinator_address, str) or not _has_port(coordinator_address):
        raise ValueError(f"coordinator_address must be a 'host:port' string; got "
                         f"{coordinator_address!r}")
    _check_int("num_processes", num_processes, 1)
    _check_int("process_id", process_id, 0)
    if process_id >= num_processes:
        raise ValueError(f"process_id must be < num_processes; got process_id={process_id}, "
                         f"num_processes={num_processes}")
    if isinstance(local_device_ids, int):
        local_device_ids = [local_device_ids]
    if local_device_ids is not None:
        for i in local_device_ids:
            _check_int("each of local_device_ids", i, 0)
    for name, value in (("initialization_timeout", initialization_timeout),
                        ("heartbeat_timeout_seconds", heartbeat_timeout_seconds),
                        ("shutdown_timeout_seconds", shutdown_timeout_seconds)):
        _check_int(name, value, 1)
    if num_cpu_devices is not None:
        _check_int("num_cpu_devices", num_cpu_devices, 1)
    if _jaxlib.distributed_info() is not None:
        raise RuntimeError("xform.distributed.initialize should only be called once "
                           "(call xform.distributed.shutdown() first to leave the run)")
    if _jaxlib.backend_started():
        raise RuntimeError(
            "xform.distributed.initialize() must be called before any xform computations "
            "are executed: xform has already created its backend (something ran, or asked "
            "for devices: xform.devices(), device_put, an array was made). Call it first "
            "thing in the program.")
    if coordinator_bind_address is None:
        coordinator_bind_address = "[::]:" + coordinator_address.rsplit(":", 1)[1]
    _jaxlib.distributed_start(
        coordinator_address, num_processes, process_id,
        bind_address=coordinator_bind_address, init_timeout=initialization_timeout,
        heartbeat_timeout=heartbeat_timeout_seconds, shutdown_timeout=shutdown_timeout_seconds,
        num_cpu_devices=num_cpu_devices)


def is_initialized() -> bool:
    """Whether ``initialize`` has run (and ``shutdown`` has not)."""
    return _jaxlib.distributed_info() is not None


def shutdown() -> None:
    """Leave the run: waits (at most ``shutdown_timeout_seconds``) for the other processes
    to shut down too, then stops the coordination service in process 0.  Does nothing if
    not initialized.  Runs by itself at exit."""
    _jaxlib.distributed_stop()


def _has_port(address: str) -> bool:
    host, sep, port = address.rpartition(":")
    return bool(sep and host and port.isdigit())


def _check_int(name: str, value, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int; got {value!r} of type {type(value).__name__}")
    if value < least:
        raise ValueError(f"{name} must be >= {least}; got {value}")
