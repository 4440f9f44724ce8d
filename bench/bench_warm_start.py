"""Train -> deploy -> warm start (issue 18): a second process, export, checkpoints.

* **Warm start.**  The first call of ``jit(grad(net))`` of a 100-layer tanh net (8x32
  activations), timed from the call to the result being ready, in a fresh process with an
  empty persistent cache (cold) and again in a second process that finds the first's
  entries (warm).  xform's warm process loads the traced program and the executable
  (trace cache + compilation cache); JAX's (``jax_compilation_cache_dir``, minimum
  compile time 0) traces and lowers again and loads the executable.  The value is
  xform's warm/cold ratio (target 0.03); JAX's ratio is alongside.  Each side runs in
  its own processes, several times; medians.
* **Export round trip**: ``export`` + ``serialize`` + ``deserialize`` + the first
  ``call`` of a 4-layer MLP (informational, JAX's ``jax.export`` alongside).
* **Checkpoint throughput**: ``serialization.save`` / ``restore`` of 256 MiB of float32
  leaves, in GiB/s, against ``cp`` of the same file (informational).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from .harness import Measurement, benchmark

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MARK = "BENCH_WARM_JSON "

_XFORM = """
import time, json, sys
import numpy as np
import xform, xform.numpy as jnp
Ws = [jnp.asarray(np.random.default_rng(i).normal(size=(32, 32)).astype(np.float32) * 0.1)
      for i in range(100)]
x = jnp.ones((8, 32))
x.block_until_ready()
def net(Ws, x):
    for W in Ws:
        x = jnp.tanh(x @ W)
    return jnp.sum(x)
g = xform.jit(xform.grad(net))
t = time.perf_counter()
out = g(Ws, x)
out[-1].block_until_ready()
print("MARK" + json.dumps({"first_call_s": time.perf_counter() - t, "traced": g.trace_count}))
"""

_JAX = """
import time, json, sys
import numpy as np
import jax, jax.numpy as jnp
jax.config.update("jax_compilation_cache_dir", sys.argv[1])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
Ws = [jnp.asarray(np.random.default_rng(i).normal(size=(32, 32)).astype(np.float32) * 0.1)
      for i in range(100)]
x = jnp.ones((8, 32))
x.block_until_ready()
def net(Ws, x):
    for W in Ws:
        x = jnp.tanh(x @ W)
    return jnp.sum(x)
