"""``xform.serialization``: save/restore of pytrees to ``.npz``, round trips of every
dtype, restoring into a target (and each mismatch error), atomic replacement when the
saving process is killed, memory bounded by one leaf, and a throughput print."""
import collections
import dataclasses
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import tracemalloc
import zipfile

import ml_dtypes
import numpy as np
import pytest

import xform
import xform.numpy as xnp
import xform.serialization  # noqa: F401  (a submodule: xform/__init__ may not import it)
from xform import serialization
from multidevice import devices8  # noqa: F401,F811  (the fixture)

ROOT = pathlib.Path(__file__).resolve().parents[3]
P = collections.namedtuple("P", "a b")

# dtypes an xform Array holds without x64 (f64/i64/c128 are in the x64 test at the end)
ARRAY_DTYPES = [np.float32, np.float16, ml_dtypes.bfloat16, np.int8, np.int16, np.int32,
                np.uint8, np.uint16, np.uint32, np.bool_, np.complex64]
# NumPy leaves keep any numeric dtype, ml_dtypes' float8/int4 too (xform Arrays hold
# bfloat16 only of those; host values are not canonicalised)
NUMPY_DTYPES = ARRAY_DTYPES + [ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2, ml_dtypes.int4,
                               ml_dtypes.uint4, np.float64, np.int64, np.uint64, np.complex128]


