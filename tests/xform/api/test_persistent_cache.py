"""The persistent compilation and trace caches (lowering/disk_cache.py,
xform/api/trace_cache.py): a second process skips tracing and compiling; any change of
the function, of what it calls or of a value it closes over misses (never a stale
program); corrupted entries are discarded; two processes may write at once; the size
bound holds."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lowering import disk_cache

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))

MODEL = """
import xform.numpy as jnp
SCALE = {scale}

def helper(x):
    return jnp.{fn}(x) * SCALE
"""

MAIN = """
import json, sys
import numpy as np
import xform, xform.numpy as jnp
from lowering import disk_cache
import model

W = np.full((4,), {w}, np.float32)

def f(x, n):
    for _ in range(n):
        x = model.helper(x) + W * {c}
    return {{"y": x, "s": jnp.sum(x)}}

g = xform.jit(f, static_argnums=1)
out = g(np.arange(4, dtype=np.float32), 3)
print(json.dumps({{"trace_count": g.trace_count, "y": np.asarray(out["y"]).tolist(),
                  "stats": disk_cache.stats}}))
"""


def _expected(scale, fn, w, c):
    x = np.arange(4, dtype=np.float32)
    for _ in range(3):
        x = getattr(np, fn)(x) * np.float32(scale) + np.full(4, w, np.float32) * np.float32(c)
    return x


def _write(d, scale=2.0, fn="sin", w=0.5, c=3.0):
    (d / "model.py").write_text(MODEL.format(scale=scale, fn=fn))
    (d / "main.py").write_text(MAIN.format(w=w, c=c))
    return _expected(scale, fn, w, c)


def _env(cache, **extra):
    env = dict(os.environ, XFORM_TRACE_CACHE="1", JAX_COMPILATION_CACHE_DIR=str(cache),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(extra)
    return env


def _run(d, cache, **extra):
    res = subprocess.run([sys.executable, "main.py"], cwd=d, env=_env(cache, **extra),
                         capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def _check(out, want, traced):
    np.testing.assert_allclose(out["y"], want, rtol=1e-5, atol=1e-5)
    assert out["trace_count"] == traced, out


def test_second_process_skips_tracing_and_every_change_misses(tmp_path):
    cache = tmp_path / "cache"
    want = _write(tmp_path)
    _check(_run(tmp_path, cache), want, 1)
    out = _run(tmp_path, cache)
    _check(out, want, 0)                                 # hit: no trace, no compile
    assert out["stats"]["hits"] >= 2 and out["stats"]["writes"] == 0
    _check(_run(tmp_path, cache), want, 0)
    # each change below must miss, and give the new program's values
    for change in ({"w": 0.25},                                  # a global array
                   {"w": 0.25, "c": 4.0},                        # the function's body
                   {"w": 0.25, "c": 4.0, "fn": "cos"},           # a callee's body
                   {"w": 0.25, "c": 4.0, "fn": "cos", "scale": 3.0}):  # a callee's global
        want = _write(tmp_path, **change)
        _check(_run(tmp_path, cache), want, 1)
    # and the unchanged program still hits
    _check(_run(tmp_path, cache), _expected(3.0, "cos", 0.25, 4.0), 0)
    # a static argument is part of the key
    main = (tmp_path / "main.py").read_text().replace(", 3)\n", ", 2)\n")
    (tmp_path / "main.py").write_text(main)
    assert _run(tmp_path, cache)["trace_count"] == 1


def test_corrupted_entries_are_discarded_and_recomputed(tmp_path):
    cache = tmp_path / "cache"
    want = _write(tmp_path)
    _check(_run(tmp_path, cache), want, 1)
    files = [os.path.join(dp, f) for dp, _, fs in os.walk(cache) for f in fs]
    assert {os.path.basename(os.path.dirname(os.path.dirname(p))) for p in files} == \
        {"compile", "trace"}
    for p in files:                      # flip one byte in the middle of every entry
        data = bytearray(open(p, "rb").read())
        data[len(data) // 2] ^= 0xFF
        open(p, "wb").write(bytes(data))
    out = _run(tmp_path, cache)
    _check(out, want, 1)
    assert out["stats"]["corrupt"] >= 2
    _check(_run(tmp_path, cache), want, 0)   # rewritten, whole again


def test_two_processes_write_at_once(tmp_path):
    cache = tmp_path / "cache"
    want = _write(tmp_path)
    procs = [subprocess.Popen([sys.executable, "main.py"], cwd=tmp_path, env=_env(cache),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    try:
        outs = [p.communicate(timeout=180) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (stdout, stderr) in zip(procs, outs):
        assert p.returncode == 0, stderr
        np.testing.assert_allclose(json.loads(stdout.splitlines()[-1])["y"], want, rtol=1e-5)
    _check(_run(tmp_path, cache), want, 0)
    assert not [f for _, _, fs in os.walk(cache) for f in fs if f.startswith(".tmp-")]


def test_compilation_cache_alone(tmp_path):
    cache = tmp_path / "cache"
    want = _write(tmp_path)
    _check(_run(tmp_path, cache, XFORM_TRACE_CACHE="0"), want, 1)
    out = _run(tmp_path, cache, XFORM_TRACE_CACHE="0")
    _check(out, want, 1)                  # traced again, but XLA's compile is skipped
    assert out["stats"]["hits"] >= 1 and out["stats"]["writes"] == 0
    out = _run(tmp_path, cache, JAX_ENABLE_COMPILATION_CACHE="0")
    _check(out, want, 1)
    assert out["stats"] == {"hits": 0, "misses": 0, "writes": 0, "corrupt": 0, "evicted": 0}


# --- the store itself, in this process -----------------------------------------------------------

@pytest.fixture
def store(tmp_path):
    saved = (disk_cache.ENABLED, disk_cache.DIRECTORY, disk_cache.MAX_BYTES,
             disk_cache.MIN_ENTRY_BYTES)
    disk_cache.ENABLED, disk_cache.DIRECTORY = True, str(tmp_path)
    yield tmp_path
    (disk_cache.ENABLED, disk_cache.DIRECTORY, disk_cache.MAX_BYTES,
     disk_cache.MIN_ENTRY_BYTES) = saved


def test_size_bound_evicts_least_recently_used(store):
    disk_cache.MAX_BYTES = 3 * (1000 + 48)
    for i in range(3):
        assert disk_cache.put("trace", f"{i:064x}", bytes([i]) * 1000)
        os.utime(disk_cache._path("trace", f"{i:064x}"), (100 + i, 100 + i))
    assert disk_cache.get("trace", f"{0:064x}") == b"\x00" * 1000   # now the most recent
    assert disk_cache.put("trace", f"{3:064x}", b"\x03" * 1000)
    assert disk_cache.get("trace", f"{1:064x}") is None              # the oldest went
    assert disk_cache.get("trace", f"{0:064x}") is not None
    assert not disk_cache.put("trace", "f" * 64, b"x" * 10_000)     # larger than the bound


def test_truncated_and_foreign_files_are_misses(store):
    k = "a" * 64
    assert disk_cache.put("compile", k, b"payload" * 100)
    path = disk_cache._path("compile", k)
    open(path, "r+b").truncate(100)
    assert disk_cache.get("compile", k) is None and not os.path.exists(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").write(b"not a cache entry")
    assert disk_cache.get("compile", k) is None and not os.path.exists(path)


def test_config_options_reach_the_store(tmp_path):
    import xform
    saved = {k: xform.config.read(k) for k in (
        "jax_compilation_cache_dir", "jax_compilation_cache_max_size",
        "jax_persistent_cache_min_compile_time_secs", "jax_enable_compilation_cache")}
    try:
        xform.config.update("jax_compilation_cache_dir", str(tmp_path / "c"))
        xform.config.update("jax_compilation_cache_max_size", 12345)
        xform.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
        assert disk_cache.root() == str(tmp_path / "c")
        assert (disk_cache.MAX_BYTES, disk_cache.MIN_COMPILE_SECS) == (12345, 0.5)
        with pytest.raises(ValueError, match="jax_compilation_cache_max_size cannot be"):
            xform.config.update("jax_compilation_cache_max_size", "lots")
    finally:
        for k, v in saved.items():
            xform.config.update(k, v)


def test_fingerprint_refuses_what_it_cannot_see():
    """Values without a stable description make the function uncacheable (traced as
    usual), never a key that ignores them."""
    import threading
    from xform import jit
    from xform.api import trace_cache
    lock = threading.Lock()

    def f(x):
        with lock:
            return x + 1

    assert trace_cache.key_of(jit(f), None, (), ()) is None
    scale = [2.0]

    def g(x):
        return x * scale[0]

    k1 = trace_cache.key_of(jit(g), None, (), ())
    scale[0] = 3.0
    assert k1 is not None and trace_cache.key_of(jit(g), None, (), ()) != k1


def test_fingerprint_sees_through_library_wrappers():
    """``jit(grad(loss))``: grad's wrapper is library code, but the user function it
    closes over is part of the key (as are partial arguments and methods' objects)."""
    import functools
    import xform
    from xform import jit
    from xform.api import trace_cache

    def make(c):
        def loss(x):
            return x * c
        return loss

    def key(f):
        return trace_cache.key_of(jit(f), None, (), ())

    assert key(xform.grad(make(2.0))) != key(xform.grad(make(3.0)))
    assert key(xform.grad(make(2.0))) == key(xform.grad(make(2.0)))
    assert key(xform.vmap(make(2.0))) != key(xform.vmap(make(3.0)))

    def scaled(x, s):
        return x * s
    assert key(functools.partial(scaled, s=1.0)) != key(functools.partial(scaled, s=2.0))

    class Model:
        def __init__(self, w):
            self.w = w

        def apply(self, x):
            return x * self.w
    assert key(Model(np.ones(3)).apply) != key(Model(np.zeros(3)).apply)
