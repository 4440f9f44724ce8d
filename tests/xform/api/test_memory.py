"""Memory stays bounded: 10,000 ``jit`` calls with changing shapes (plus eager ops, new
functions and ``grad``) keep every cache within the size knob and the process RSS flat;
``xform.clear_caches()`` empties every cache."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np

import xform
import xform.numpy as xnp

ROOT = pathlib.Path(__file__).resolve().parents[3]
LIMIT = 16   # XFORM_CACHE_SIZE in the measured process

# Run in a fresh process, so that what other tests compiled or cached does not blur the
# measurement.  Each jitted function sees a working set of 4 shapes (hits) and, every 50th
# call, a shape never seen before (a trace and an XLA compile, evicting older entries);
# eager ops, a new function every 100 calls and eager ``grad`` fill the global caches.
# RSS is measured after warm-up (by then every cache has reached the limit) and at the end.
_SCRIPT = r"""
import gc, json, os
import numpy as np
import xform, xform.numpy as jnp
from xform import lax
from primitives import lru

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

def f1(x): return jnp.sin(x) * 2 + 1
def f2(x, y): return (x * y).sum()
def f3(x): return lax.fori_loop(0, 3, lambda i, c: c * 1.5 + x, x)
loss = lambda x: (jnp.tanh(x) ** 2).sum()
jits = [xform.jit(f1), xform.jit(f2), xform.jit(f3), xform.jit(xform.grad(loss))]
put = lambda n: xform.device_put(np.ones(n, np.float32))
small = put(3)
worst = 0
for i in range(10_000):
    n = 1000 + i if i % 50 == 0 else (i // 4) % 4 + 1
    x = put(n)
    j = jits[i % 4]
    out = j(x, x) if i % 4 == 1 else j(x)
    if i % 10 == 5:   # eager ops: a working set of two shapes, and now and then a new one
        m = 2000 + i if i % 250 == 5 else i % 2 + 2
        (put(m) * 3.0 + float(i % 3)).sum()
    if i % 100 == 50:
        xform.jit(lambda y: y + i)(x)   # a new function each time (dropped after the call)
        xform.grad(loss)(small)
    if i % 100 == 0:
        worst = max([worst] + [len(c) for c in list(lru._caches)])
    if i == 3000:
        gc.collect()
        base_rss, base_objects, base_caches = rss_mib(), len(gc.get_objects()), len(lru._caches)
np.asarray(out)
gc.collect()
print(json.dumps(dict(worst=worst, limit=lru.limit(), caches=len(lru._caches),
                      base_caches=base_caches,
                      base_rss=base_rss, end_rss=rss_mib(), base_objects=base_objects,
                      end_objects=len(gc.get_objects()))))
"""


def test_10000_jit_calls_with_changing_shapes_keep_caches_and_rss_bounded():
    env = dict(os.environ, XFORM_CACHE_SIZE=str(LIMIT), PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    m = json.loads(r.stdout.strip().splitlines()[-1])
    assert m["limit"] == LIMIT
    assert m["worst"] <= LIMIT, m          # no cache ever held more than the knob allows
    assert m["caches"] <= m["base_caches"] + 2, m   # a dropped jit function's LRUs go with it
    # ~140 programs are compiled after the warm-up; holding on to one XLA executable per
    # compile grows RSS by ~30 MiB, while bounded caches stay within ~3 MiB (2026: 1.2)
    growth = m["end_rss"] - m["base_rss"]
    assert growth < 12, f"RSS grew by {growth:.1f} MiB over 7,000 jit calls: {m}"
    # and no Python objects pile up (one per call would be 7,000)
    assert m["end_objects"] - m["base_objects"] < 3000, m


def test_clear_caches_empties_every_cache():
    from primitives import lru
    from primitives import sharding as shd
    from lowering import _jaxlib
    from xform.core import trace as xcore
    f = xform.jit(lambda x: xnp.sin(x) * 2.0)
    x = xnp.ones(5)
    f(x)
    xform.grad(lambda v: (v * v).sum())(x)
    xnp.ones(7) * 3.0
    assert len(f._cache) and len(xcore._eager_cache) and len(xcore._shape_cache)
    caches = list(lru._caches)
    # the caches that used to be hand-bounded dicts or functools caches are LRUs too
    assert isinstance(shd._TILES_CACHE, lru.LRU)
    assert isinstance(_jaxlib.buffer_sharding.cache, lru.LRU)
    assert any(c.name == "jaxpr effects" for c in caches)
    xform.clear_caches()
    assert all(len(c) == 0 for c in caches), [c for c in caches if len(c)]
    assert len(f._cache) == 0 and len(f._fast_ids) == 0
    np.testing.assert_allclose(np.asarray(f(x)), np.sin(np.ones(5)) * 2, rtol=1e-6)
    assert "clear" in xform.clear_caches.__doc__