def _values(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return rng.random(shape) > 0.5
    if dt.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    if dt in (np.dtype(ml_dtypes.int4), np.dtype(ml_dtypes.uint4)):
        return rng.integers(0, 7, shape).astype(dt)
    if dt.kind in "iu":
        return rng.integers(0, 100, shape).astype(dt)
    return (rng.standard_normal(shape) * 10).astype(dt)


def _same(a, b):
    """Same kind, dtype, shape and bits (NaN-safe: compares the raw bytes)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, (bool, int, float, complex)):
        assert a == b
        return
    a_, b_ = np.asarray(a), np.asarray(b)
    assert a_.dtype == b_.dtype and a_.shape == b_.shape, (a_.dtype, a_.shape, b_.dtype, b_.shape)
    assert a_.tobytes() == b_.tobytes()


def _same_tree(a, b):
    pa, ta = xform.tree_util.tree_flatten_with_path(a)
    pb, tb = xform.tree_util.tree_flatten_with_path(b)
    assert ta == tb, (ta, tb)
    for (ka, x), (kb, y) in zip(pa, pb):
        assert ka == kb
        _same(x, y)


def _temps(d):
    return [f for f in os.listdir(d) if ".tmp-" in f]


# --- round trips ----------------------------------------------------------------------------------

def test_every_dtype_round_trips(tmp_path):
    tree = {"array": {np.dtype(d).name: xnp.asarray(_values(d, (3, 5), i))
                      for i, d in enumerate(ARRAY_DTYPES)},
            "numpy": {np.dtype(d).name: _values(d, (2, 3), i)
                      for i, d in enumerate(NUMPY_DTYPES)}}
    f = tmp_path / "dtypes.npz"
    serialization.save(f, tree)
    _same_tree(serialization.restore(f), tree)
    _same_tree(serialization.restore(f, target=tree), tree)
    for name, x in tree["array"].items():
        assert serialization.restore(f)["array"][name].dtype == x.dtype
    assert _temps(tmp_path) == []


def test_nested_structures_scalars_and_empty_arrays(tmp_path):
    tree = {"params": {"w": xnp.ones((3, 4)), "b": xnp.zeros((4,), ml_dtypes.bfloat16)},
            "layers": [(xnp.arange(3, dtype=np.int32), None), [], {}, ()],
            "nt": P(a=np.float32(1.5), b=[np.int8(-3), np.bool_(True)]),
            "py": [True, -7, 2.5, 1 - 2j, 2**62],
            "empty": xnp.zeros((0,)), "zero_size": np.zeros((2, 0, 3), np.int16),
            "scalar": xnp.asarray(np.float32(4.0)), "none": None,
            "int_keys": {3: xnp.asarray(np.uint32(7)), -1: np.zeros(1)}}
    f = tmp_path / "nested.npz"
    serialization.save(f, tree)
    back = serialization.restore(f)
    # a namedtuple comes back as a plain tuple without a target
    assert type(back["nt"]) is tuple
    expect = dict(tree, nt=tuple(tree["nt"]))
    _same_tree(back, expect)
    assert back["layers"][1:] == [[], {}, ()] and back["none"] is None
    # with a target: the target's structure (the namedtuple) and leaf kinds
    back = serialization.restore(f, target=tree)
    assert type(back["nt"]) is P
    _same_tree(back, tree)
    assert isinstance(back["params"]["w"], xform.Array)
    assert isinstance(back["nt"].b[0], np.int8) and type(back["py"][3]) is complex


def test_non_contiguous_and_byte_swapped_numpy(tmp_path):
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    tree = {"t": a.T, "strided": a[::2, ::3], "big": a.astype(">i4")}
    serialization.save(tmp_path / "c.npz", tree)
    back = serialization.restore(tmp_path / "c.npz")
    np.testing.assert_array_equal(back["t"], a.T)
    np.testing.assert_array_equal(back["strided"], a[::2, ::3])
    np.testing.assert_array_equal(back["big"], a.astype(np.int32))
    assert back["big"].dtype == np.int32


def test_single_leaf_and_empty_trees(tmp_path):
    for tree in [xnp.arange(5, dtype=np.int32), 3.0, None, {}, [], (None, ())]:
        f = tmp_path / "one.npz"
        serialization.save(f, tree)
        back = serialization.restore(f)
        if isinstance(tree, xform.Array):
            _same(back, tree)
        else:
            assert back == tree and type(back) is type(tree)
    serialization.save(f, xnp.ones(2, np.float32))
    _same(serialization.restore(f, target=xform.ShapeDtypeStruct((2,), np.float32)),
          xnp.ones(2, np.float32))


def test_file_is_a_plain_npz(tmp_path):
    """Any NumPy reads it: members named by key path, ml_dtypes as same-width uints."""
    w = xnp.asarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    b = xnp.asarray(np.array([1.0, -2.0], ml_dtypes.bfloat16))
    serialization.save(tmp_path / "p.npz", {"params": {"w": w, "b": b}, "step": 3})
    with np.load(tmp_path / "p.npz") as z:
        assert sorted(z.files) == ["['params']['b']", "['params']['w']", "['step']",
                                   "__xform__.json"]
        np.testing.assert_array_equal(z["['params']['w']"], np.asarray(w))
        assert z["['params']['b']"].dtype == np.uint16
        np.testing.assert_array_equal(z["['params']['b']"].view(ml_dtypes.bfloat16), np.asarray(b))
    with zipfile.ZipFile(tmp_path / "p.npz") as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}


@xform.tree_util.register_dataclass
@dataclasses.dataclass
class _State:
    w: object
    step: object


def test_custom_nodes_need_a_target(tmp_path):
    s = _State(w=xnp.ones(3), step=2)
    serialization.save(tmp_path / "d.npz", {"s": s})
    with pytest.raises(ValueError, match=r"_State at \['s'\].*pass target="):
        serialization.restore(tmp_path / "d.npz")
    back = serialization.restore(tmp_path / "d.npz", target={"s": _State(xnp.zeros(3), 0)})
    assert isinstance(back["s"], _State) and back["s"].step == 2
    _same(back["s"].w, xnp.ones(3))


def test_target_of_shape_dtype_structs(tmp_path):
    tree = {"w": xnp.ones((2, 3), ml_dtypes.bfloat16), "n": np.arange(3)}
    serialization.save(tmp_path / "s.npz", tree)
    abstract = {"w": xform.ShapeDtypeStruct((2, 3), ml_dtypes.bfloat16),
                "n": xform.ShapeDtypeStruct((3,), np.int64)}
    back = serialization.restore(tmp_path / "s.npz", target=abstract)
    _same(back["w"], tree["w"])
    # a ShapeDtypeStruct asks for a device Array; int64 is canonicalised as xform does
    assert isinstance(back["n"], xform.Array)
    np.testing.assert_array_equal(np.asarray(back["n"]), np.arange(3))
    # eval_shape's result works as a target
    abstract = xform.eval_shape(lambda: {"w": xnp.ones((2, 3), ml_dtypes.bfloat16),
                                         "n": xnp.arange(3)})
    back = serialization.restore(tmp_path / "s.npz", target=abstract)
    _same(back["w"], tree["w"])


# --- errors ---------------------------------------------------------------------------------------

def test_target_mismatch_errors_name_the_first_key_path(tmp_path):
    tree = {"params": {"w": xnp.ones((3, 4), np.float32), "b": xnp.zeros(4, np.float32)},
            "step": 1}
    f = tmp_path / "m.npz"
    serialization.save(f, tree)

    def target(**kw):
        t = {"params": {"w": xnp.ones((3, 4), np.float32), "b": xnp.zeros(4, np.float32)},
             "step": 1}
        t["params"].update(kw)
        return t
    with pytest.raises(ValueError, match=re.escape(
            "restore: ['params']['w'] has shape (3, 4) in the file, target has (4, 3)")):
        serialization.restore(f, target=target(w=xnp.ones((4, 3), np.float32)))
    with pytest.raises(ValueError, match=re.escape(
            "restore: ['params']['b'] has dtype float32 in the file, target has bfloat16")):
        serialization.restore(f, target=target(b=xform.ShapeDtypeStruct((4,), ml_dtypes.bfloat16)))
    # the first mismatch in target order ('b' sorts before 'w')
    with pytest.raises(ValueError, match=re.escape("['params']['b'] has shape")):
        serialization.restore(f, target=target(w=xnp.ones(1), b=xnp.ones(1)))
    with pytest.raises(ValueError, match=re.escape(
            "restore: target has ['params']['c'], which the file does not hold")):
        serialization.restore(f, target=target(c=xnp.ones(1)))
    t = target()
    del t["params"]["b"]
    with pytest.raises(ValueError, match=re.escape(
            "restore: the file holds ['params']['b'], which target does not have")):
        serialization.restore(f, target=t)
    with pytest.raises(ValueError, match=re.escape(
            "restore: ['step'] has dtype int64 in the file, target has float64")):
        serialization.restore(f, target=dict(target(), step=1.0))
    with pytest.raises(TypeError, match=r"target leaf \['step'\] is a builtins.str"):
        serialization.restore(f, target=dict(target(), step="one"))
    # a list target where the file has a dict: the key paths differ
    with pytest.raises(ValueError, match=re.escape("target has [0]")):
        serialization.restore(f, target=[xnp.ones(1)])


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="restore: no checkpoint at"):
        serialization.restore(tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="is not an xform checkpoint"):
        serialization.restore(tmp_path / "text.npz")
    np.savez(tmp_path / "plain.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="not an xform checkpoint: it has no __xform__.json"):
        serialization.restore(tmp_path / "plain.npz")
    with pytest.raises(FileNotFoundError, match="save: directory"):
        serialization.save(tmp_path / "no" / "such" / "dir.npz", {"a": 1})
    # a truncated file (what a non-atomic writer would leave)
    serialization.save(tmp_path / "ok.npz", {"a": np.ones(1000)})
    data = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match="is not an xform checkpoint"):
        serialization.restore(tmp_path / "cut.npz")


def test_unsupported_leaves_leave_the_file_untouched(tmp_path):
    f = tmp_path / "u.npz"
    serialization.save(f, {"a": np.ones(2)})
    before = f.read_bytes()
    with pytest.raises(TypeError, match=r"save: \['opt'\]\[1\] is a builtins.str; a checkpoint "
                                        r"holds xform Arrays"):
        serialization.save(f, {"a": np.ones(2), "opt": [1, "adam"]})
    with pytest.raises(TypeError, match=r"save: \['x'\] has dtype <U1"):
        serialization.save(f, {"x": np.array(["a"])})
    with pytest.raises(TypeError, match=r"save: \['x'\] has dtype object"):
        serialization.save(f, {"x": np.array([None])})
    with pytest.raises(TypeError, match="dict key 1.5 of type float"):
        serialization.save(f, {1.5: np.ones(1)})
    with pytest.raises(OverflowError, match="does not fit in int64"):
        serialization.save(f, {"big": 2**70})
    gone = xnp.ones(2)
    gone.delete()
    with pytest.raises(ValueError, match=r"save: \['g'\] is a deleted Array"):
        serialization.save(f, {"g": gone})

    def inside_jit(x):
        serialization.save(f, {"x": x})
        return x
    with pytest.raises(TypeError, match=r"save: \['x'\] is a traced value"):
        xform.jit(inside_jit)(xnp.ones(2))
    assert f.read_bytes() == before and _temps(tmp_path) == []


def test_corrupt_manifest_dtype_is_refused(tmp_path):
    """A crafted manifest cannot make restore read bytes as an object dtype."""
    f = tmp_path / "evil.npz"
    serialization.save(f, {"a": np.zeros(2, np.uint64)})
    with zipfile.ZipFile(f) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    members["__xform__.json"] = members["__xform__.json"].replace(b'"uint64"', b'"object"')
    with zipfile.ZipFile(f, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ValueError, match="is damaged: unknown dtype 'object'"):
        serialization.restore(f)


# --- memory and placement -------------------------------------------------------------------------

def test_save_holds_one_chunk_not_the_tree(tmp_path):
    """Each leaf streams into its member: the Python-side peak is NumPy's write chunks
    (16 MiB), not the tree (4 x 32 MiB), and a CPU Array is not copied to the host."""
    tree = {f"w{i}": xnp.full((8 * 2**20,), float(i), np.float32) for i in range(4)}
    for x in tree.values():
        x.block_until_ready()
    tracemalloc.start()
    try:
        serialization.save(tmp_path / "m.npz", tree)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"\nsave's Python-side peak: {peak / 2**20:.1f} MiB for a 128 MiB tree")
    assert peak < 48 * 2**20, peak / 2**20
    # the host view of a CPU Array aliases its device buffer (no copy to save)
    x = tree["w1"]
    assert np.asarray(x).ctypes.data == x._buf.unsafe_buffer_pointer()
    back = serialization.restore(tmp_path / "m.npz")
    for k, x in tree.items():
        assert np.array_equal(np.asarray(back[k]), np.asarray(x))
    (tmp_path / "m.npz").unlink()     # 128 MiB: not left in pytest's kept tmp dirs


def test_sharded_arrays_gather_and_restore_sharded(devices8, tmp_path):  # noqa: F811
    devices8(f"""
        from xform import serialization
        from xform.sharding import NamedSharding, PartitionSpec as P
        import ml_dtypes
        mesh = xf.make_mesh((4, 2), ("x", "y"))
        sh = NamedSharding(mesh, P("x", "y"))
        host = np.arange(64, dtype=np.float32).reshape(8, 8)
        x = xf.device_put(host, sh)
        b = xf.device_put(host.astype(ml_dtypes.bfloat16), NamedSharding(mesh, P(None, "y")))
        f = {str(tmp_path / 'sh.npz')!r}
        serialization.save(f, {{"x": x, "b": b}})
        # the gathered host copy is not kept on the Array after the save
        assert not hasattr(x, "_npy") and not hasattr(b, "_npy")
        back = serialization.restore(f)
        np.testing.assert_array_equal(np.asarray(back["x"]), host)
        assert len(back["x"].devices()) == 1          # without a target: default device
        back = serialization.restore(f, target={{"x": x, "b": b}})
        assert back["x"].sharding == sh and back["b"].sharding == b.sharding
        np.testing.assert_array_equal(np.asarray(back["x"]), host)
        np.testing.assert_array_equal(np.asarray(back["b"]).view(np.uint16),
                                      host.astype(ml_dtypes.bfloat16).view(np.uint16))
        back = serialization.restore(f, target={{"x": xf.ShapeDtypeStruct((8, 8), np.float32,
                                                                         sharding=sh),
                                                "b": b}})
        assert back["x"].sharding == sh
    """)


# --- atomic replacement ---------------------------------------------------------------------------

_KILLED_SAVER = r"""
import sys, time
import numpy as np
import xform.numpy as xnp
import xform.serialization as serialization

# widen the window between members (so the parent surely kills mid-write); the save
# itself is the real one
_write = np.lib.format.write_array
def slow_write(*a, **k):
    _write(*a, **k)
    time.sleep(0.05)
np.lib.format.write_array = slow_write

# 25 leaves x 8 MiB = 200 MiB, NumPy and xform Arrays
tree = {f"w{i:02d}": (np.full if i % 2 else xnp.full)((2 * 2**20,), i, np.float32)
        for i in range(25)}
print("ready", flush=True)
serialization.save(sys.argv[1], tree)
print("finished", flush=True)
"""


def test_killed_save_leaves_the_previous_checkpoint(tmp_path):
    """SIGKILL mid-save: the path still holds the previous checkpoint, whole; the partial
    file is the dead process's temporary file, which the next save removes."""
    f = tmp_path / "ckpt.npz"
    previous = {"step": 1, "w": np.arange(10, dtype=np.float32)}
    serialization.save(f, previous)
    before = f.read_bytes()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_SAVER, str(f)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        prefix = f".ckpt.npz.tmp-{proc.pid}-"
        deadline, tmp = time.monotonic() + 15, None
        while tmp is None and time.monotonic() < deadline and proc.poll() is None:
            names = [n for n in os.listdir(tmp_path) if n.startswith(prefix)]
            if names and os.path.getsize(tmp_path / names[0]) > 40 * 2**20:
                tmp = names[0]
            else:
                time.sleep(0.002)
        assert tmp is not None, "the saver never wrote 40 MiB"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL        # killed, not finished
        assert f.read_bytes() == before
        _same_tree(serialization.restore(f), previous)
        assert os.path.getsize(tmp_path / tmp) > 40 * 2**20
        serialization.save(f, {"step": 2})
        assert serialization.restore(f) == {"step": 2}
        assert _temps(tmp_path) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        for name in _temps(tmp_path):      # 200 MiB: not left in pytest's kept tmp dirs
            os.unlink(tmp_path / name)


# --- throughput (printed, never asserted) ---------------------------------------------------------

def test_throughput_256mib(tmp_path):
    """Prints save/restore speed next to ``shutil.copyfile`` of the same file.  Two
    rounds: the first pays the process's first touch of 256 MiB of fresh memory."""
    import shutil
    x = xnp.asarray(np.arange(64 * 2**20, dtype=np.float32))
    x.block_until_ready()
    f, g = tmp_path / "big.npz", tmp_path / "copy.npz"
    gib = x.nbytes / 2**30
    try:
        for round in ("first", "second"):
            t0 = time.perf_counter()
            serialization.save(f, {"x": x})
            t1 = time.perf_counter()
            y = serialization.restore(f)["x"].block_until_ready()
            t2 = time.perf_counter()
            shutil.copyfile(f, g)
            t3 = time.perf_counter()
            assert y.dtype == x.dtype and np.array_equal(np.asarray(y), np.asarray(x))
            del y
            print(f"\nserialization, {x.nbytes / 2**20:.0f} MiB, {round} round: save (with "
                  f"fsync) {gib / (t1 - t0):.2f} GiB/s, restore {gib / (t2 - t1):.2f} GiB/s, "
                  f"shutil.copyfile {gib / (t3 - t2):.2f} GiB/s")
    finally:
        for p in (f, g):
            if p.exists():
                p.unlink()


# --- 64-bit (last: the module-scoped x64 fixture stays on until the module ends) -----------------

def test_x64_dtypes_round_trip(x64_enabled, tmp_path):
    tree = {"f64": xnp.asarray(_values(np.float64, (4,))), "i64": xnp.arange(5, dtype=np.int64),
            "c128": xnp.asarray(_values(np.complex128, (2, 2))),
            "u64": xnp.asarray(np.array([2**63 + 5], np.uint64)), "py": 1.0 / 3}
    assert tree["f64"].dtype == np.float64
    f = tmp_path / "x64.npz"
    serialization.save(f, tree)
    _same_tree(serialization.restore(f), tree)
    abstract = {k: xform.ShapeDtypeStruct(np.shape(v), np.asarray(v).dtype)
                for k, v in tree.items() if k != "py"}
    back = serialization.restore(f, target={**abstract, "py": 0.0})
    _same_tree(back, tree)
