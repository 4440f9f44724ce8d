"""The persistent trace cache: a second process that calls the same jitted function with
the same signature skips tracing, transforms and lowering, not only XLA's compile.

``jit`` asks it on a miss of its in-memory cache (``lookup``) and hands it each program
it traced and compiled (``store``).  An entry holds what running the program needs: the
lowered module text (compiled through the persistent compilation cache, so a hit loads
the executable), the captured constants, the output structure and avals, and which
arguments are donated.  Files live in ``lowering.disk_cache`` (kind ``trace``).

**The key must change whenever the traced program could.**  It is a SHA-256 over:

* the argument signature (structure, shapes, dtypes, weak types), static arguments, the
  configuration a trace depends on (``config.trace_key``), the platform and device kind;
* the environment: xform's own source files (paths, sizes, modification times: an edit
  of the library misses), and the NumPy, jaxlib and Python versions;
* the function, walked as a value (``_Walker``): its bytecode, constants, defaults and
  closure cells; every global its code (and its nested functions' code) names, by value;
  functions reached that way recursively, user modules' attributes that the code names,
  user classes' methods, objects' attributes, array contents (hashed), ``partial``
  arguments, bound methods' ``self``.  Library code (installed packages, the standard
  library, xform) counts by name: its version is in the environment part.

A value the walker does not know how to fingerprint (an object without attributes, a
traced value, an open file), or more than ``_LIMIT`` values, makes the function
uncacheable: it is traced as usual.  Programs with host callbacks (their Python
functions are not in the file), shardings or a committed device are not stored.

What the key cannot see: a trace that depends on something outside the values the code
names (a file it reads, the clock, NumPy's global random state, environment variables)
is replayed as it was first traced.  JAX's own in-process cache has the same contract
(and does not even notice a changed global); ``config.update("xform_trace_cache",
False)`` turns this cache off.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import sys
import sysconfig
import types

import numpy as np

from primitives.core import ShapedArray, jaxpr_effects
from lowering import _jaxlib, disk_cache
from lowering.compile import Executable, program_kind

from ..core import Array, Tracer
from ..core import config as _config
from ..core.array import array_from_numpy
from ..core.pytree import treedef_from_json, treedef_to_json

_XFORM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIMIT = 20000          # values walked per function, at most
_FORMAT = 1


class _Unknown(Exception):
    """A value the walker cannot fingerprint: the function is not cached."""


def _library_roots() -> tuple:
    import lowering
    import primitives
    roots = {_XFORM_DIR, os.path.dirname(primitives.__file__),
             os.path.dirname(lowering.__file__), sys.prefix, sys.base_prefix}
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(name)
        if p:
            roots.add(p)
    return tuple(os.path.realpath(r) + os.sep for r in roots)


@functools.lru_cache(maxsize=1)
def _roots():
    return _library_roots()


@functools.lru_cache(maxsize=4096)
def _is_library_file(filename: str) -> bool:
    if not filename or filename.startswith("<"):
        return filename.startswith("<frozen")   # (<string>: exec'd code, walked)
    return os.path.realpath(filename).startswith(_roots())


def _is_library_module(m) -> bool:
    f = getattr(m, "__file__", None)
    return f is None or _is_library_file(f)


@functools.lru_cache(maxsize=1)
def environment() -> str:
    """xform's sources (path, size, mtime) and the versions of what a trace runs."""
    import lowering
    import primitives
    h = hashlib.sha256()
    for base in (_XFORM_DIR, os.path.dirname(primitives.__file__),
                 os.path.dirname(lowering.__file__)):
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(".py"):
                    st = os.stat(os.path.join(dirpath, name))
                    h.update(f"{dirpath}/{name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    h.update(f"{np.__version__}|{_jaxlib.version()}|{sys.version}".encode())
    return h.hexdigest()


class _Walker:
    """Feeds a canonical description of values into a SHA-256."""

    def __init__(self):
        self.h = hashlib.sha256()
        self.seen: dict = {}
        self.count = 0

    def emit(self, *parts):
        for p in parts:
            b = p if isinstance(p, bytes) else str(p).encode()
            self.h.update(len(b).to_bytes(8, "little"))
            self.h.update(b)

    def value(self, v, names=frozenset()):
        self.count += 1
        if self.count > _LIMIT:
            raise _Unknown("too many values")
        t = type(v)
        if v is None or t in (bool, int, float, complex, str, bytes, type(Ellipsis)):
            return self.emit(t.__name__, repr(v))
        if t in (tuple, list):
            self.emit(t.__name__, len(v))
            for x in v:
                self.value(x, names)
            return
        if t is dict:
            self.emit("dict", len(v))
            for k, x in v.items():
                self.value(k, names)
                self.value(x, names)
            return
        if t in (set, frozenset):
            if not all(type(x) in (bool, int, float, str, bytes) for x in v):
                raise _Unknown("a set of objects")
            return self.emit(t.__name__, repr(sorted(v, key=repr)))
        if t is Tracer:
            raise _Unknown("a traced value")
        if t is Array:
            if v.is_deleted():
                raise _Unknown("a deleted array")
            return self.array(np.asarray(v), v.weak_type)
        if isinstance(v, np.ndarray):
            return self.array(v, False)
        if isinstance(v, (np.generic, np.dtype)):
            return self.emit(type(v).__name__, repr(v))
        key = id(v)
        if key in self.seen:
            return self.emit("ref", self.seen[key])
        self.seen[key] = len(self.seen)
        if isinstance(v, types.ModuleType):
            return self.module(v, names)
        if isinstance(v, types.FunctionType):
            return self.function(v)
        if isinstance(v, types.MethodType):
            self.value(v.__func__, names)
            return self.value(v.__self__, names)
        if isinstance(v, (types.BuiltinFunctionType, types.BuiltinMethodType,
                          types.WrapperDescriptorType, types.MethodWrapperType,
                          types.MethodDescriptorType)):
            owner = getattr(v, "__self__", None)
            self.emit("builtin", getattr(v, "__module__", None), v.__qualname__)
            if owner is not None and not isinstance(owner, types.ModuleType):
                self.value(owner, names)
            return
        if isinstance(v, functools.partial):
            self.emit("partial")
            self.value(v.func, names)
            self.value(v.args, names)
            return self.value(v.keywords, names)
        if isinstance(v, type):
            return self.cls(v)
        if hasattr(v, "_fun") and type(v).__name__ == "Jitted":
            self.emit("jit", v._static_argnums, v._static_argnames, v._donate_argnums,
                      v._donate_argnames)
            return self.value(v._fun, names)
        return self.instance(v, names)

    def array(self, a, weak):
        a = np.ascontiguousarray(a)
        if a.dtype == object:
            raise _Unknown("an object array")
        self.emit("array", a.dtype.str, a.shape, weak, hashlib.sha256(a.view(np.uint8)
                                                                      .reshape(-1)).digest())

    def code(self, co):
        self.emit("code", co.co_name, co.co_argcount, co.co_kwonlyargcount, co.co_flags,
                  co.co_code, co.co_names, co.co_varnames, co.co_freevars, co.co_cellvars)
        for c in co.co_consts:
            if isinstance(c, types.CodeType):
                self.code(c)
            else:
                self.value(c)

    def function(self, f):
        """A library function counts by name, but its closure, defaults and attributes
        are walked (``grad(loss)`` is a library closure over the user's ``loss``)."""
        co = f.__code__
        library = _is_library_file(co.co_filename)
        self.emit("libfn" if library else "fn", f.__module__, f.__qualname__)
        if not library:
            self.code(co)
        self.value(f.__defaults__)
        self.value(f.__kwdefaults__)
        for cell in f.__closure__ or ():
            try:
                self.value(cell.cell_contents)
            except ValueError:          # an empty cell
                self.emit("empty cell")
        extra = {k: v for k, v in vars(f).items() if k not in ("__doc__", "__module__")}
        if extra:
            self.value(extra)
        if library:
            return
        names = _names(co)
        g = f.__globals__
        for name in sorted(names):
            if name in g:
                self.emit("global", name)
                self.value(g[name], names)

    def module(self, m, names):
        self.emit("module", m.__name__)
        if _is_library_module(m):
            return
        for name in sorted(names):       # the attributes the code may read of it
            if name in vars(m):
                self.emit("attr", name)
                self.value(vars(m)[name], names)

    def cls(self, c):
        self.emit("class", c.__module__, c.__qualname__)
        if _is_library_module(sys.modules.get(c.__module__)):
            return
        for b in c.__bases__:
            self.value(b)
        for name, attr in sorted(vars(c).items()):
            if name in ("__dict__", "__weakref__", "__doc__", "__module__", "__qualname__",
                        "__annotations__", "__dataclass_fields__", "__dataclass_params__",
                        "__match_args__", "__slots__", "__hash__"):
                continue
            if isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            elif isinstance(attr, property):
                attr = (attr.fget, attr.fset)
            self.emit("member", name)
            self.value(attr)

    def instance(self, v, names):
        t = type(v)
        self.cls(t)
        state = getattr(v, "__dict__", None)
        slots = [s for k in t.__mro__ for s in getattr(k, "__slots__", ())
                 if isinstance(s, str)]
        if state is None and not slots:
            if _is_library_module(sys.modules.get(t.__module__)) and " at 0x" not in repr(v):
                return self.emit("repr", repr(v))
            raise _Unknown(f"a {t.__qualname__} object")
        if state is not None:
            self.value(dict(state), names)
        for s in slots:
            if s not in ("__dict__", "__weakref__"):
                self.value(getattr(v, s, None), names)


def _names(co) -> frozenset:
    out = set(co.co_names)
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            out |= _names(c)
    return frozenset(out)


def enabled() -> bool:
    return disk_cache.ENABLED and _config.config._values["xform_trace_cache"]


def key_of(jitted, tree, statics, avals) -> str | None:
    """The entry's key, or None when the function cannot be fingerprinted."""
    w = _Walker()
    try:
        w.value(jitted._fun)
        w.value([(kind, name, v) for kind, name, v in statics])
    except (_Unknown, RecursionError):
        return None
    except Exception:   # noqa: BLE001 - a value whose attributes raise when read
        return None
    dev = _jaxlib.default_device()
    return disk_cache.key("trace", _FORMAT, environment(), w.h.hexdigest(), repr(tree),
                          [(a.shape, a.dtype.str, a.weak_type) for a in avals],
                          repr(_config.trace_key), dev.platform, dev.device_kind)


def lookup(k: str):
    """``(exe, consts, out_tree, donate, donated)`` stored under ``k``, or None."""
    blob = disk_cache.get("trace", k)
    if blob is None:
        return None
    try:
        head_len = int.from_bytes(blob[:8], "little")
        head = json.loads(blob[8:8 + head_len])
        text = blob[8 + head_len:8 + head_len + head["text_size"]].decode()
        consts_raw = blob[8 + head_len + head["text_size"]:]
        with np.load(io.BytesIO(consts_raw), allow_pickle=False) as z:
            consts = [z[f"c{i}"] for i in range(head["n_consts"])]
        out_avals = [ShapedArray(tuple(s), np.dtype(d), w) for s, d, w in head["out_avals"]]
        param_avals = [ShapedArray(tuple(s), np.dtype(d), w) for s, d, w in head["params"]]
        out_tree = treedef_from_json(head["out_tree"])
    except Exception:   # noqa: BLE001 - an entry of another format: drop it
        disk_cache.discard("trace", k)
        return None
    exe = Executable(text, out_avals, _jaxlib.default_device(), kind=head["kind"],
                     param_avals=param_avals, name="a program from the trace cache")
    arrays = [array_from_numpy(c, weak_type=w) for c, w in zip(consts, head["const_weak"])]
    return exe, arrays, out_tree, tuple(head["donate"]), tuple(head["donated"])


def store(k: str, entry) -> None:
    """Write ``entry`` (a compiled ``jit`` cache entry) under ``k``, when it can be."""
    closed, exe = entry.closed, entry.exe
    if exe is None or exe.mesh is not None or entry.device is not None or \
            exe.callbacks or jaxpr_effects(closed.jaxpr) or \
            any(type(c) is not Array for c in closed.consts):
        return
    try:
        out_tree = treedef_to_json(entry.out_tree)
    except Exception:   # noqa: BLE001 - an unserializable node (or its user serializer failed)
        return
    buf = io.BytesIO()
    np.savez(buf, **{f"c{i}": np.asarray(c) for i, c in enumerate(closed.consts)})
    text = exe.text.encode()
    head = json.dumps({
        "text_size": len(text), "n_consts": len(closed.consts),
        "const_weak": [bool(c.aval.weak_type) for c in closed.consts],
        "out_avals": [[list(a.shape), a.dtype.str, bool(a.weak_type)] for a in exe.out_avals],
        "params": [[list(a.shape), a.dtype.str, bool(a.weak_type)] for a in exe.in_avals],
        "out_tree": out_tree, "kind": program_kind(closed.jaxpr),
        "donate": list(entry.donate), "donated": list(entry.donated)}).encode()
    disk_cache.put("trace", k, len(head).to_bytes(8, "little") + head + text + buf.getvalue())
