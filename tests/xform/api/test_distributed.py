"""xform.distributed: a multi-process run on one machine (2 processes x 2 CPU devices).

Each worker is a fresh ``python`` process (the distributed runtime must start before
xform makes its backend, and an exiting process waits at the shutdown barrier for the
others), started with a bounded timeout and killed if anything goes wrong.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import xform

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
TIMEOUT = 120   # seconds for a whole run of workers

PRELUDE = """
import json, os, sys
import numpy as np
import xform
import xform.numpy as xnp
pid, nproc, addr = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
xform.distributed.initialize(addr, nproc, pid, initialization_timeout=60,
                             heartbeat_timeout_seconds=30, shutdown_timeout_seconds=60,
                             num_cpu_devices=2)
out = {}
"""

EPILOGUE = """
xform.distributed.shutdown()
out["initialized_after_shutdown"] = xform.distributed.is_initialized()
print("RESULT " + json.dumps(out), flush=True)
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_processes(body: str, nproc: int = 2) -> list[dict]:
    """Run PRELUDE + ``body`` + EPILOGUE in ``nproc`` processes joined by
    xform.distributed; returns each process's ``out`` dict, in process order."""
    source = PRELUDE + textwrap.dedent(body) + EPILOGUE
    addr = f"127.0.0.1:{_free_port()}"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(XFORM_PLATFORMS="cpu", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""))
    env.pop("XLA_FLAGS", None)
    procs = []
    try:
        for pid in range(nproc):
            procs.append(subprocess.Popen(
                [sys.executable, "-c", source, str(pid), str(nproc), addr], cwd=ROOT,
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        outputs = []
        for pid, p in enumerate(procs):
            try:
                stdout, stderr = p.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"process {pid} of {nproc} did not finish in {TIMEOUT} s")
            if p.returncode != 0:
                pytest.fail(f"process {pid} exited with {p.returncode}:\n{stderr[-4000:]}")
            lines = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")]
            assert lines, f"process {pid} printed no result:\n{stdout}\n{stderr[-4000:]}"
            outputs.append(json.loads(lines[-1][len("RESULT "):]))
        return outputs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()


def test_two_processes_see_all_devices_and_compute():
    outs = run_processes("""
        out["initialized"] = xform.distributed.is_initialized()
        try:
            xform.distributed.initialize(addr, nproc, pid)
        except RuntimeError as e:
            out["twice"] = str(e)
        out["process_index"] = xform.process_index()
        out["process_count"] = xform.process_count()
        out["devices"] = [(d.id, d.process_index) for d in xform.devices()]
        out["local"] = [(d.id, d.process_index) for d in xform.local_devices()]
        out["local_of_other"] = [d.id for d in xform.local_devices(process_index=1 - pid)]
        out["device_count"] = xform.device_count()
        out["local_device_count"] = xform.local_device_count()
        out["backend"] = xform.default_backend()
        # single-device computations on this process's devices: eager and jit
        out["sum"] = int(xnp.arange(4).sum())
        f = xform.jit(lambda x: (x * 2.0 + pid).sum())
        out["jit"] = float(f(xnp.arange(3.0)))
        x1 = xform.device_put(xnp.ones(3), xform.local_devices()[1])
        out["on_second"] = [np.asarray(x1).tolist(), next(iter(x1.devices())).id]
        from jax._src import xla_bridge   # xform never made a backend of JAX's own
        out["jax_backend_made"] = xla_bridge.backends_are_initialized()
    """)
    assert len(outs) == 2
    all_devices = outs[0]["devices"]
    assert len(all_devices) == 4 and outs[1]["devices"] == all_devices
    assert sorted(p for _, p in all_devices) == [0, 0, 1, 1]
    for pid, out in enumerate(outs):
        assert out["initialized"] is True
        assert "only be called once" in out["twice"]
        assert out["process_index"] == pid
        assert out["process_count"] == 2
        assert len(out["local"]) == 2 and all(p == pid for _, p in out["local"])
        assert set(map(tuple, out["local"])) <= set(map(tuple, all_devices))
        assert out["local_of_other"] == [i for i, p in all_devices if p == 1 - pid]
        assert out["device_count"] == 4 and out["local_device_count"] == 2
        assert out["backend"] == "cpu"
        assert out["sum"] == 6
        assert out["jit"] == 6.0 + 3 * pid
        assert out["on_second"] == [[1.0, 1.0, 1.0], out["local"][1][0]]
        assert out["jax_backend_made"] is False
        assert out["initialized_after_shutdown"] is False


def test_cross_process_all_reduce_at_the_binding_level():
    """An XLA all-reduce over the 4 devices of both processes (one replica per device):
    gloo carries it between the processes."""
    outs = run_processes("""
        import jaxlib._jax as xc   # tests may use the binding directly
        from lowering import _jaxlib
        text = '''
        module @allreduce attributes {mhlo.num_replicas = 4 : i32, mhlo.num_partitions = 1 : i32} {
          func.func public @main(%arg0: tensor<3xf32>) -> tensor<3xf32> {
            %0 = "stablehlo.all_reduce"(%arg0) <{channel_handle = #stablehlo.channel_handle<handle = 1, type = 1>,
                replica_groups = dense<[[0, 1, 2, 3]]> : tensor<1x4xi64>}> ({
            ^bb0(%a: tensor<f32>, %b: tensor<f32>):
              %s = stablehlo.add %a, %b : tensor<f32>
              stablehlo.return %s : tensor<f32>
            }) : (tensor<3xf32>) -> tensor<3xf32>
            return %0 : tensor<3xf32>
          }
        }
        '''
        devs = xform.devices()
        opts = _jaxlib.CompileOptions()
        opts.num_replicas = 4
        opts.num_partitions = 1
        opts.device_assignment = xc.DeviceAssignment.create(
            np.array([[d.id] for d in devs], dtype=np.int32))
        exe = _jaxlib.compile_module(text, None, compile_options=opts, devices=devs)
        local = xform.local_devices()
        ins = [_jaxlib.buffer_from_numpy(
                   np.arange(3, dtype=np.float32) + 10 * devs.index(d), device=d)
               for d in local]
        # one argument, held per device (each replica has its own values).  Built with
        # the binding's checks skipped: JAX's Python checks ask JAX's own backend how
        # many processes there are, and it knows nothing of xform's distributed client.
        arg = xc.ArrayImpl(_jaxlib._jax_aval((3,), np.dtype(np.float32), False),
                           _jaxlib.buffer_sharding(tuple(devs), (1,), (0, 1, 2, 3), 4),
                           ins, True, True)
        res = exe.execute_sharded([arg]).disassemble_into_single_device_arrays()
        out["allreduce"] = [np.asarray(b).tolist() for b in res[0]]
    """)
    want = [float(4 * i + 10 * (0 + 1 + 2 + 3)) for i in range(3)]   # sum over 4 devices
    for out in outs:
        assert out["allreduce"] == [want, want]


SHARDED = """
from xform.sharding import NamedSharding, P
mesh = xform.make_mesh((4,), ("d",))            # both processes' devices
A = np.arange(48, dtype=np.float32).reshape(8, 6) / 10
rows = NamedSharding(mesh, P("d"))
x = xform.make_array_from_process_local_data(rows, A[4 * pid:4 * pid + 4])
out["x_fully_addressable"] = x.is_fully_addressable
out["x_local"] = sorted((sh.device.id, sh.index[0].start) for sh in x.addressable_shards)
"""


def test_sharded_jit_across_two_processes_equals_one_process():
    """A sharded jit over 4 devices of 2 processes (gloo between them) gives what the
    same program gives on one device."""
    outs = run_processes(SHARDED + textwrap.dedent("""
    f = xform.jit(lambda a: (xnp.tanh(a) @ a.T, (a * a).sum(0)),
                  out_shardings=(NamedSharding(mesh, P("d", None)), NamedSharding(mesh, P())))
    m, s = f(x)
    out["m_local"] = {str(sh.index[0].start): np.asarray(sh.data).tolist()
                      for sh in m.addressable_shards}
    out["s"] = np.asarray(s).tolist()          # replicated: every process can read it
    try:
        np.asarray(m)
        out["m_error"] = None
    except RuntimeError as e:
        out["m_error"] = str(e)
    """))
    A = np.arange(48, dtype=np.float32).reshape(8, 6) / 10
    m_want = np.asarray(xform.jit(lambda a: xform.numpy.tanh(a) @ a.T)(A))
    s_want = (A * A).sum(0)
    for pid, out in enumerate(outs):
        assert out["x_fully_addressable"] is False
        assert [start for _, start in out["x_local"]] == [4 * pid, 4 * pid + 2]
        np.testing.assert_allclose(out["s"], s_want, rtol=1e-6)
        for start, rows in out["m_local"].items():
            k = int(start)
            np.testing.assert_allclose(rows, m_want[k:k + 2], rtol=1e-6)
        assert "several processes" in out["m_error"]


def test_shard_map_psum_across_two_processes_equals_one_process():
    """shard_map over the 4 devices of 2 processes: a psum (gloo all-reduce between the
    processes), an all_gather and an axis_index give what one process computes."""
    outs = run_processes(SHARDED + textwrap.dedent("""
    def body(a):
        total = xform.lax.psum(a, "d")                       # every device: the sum of all
        return total, xform.lax.all_gather(a.sum(0), "d"), \
            (xform.lax.axis_index("d") * xnp.ones(1)).astype(np.float32)
    f = xform.shard_map(body, mesh=mesh, in_specs=P("d"), out_specs=(P(), P(), P("d")),
                        check_vma=False)     # all_gather's result is equal everywhere
    total, gathered, idx = f(x)
    out["total"] = np.asarray(total).tolist()
    out["gathered"] = np.asarray(gathered).tolist()
    out["idx"] = {str(sh.index[0].start): np.asarray(sh.data).tolist()
                  for sh in idx.addressable_shards}
    """))
    A = np.arange(48, dtype=np.float32).reshape(8, 6) / 10
    pieces = A.reshape(4, 2, 6)
    for pid, out in enumerate(outs):
        np.testing.assert_allclose(out["total"], pieces.sum(0), rtol=1e-6)
        np.testing.assert_allclose(out["gathered"], pieces.sum(1), rtol=1e-6)
        assert out["idx"] == {str(2 * pid): [2.0 * pid], str(2 * pid + 1): [2.0 * pid + 1]}


def test_initialize_after_the_backend_exists_is_an_error():
    xform.devices()   # this process's backend now exists
    with pytest.raises(RuntimeError, match="before any xform computations"):
        xform.distributed.initialize("127.0.0.1:1", num_processes=1, process_id=0)
    assert not xform.distributed.is_initialized()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(num_processes=2, process_id=0), ValueError, "coordinator_address must be given"),
    (dict(coordinator_address="127.0.0.1:1", process_id=0), ValueError,
     "num_processes must be given"),
    (dict(coordinator_address="127.0.0.1:1", num_processes=2), ValueError,
     "process_id must be given"),
    (dict(coordinator_address="127.0.0.1", num_processes=2, process_id=0), ValueError,
     "host:port"),
    (dict(coordinator_address="127.0.0.1:1", num_processes=2, process_id=2), ValueError,
     "process_id must be < num_processes"),
    (dict(coordinator_address="127.0.0.1:1", num_processes=0, process_id=0), ValueError,
     "num_processes must be >= 1"),
    (dict(coordinator_address="127.0.0.1:1", num_processes=2, process_id="0"), TypeError,
     "process_id must be an int"),
    (dict(coordinator_address="127.0.0.1:1", num_processes=2, process_id=0,
          initialization_timeout=0), ValueError, "initialization_timeout must be >= 1"),
    (dict(coordinator_address="127.0.0.1:1", num_processes=2, process_id=0,
          cluster_detection_method="slurm"), NotImplementedError, "does not detect"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        xform.distributed.initialize(**kwargs)
    assert not xform.distributed.is_initialized()


def test_shutdown_without_initialize_does_nothing():
    xform.distributed.shutdown()
    assert not xform.distributed.is_initialized()
