"""``xform.serialization``: save a pytree of arrays to one file, restore it later.

    from xform import serialization
    serialization.save("ckpt.npz", {"params": params, "opt": opt_state, "step": 3})
    state = serialization.restore("ckpt.npz")                   # the structure saved
    state = serialization.restore("ckpt.npz", target=template)  # template's, checked

**The container is NumPy's ``.npz``** (a zip archive, members stored uncompressed, one
``.npy`` member per leaf written by NumPy's own format writer), not a format of ours: any
NumPy reads it (``np.load(path)["['params']['w']"]``), any zip tool lists it, and NumPy
keeps ``.npy`` stable.  A member is named by its leaf's key path
(``xform.tree_util.keystr``), so the file reads like the tree.  One more member,
``__xform__.json``, says what ``.npy`` cannot: the tree's structure (dicts, lists, tuples,
None), each leaf's key path, kind (xform Array, NumPy array or scalar, Python scalar) and
true dtype.  The ml_dtypes types (bfloat16, float8_*, int4, ...) have no ``.npy`` spelling
(NumPy would write raw void bytes), so they are stored as unsigned integers of the same
width, bits unchanged, and the JSON names the real dtype; ``restore`` views them back.

**Memory: one leaf at a time.**  ``save`` streams each leaf into its member (NumPy writes
in 16 MiB chunks), so beyond the tree itself it holds at most one leaf's host copy; an
Array on the CPU is not copied at all (its host view aliases the device buffer).  An
Array on an accelerator, or sharded over several devices, is copied (gathered) to the
host, one leaf at a time, and saved as one whole array: its layout is not saved.
``restore`` reads one member and puts it on its device before it reads the next (on the
CPU the device adopts the freshly read, 64-byte-aligned host array: no second copy); the
layout is the target leaf's sharding, or the default device.  An Array spread over the
devices of several processes cannot be saved from one process (an error says so).

**Atomic writes.**  ``save`` writes a temporary file ``.<name>.tmp-<pid>-<random>`` in
the destination's directory, flushes and fsyncs it, renames it onto ``path``
(``os.replace``: atomic on POSIX file systems) and fsyncs the directory.  A reader, or a
crash at any moment, sees the previous file or the new one, never part of one.  A save
killed midway leaves its temporary file behind; the next ``save`` to the same path
removes those whose process is gone (an exception inside ``save`` removes its own).
"""
from __future__ import annotations

import json
import os
import secrets
import zipfile
from collections import OrderedDict, defaultdict

import ml_dtypes
import numpy as np

from primitives import dtypes
from primitives.sharding import Sharding

from .core import Array
from .core.trace import Tracer
from .api import device_put
from .tree_util import flatten_one_level_with_keys, is_tree_node, keystr, tree_flatten_with_path

__all__ = ["save", "restore"]

FORMAT = "xform.serialization"
VERSION = 1
MANIFEST = "__xform__.json"   # the member holding the structure and the dtypes

_PY_SCALARS = {bool: "bool", int: "int", float: "float", complex: "complex"}
_PY_DTYPES = {"bool": np.dtype(bool), "int": np.dtype(np.int64),
              "float": np.dtype(np.float64), "complex": np.dtype(np.complex128)}
_PY_TYPES = {"bool": bool, "int": int, "float": float, "complex": complex}
_KINDS = {"array", "numpy", "numpy_scalar", *_PY_TYPES}
_NUMERIC_KINDS = "biufc"
_SUPPORTED = ("a checkpoint holds xform Arrays, NumPy arrays, NumPy scalars and Python "
              "bool/int/float/complex as leaves")


# --- save -----------------------------------------------------------------------------------------