g = jax.jit(jax.grad(net))
t = time.perf_counter()
out = g(Ws, x)
out[-1].block_until_ready()
print("MARK" + json.dumps({"first_call_s": time.perf_counter() - t}))
"""


def _process(script: str, cache: str, xform_side: bool) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu", JAX_ENABLE_COMPILATION_CACHE="1")
    if xform_side:
        env.update(JAX_COMPILATION_CACHE_DIR=cache, XFORM_TRACE_CACHE="1",
                   JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    res = subprocess.run([sys.executable, "-c", script.replace("MARK", _MARK), cache],
                         cwd=_ROOT, env=env, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-3000:])
    line = [ln for ln in res.stdout.splitlines() if ln.startswith(_MARK)][-1]
    return json.loads(line[len(_MARK):])


def _cold_warm(script: str, xform_side: bool, rounds: int):
    colds, warms = [], []
    for _ in range(rounds):
        cache = tempfile.mkdtemp(prefix="xform-bench-cache-")
        try:
            cold = _process(script, cache, xform_side)
            warm = _process(script, cache, xform_side)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        if xform_side and warm.get("traced") != 0:
            raise RuntimeError(f"the warm xform process traced again: {warm}")
        colds.append(cold["first_call_s"])
        warms.append(warm["first_call_s"])
    med = lambda v: sorted(v)[len(v) // 2]   # noqa: E731
    return med(colds), med(warms)


@benchmark("warm start: jit(grad) of a 100-layer tanh net, 2nd process / 1st", target=0.03,
           kind="time", unit="x")
def warm_start(ctx):
    """xform: a second process skips tracing and compiling (trace + compilation caches)."""
    rounds = 1 if ctx.quick else 3
    xc, xw = _cold_warm(_XFORM, True, rounds)
    jc, jw = _cold_warm(_JAX, False, rounds)
    return Measurement(
        value=xw / xc, unit="x", jax_value=jw / jc,
        details={"xform_cold_s": xc, "xform_warm_s": xw, "jax_cold_s": jc, "jax_warm_s": jw},
        note=f"xform {xc:.2f} s -> {xw * 1e3:.0f} ms; JAX {jc:.2f} s -> {jw * 1e3:.0f} ms "
             f"(first call, from the call to the result)")


@benchmark("export round trip: export + serialize + deserialize + first call, 4-layer MLP",
           kind="time", unit="s")
def export_round_trip(ctx):
    """The time from a jitted function to a first result of its deserialized export."""
    import jax
    import jax.numpy as jjnp
    import numpy as np
    import xform
    import xform.numpy as jnp
    from jax import export as jexport
    from xform import export

    rng = np.random.default_rng(0)
    Ws = [rng.normal(size=(64, 64)).astype(np.float32) * 0.1 for _ in range(4)]
    x = np.ones((16, 64), np.float32)

    def make(lib_np):
        def mlp(x):
            for W in Ws:
                x = lib_np.tanh(x @ W)
            return x
        return mlp

    def xform_trip():
        t = time.perf_counter()
        blob = export.export(xform.jit(make(jnp)))(
            xform.ShapeDtypeStruct(x.shape, np.float32)).serialize()
        export.deserialize(blob).call(x).block_until_ready()
        return time.perf_counter() - t

    def jax_trip():
        t = time.perf_counter()
        blob = jexport.export(jax.jit(make(jjnp)))(
            jax.ShapeDtypeStruct(x.shape, np.float32)).serialize()
        jexport.deserialize(blob).call(x).block_until_ready()
        return time.perf_counter() - t

    n = 3 if ctx.quick else 7
    xs = sorted(xform_trip() for _ in range(n))[n // 2]
    js = sorted(jax_trip() for _ in range(n))[n // 2]
    return Measurement(value=xs, unit="s", jax_value=js,
                       note=f"xform {xs * 1e3:.0f} ms, JAX {js * 1e3:.0f} ms")


@benchmark("checkpoint save / restore of 256 MiB (GiB/s), against cp", kind="time",
           unit="GiB/s")
def checkpoint_throughput(ctx):
    """``serialization.save``/``restore`` throughput; ``cp`` of the file alongside."""
    import numpy as np
    import xform.numpy as jnp
    from xform import serialization

    size = (64 if ctx.quick else 256) << 20
    leaves = {f"w{i}": jnp.asarray(np.random.default_rng(i).random(size // 16, np.float32))
              for i in range(4)}
    d = tempfile.mkdtemp(prefix="xform-bench-ckpt-")
    try:
        path = os.path.join(d, "ckpt.npz")
        t = time.perf_counter()
        serialization.save(path, leaves)
        save_s = time.perf_counter() - t
        t = time.perf_counter()
        back = serialization.restore(path)
        for v in back.values():
            v.block_until_ready()
        restore_s = time.perf_counter() - t
        t = time.perf_counter()
        shutil.copyfile(path, path + ".copy")
        with open(path + ".copy", "rb+") as f:
            os.fsync(f.fileno())
        cp_s = time.perf_counter() - t
    finally:
        shutil.rmtree(d, ignore_errors=True)
    gib = size / (1 << 30)
    return Measurement(value=gib / save_s, unit="GiB/s",
                       details={"save_gib_s": gib / save_s, "restore_gib_s": gib / restore_s,
                                "cp_gib_s": gib / cp_s},
                       note=f"save {gib / save_s:.2f}, restore {gib / restore_s:.2f}, "
                            f"cp {gib / cp_s:.2f} GiB/s")