def save(path, pytree) -> None:
    """Write ``pytree`` to ``path`` (a ``.npz`` file; the name is used as given), atomically.

    Leaves may be xform Arrays (sharded ones are gathered to the host and saved whole),
    NumPy arrays and scalars, and Python ``bool``/``int``/``float``/``complex``; any
    numeric dtype, ml_dtypes' included.  Nodes may be any pytree node: dicts, lists,
    tuples, namedtuples and None are described in the file so that ``restore`` rebuilds
    them without a target (a namedtuple as a plain tuple, an ``OrderedDict`` or ``defaultdict`` as a
    dict);
    other nodes (dataclasses, registered classes) need ``restore(path, target=...)``.

    Every leaf is checked before the file is touched, so an unsupported leaf (a string, a
    traced value inside ``jit``) raises and leaves ``path`` as it was."""
    path = os.fspath(path)
    entries, tree = _describe_tree(pytree)
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree,
                           "leaves": [e["meta"] for e in entries]}, indent=1)
    directory, name = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory {directory!r} does not exist")
    _remove_stale_temps(directory, name)
    tmp = os.path.join(directory, f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with open(fd, "wb") as f:
            # allowZip64: members and archives past 4 GiB; ZIP_STORED: no compression
            # (float weights barely compress), so writing and reading run at disk speed
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                zf.writestr(MANIFEST, manifest)
                for e in entries:
                    _write_leaf(zf, e)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _describe_tree(tree):
    """``(entries, description)``: one entry per leaf (its key path, value and the JSON
    metadata the manifest holds), in flattening order, and the structure as JSON: a leaf
    is its index, None is null, ``{"dict": [[key, child], ...]}``, ``{"list": [...]}``,
    ``{"tuple": [...]}``, and any other node ``{"node": "module.Type", "keys": [...],
    "children": [...]}`` (rebuilt only into a target)."""
    entries: list = []
    names: set = {MANIFEST}

    def walk(x, path):
        if x is None:
            return None
        t = type(x)
        if not is_tree_node(t):
            entries.append(_leaf_entry(x, path, len(entries), names))
            return len(entries) - 1
        pairs, _ = flatten_one_level_with_keys(x)
        children = [walk(c, (*path, k)) for k, c in pairs]
        if t in (dict, OrderedDict, defaultdict):
            keys = [k.key for k, _ in pairs]
            for k in keys:
                if type(k) not in (str, int, bool):
                    raise TypeError(f"save: {_show(path)} has the dict key {k!r} of type "
                                    f"{type(k).__name__}; the file can describe str and int "
                                    f"keys only")
            return {"dict": [[k, c] for k, c in zip(keys, children)]}
        if t is list:
            return {"list": children}
        if t is tuple or (issubclass(t, tuple) and hasattr(t, "_fields")):
            return {"tuple": children}
        return {"node": f"{t.__module__}.{t.__qualname__}",
                "keys": [str(k) for k, _ in pairs], "children": children}

    return entries, walk(tree, ())


def _leaf_entry(x, path, index, names) -> dict:
    """Check one leaf and say how it is stored: ``kind`` (what ``restore`` gives back
    without a target), its true dtype and shape, the member name."""
    if isinstance(x, Tracer):
        raise TypeError(f"save: {_show(path)} is a traced value (an abstract array inside "
                        f"jit, grad or vmap); save concrete arrays, outside transformations")
    if isinstance(x, Array):
        if x.is_deleted():
            raise ValueError(f"save: {_show(path)} is a deleted Array (donated to a jitted "
                             f"function, or deleted)")
        kind, dt, shape = "array", x.dtype, x.shape
    elif isinstance(x, np.ndarray):
        kind, dt, shape = "numpy", x.dtype, x.shape
    elif isinstance(x, np.generic):
        kind, dt, shape = "numpy_scalar", x.dtype, ()
    elif type(x) in _PY_SCALARS:
        kind, dt, shape = _PY_SCALARS[type(x)], _PY_DTYPES[_PY_SCALARS[type(x)]], ()
        if kind == "int" and not -2**63 <= x < 2**63:
            raise OverflowError(f"save: {_show(path)} is the int {x}, which does not fit "
                                f"in int64")
    else:
        raise TypeError(f"save: {_show(path)} is a {type(x).__module__}.{type(x).__qualname__}"
                        f"; {_SUPPORTED}")
    if not _is_numeric(dt):
        raise TypeError(f"save: {_show(path)} has dtype {dt}; {_SUPPORTED}, of a numeric, "
                        f"bool or ml_dtypes dtype")
    name = _member_name(path, index, names)
    return {"path": path, "value": x, "kind": kind,
            "meta": {"path": _show(path), "member": name, "kind": kind,
                     "dtype": dt.name, "shape": list(shape)}}


def _member_name(path, index, names) -> str:
    """The key path as text (``['params']['w']``), unique in the archive; the root leaf of
    a tree that is a single array is ``root``."""
    name = keystr(path) or "root"
    if "\x00" in name or name in names or name.startswith("/"):
        name = f"{name.replace(chr(0), '?').lstrip('/')}#{index}"
    names.add(name)
    return name + ".npy"


def _write_leaf(zf: zipfile.ZipFile, e: dict) -> None:
    x = e["value"]
    had_host_copy = isinstance(x, Array) and hasattr(x, "_npy")
    try:
        host = _host_value(x, e["kind"])
        # force_zip64: the member's size is not told to zipfile in advance (as np.savez)
        with zf.open(e["meta"]["member"], "w", force_zip64=True) as member:
            np.lib.format.write_array(member, host, allow_pickle=False)
    except Exception as err:
        if hasattr(err, "add_note"):      # Python >= 3.11: say which leaf failed
            err.add_note(f"(xform.serialization.save, writing {e['meta']['path']})")
        raise
    finally:
        if isinstance(x, Array) and not had_host_copy:
            _forget_host_copy(x)


def _host_value(x, kind) -> np.ndarray:
    """The leaf as a NumPy array in the dtype ``.npy`` stores: native byte order, and an
    ml_dtypes dtype reinterpreted as the unsigned integer of its width (a view: no copy)."""
    if kind == "array":
        v = np.asarray(x)        # CPU: a view of the device buffer; else one host copy
    elif kind in _PY_DTYPES:
        v = np.asarray(x, _PY_DTYPES[kind])
    else:
        v = np.asarray(x)
    if not v.dtype.isnative:
        v = v.astype(v.dtype.newbyteorder("="))
    return v.view(_stored_dtype(v.dtype))


def _forget_host_copy(x: Array) -> None:
    """``np.asarray(x)`` keeps the host value on the Array (``_npy``) for later reads.  On
    the CPU that is a view, free; for an accelerator's or a sharded Array it is a full
    copy, and keeping one per leaf would hold a second copy of the whole tree on the host
    after ``save``.  So ``save`` drops the copies it made (not ones that were there
    before); that costs only a new transfer if the value is read again."""
    try:
        del x._npy
    except AttributeError:
        pass


def _remove_stale_temps(directory: str, name: str) -> None:
    """Remove temporary files of saves to ``name`` whose process is gone (killed midway).
    Another live process's temporary file is left alone: it is still writing it."""
    prefix = f".{name}.tmp-"
    try:
        candidates = [f for f in os.listdir(directory) if f.startswith(prefix)]
    except OSError:
        return
    for f in candidates:
        pid = f[len(prefix):].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                os.unlink(os.path.join(directory, f))
            except OSError:
                pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True              # a concurrent save in this process (another thread)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True              # exists (another user's), or cannot tell: keep it
    return True


def _fsync_directory(directory: str) -> None:
    """Make the rename durable: the new directory entry reaches the disk (POSIX; on
    Windows a directory cannot be opened, and the rename is journaled by NTFS)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- restore --------------------------------------------------------------------------------------

def restore(path, target=None):
    """Read a checkpoint written by ``save``.

    Without ``target`` the saved structure comes back (dicts, lists, tuples, None; a
    namedtuple as a tuple), each leaf as the kind it was saved as: an xform Array (on
    the default device), a NumPy array or scalar, a Python scalar.

    With ``target`` (a pytree whose leaves are Arrays, ``ShapeDtypeStruct``s, NumPy
    arrays or Python scalars, e.g. the initial state, or ``xform.eval_shape`` of the
    function that makes it), the result has ``target``'s structure and leaf kinds: leaves
    are matched by key path, and the first difference in key paths, shapes or dtypes
    (compared as xform canonicalises them for device leaves, exactly for host ones) raises
    a ``ValueError`` naming it, before any data is read.  A device leaf is placed with the
    target leaf's sharding (an Array's, or a ``ShapeDtypeStruct``'s ``sharding``), so a
    sharded state restores sharded.

    Members are read and put on their device one at a time."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"restore: no checkpoint at {path!r}")
    try:
        zf = zipfile.ZipFile(path, "r")
    except zipfile.BadZipFile as err:
        raise ValueError(f"restore: {path!r} is not an xform checkpoint (not a complete "
                         f".npz/zip archive: {err})") from None
    with zf:
        manifest = _read_manifest(zf, path)
        metas = {m["path"]: m for m in manifest["leaves"]}
        if target is None:
            # build once with placeholders first: a structure that cannot be rebuilt
            # without a target fails before any data is read
            _build_checked(manifest, [None] * len(manifest["leaves"]), path)
            leaves = [_read_leaf(zf, m, path, m["kind"], None) for m in manifest["leaves"]]
            return _build_checked(manifest, leaves, path)
        pairs, treedef = tree_flatten_with_path(target)
        plan = _match_target(pairs, metas, path)
        leaves = [_read_leaf(zf, m, path, kind, sharding) for m, kind, sharding in plan]
    return treedef.unflatten(leaves)


def _read_manifest(zf: zipfile.ZipFile, path: str) -> dict:
    try:
        raw = zf.read(MANIFEST)
    except KeyError:
        raise ValueError(f"restore: {path!r} is a zip archive (an .npz?) but not an xform "
                         f"checkpoint: it has no {MANIFEST} member (np.load reads it)") from None
    try:
        manifest = json.loads(raw)
        ok = manifest.get("format") == FORMAT and isinstance(manifest.get("leaves"), list)
    except (ValueError, AttributeError):
        ok = False
    if ok and manifest.get("version") == VERSION:
        ok = all(isinstance(m, dict) and isinstance(m.get("path"), str)
                 and isinstance(m.get("member"), str) and isinstance(m.get("dtype"), str)
                 and m.get("kind") in _KINDS and isinstance(m.get("shape"), list)
                 and all(type(d) is int and d >= 0 for d in m["shape"])
                 for m in manifest["leaves"])
    if not ok:
        raise ValueError(f"restore: {path!r} is not an xform checkpoint ({MANIFEST} does "
                         f"not describe one)")
    if manifest.get("version") != VERSION:
        raise ValueError(f"restore: {path!r} has checkpoint format version "
                         f"{manifest.get('version')!r}; this xform reads version {VERSION}")
    return manifest


def _match_target(pairs, metas: dict, path: str) -> list:
    """``[(meta, kind, sharding)]`` in ``target``'s leaf order, or the first mismatch."""
    plan = []
    for p, t in pairs:
        where = _show(p)
        m = metas.get(where)
        if m is None:
            held = ", ".join(list(metas)[:8]) + (", ..." if len(metas) > 8 else "")
            raise ValueError(f"restore: target has {where}, which the file does not hold "
                             f"(the file holds: {held or 'no leaves'})")
        kind, dt, shape, sharding = _target_leaf(t, where)
        file_dt, file_shape = _dtype_from_name(m["dtype"], path), tuple(m["shape"])
        if file_shape != shape:
            raise ValueError(f"restore: {where} has shape {file_shape} in the file, target "
                             f"has {shape}")
        same = (dtypes.canonicalize(file_dt) == dtypes.canonicalize(dt) if kind == "array"
                else file_dt == dt)
        if not same:
            raise ValueError(f"restore: {where} has dtype {file_dt.name} in the file, "
                             f"target has {np.dtype(dt).name}")
        plan.append((m, kind, sharding))
    wanted = {_show(p) for p, _ in pairs}
    for where in metas:
        if where not in wanted:
            raise ValueError(f"restore: the file holds {where}, which target does not have")
    return plan


def _target_leaf(t, where: str):
    """``(kind, dtype, shape, sharding)`` that a target leaf asks for."""
    if isinstance(t, np.ndarray):
        return "numpy", t.dtype, t.shape, None
    if isinstance(t, np.generic):
        return "numpy_scalar", t.dtype, (), None
    if type(t) in _PY_SCALARS:
        k = _PY_SCALARS[type(t)]
        return k, _PY_DTYPES[k], (), None
    if isinstance(t, Array) or (not isinstance(t, Tracer) and hasattr(t, "shape")
                                and hasattr(t, "dtype")):   # ShapeDtypeStruct and alike
        s = getattr(t, "sharding", None)
        return "array", np.dtype(t.dtype), tuple(t.shape), s if isinstance(s, Sharding) else None
    raise TypeError(f"restore: target leaf {where} is a {type(t).__module__}."
                    f"{type(t).__qualname__}; target leaves are xform Arrays, "
                    f"ShapeDtypeStructs, NumPy arrays or scalars, Python scalars")


def _read_leaf(zf: zipfile.ZipFile, m: dict, path: str, kind: str, sharding):
    """Read one member, check it against the manifest, and give it the asked kind."""
    dt, shape = _dtype_from_name(m["dtype"], path), tuple(m["shape"])
    try:
        with zf.open(m["member"]) as member:
            v = _read_npy(member, _stored_dtype(dt), shape)
    except KeyError:
        raise ValueError(f"restore: {path!r} is damaged: {m['path']}'s member "
                         f"{m['member']!r} is missing") from None
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as err:
        raise ValueError(f"restore: {path!r} is damaged: {m['path']}: {err}") from None
    v = v.view(dt)
    if kind == "array":
        return device_put(v, sharding) if sharding is not None else device_put(v)
    if kind == "numpy":
        return v
    if kind == "numpy_scalar":
        return v[()]
    return _PY_TYPES[kind](v[()])


_ALIGN = 64          # bytes: the CPU client adopts a host array this aligned without a copy
_CHUNK = 16 * 2**20  # bytes read at a time (as NumPy writes)


def _read_npy(member, dtype: np.dtype, shape: tuple) -> np.ndarray:
    """One ``.npy`` member, read with NumPy's header reader into a fresh 64-byte-aligned
    array: on the CPU, ``device_put`` then adopts that memory instead of copying it, so
    a restored leaf costs one host allocation, not two.  The header must say the
    manifest's dtype and shape, checked before anything is allocated."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        h_shape, fortran, h_dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        h_shape, fortran, h_dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise ValueError(f".npy format version {version} (written here: 1.0 or 2.0)")
    if h_dtype != dtype or tuple(h_shape) != shape:
        raise ValueError(f"the member holds {h_dtype}{list(h_shape)}, the description says "
                         f"{dtype}{list(shape)}")
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + _ALIGN, np.uint8)
    start = -raw.ctypes.data % _ALIGN
    flat = raw[start:start + nbytes]
    view, done = memoryview(flat), 0
    while done < nbytes:
        n = member.readinto(view[done:done + _CHUNK])
        if not n:
            raise EOFError(f"the member ends after {done} of {nbytes} bytes")
        done += n
    out = flat.view(dtype)
    return out.reshape(shape[::-1]).T if fortran else out.reshape(shape)


def _build_checked(manifest: dict, leaves: list, path: str):
    try:
        return _build(manifest.get("tree"), leaves, ())
    except (IndexError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"restore: {path!r} is damaged: its tree description does not fit "
                         f"its leaves ({type(err).__name__}: {err})") from None


def _build(desc, leaves: list, path: tuple):
    """The saved structure from its JSON description (see ``_describe_tree``)."""
    if desc is None:
        return None
    if isinstance(desc, int):
        return leaves[desc]
    if "dict" in desc:
        return {k: _build(c, leaves, (*path, f"[{k!r}]")) for k, c in desc["dict"]}
    if "list" in desc:
        return [_build(c, leaves, (*path, f"[{i}]")) for i, c in enumerate(desc["list"])]
    if "tuple" in desc:
        return tuple(_build(c, leaves, (*path, f"[{i}]")) for i, c in enumerate(desc["tuple"]))
    raise ValueError(f"restore: the file holds a {desc.get('node')} at {_show(path)}, which "
                     f"it cannot rebuild alone: pass target= (a tree of that structure)")


# --- dtypes and names -----------------------------------------------------------------------------

def _is_ml_dtype(dt: np.dtype) -> bool:
    return dt.type.__module__.split(".")[0] == "ml_dtypes"


def _is_numeric(dt: np.dtype) -> bool:
    return _is_ml_dtype(dt) or (dt.kind in _NUMERIC_KINDS and not dt.hasobject
                                and dt.fields is None and dt.subdtype is None)


def _stored_dtype(dt: np.dtype) -> np.dtype:
    """How ``.npy`` holds ``dt``: itself, or for an ml_dtypes type the unsigned integer of
    its width (NumPy has no name for bfloat16 in a ``.npy`` header)."""
    return np.dtype(f"u{dt.itemsize}") if _is_ml_dtype(dt) else dt


def _dtype_from_name(name, path: str) -> np.dtype:
    """A dtype named in the manifest: NumPy's numeric dtypes and ml_dtypes' only (a
    crafted file cannot ask for an object dtype and have bytes read as pointers)."""
    dt = None
    if isinstance(name, str):
        try:
            dt = np.dtype(getattr(ml_dtypes, name)) if hasattr(ml_dtypes, name) else np.dtype(name)
        except (TypeError, ValueError):
            dt = None
    if dt is None or not _is_numeric(dt):
        raise ValueError(f"restore: {path!r} is damaged: unknown dtype {name!r}")
    return dt


def _show(path) -> str:
    """A key path as text: ``['params']['w']``; the root (a tree that is one leaf) as
    ``<root>``."""
    text = path if isinstance(path, str) else "".join(map(str, path))
    return text or "<root>"
