"""``jit``, ``make_jaxpr``, ``eval_shape`` and device placement."""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Sequence

import numpy as np

from primitives import dtypes
from primitives.core import ClosedJaxpr, ShapedArray
from lowering import _jaxlib
from lowering.compile import compile_jaxpr
from lowering.stablehlo import lower_module

from . import core, passes
from .array import Array
from .core import Builder, Tracer, aval_of_numpy, aval_of_scalar, trace_scope, where
from .tree_util import LEAF, tree_flatten, tree_unflatten

_PY_SCALARS = (int, float, complex, bool)


def _leaf_aval(x, what):
    t = type(x)
    if t is Array or t is Tracer:
        return x.aval
    if t in _PY_SCALARS:
        return aval_of_scalar(x)
    if isinstance(x, (np.ndarray, np.generic)):
        try:
            return aval_of_numpy(x)
        except TypeError as e:
            raise TypeError(f"{what}: {e}") from None
    if t.__name__ == "ArrayImpl":
        return ShapedArray(x.shape, dtypes.canonicalize(x.dtype), x.weak_type)
    raise TypeError(f"{what} is a {t.__name__} ({x!r:.60}), which is not a valid array value; "
                    f"pass arrays or scalars, or mark it static with static_argnums/"
                    f"static_argnames")


def _to_buffer(x):
    t = type(x)
    if t is Array:
        return x._buf
    if t in _PY_SCALARS:
        return core._scalar_buffer(x, aval_of_scalar(x))
    if t.__name__ == "ArrayImpl":
        return x
    return core.array_from_numpy(x)._buf


def trace_to_jaxpr(fun: Callable, in_avals, in_tree, concrete_vals=None) -> tuple:
    """Trace ``fun`` on abstract (or concrete) inputs; returns (ClosedJaxpr, out_tree)."""
    builder = Builder(concrete=concrete_vals is not None)
    with trace_scope(builder):
        vals = concrete_vals or [None] * len(in_avals)
        tracers = [builder.new_arg(a, v) for a, v in zip(in_avals, vals)]
        args, kwargs = tree_unflatten(in_tree, tracers)
        out = fun(*args, **kwargs)
        out_leaves, out_tree = tree_flatten(out)
        for i, o in enumerate(out_leaves):
            if not isinstance(o, (Tracer, Array, np.ndarray, np.generic) + _PY_SCALARS):
                raise TypeError(f"the traced function returned a {type(o).__name__} "
                                f"({o!r:.60}) at output {i}; outputs must be arrays or scalars")
        closed = builder.to_jaxpr(out_leaves)
    return closed, out_tree


class _Entry:
    __slots__ = ("closed", "out_tree", "exe", "const_bufs", "out_avals", "cacheable")


_new_object = object.__new__


class _FastCall:
    """What ``Jitted.__call__`` needs to run a signature it has seen, one attribute away."""
    __slots__ = ("x64", "run", "handlers", "const_bufs", "out_avals", "out_tree", "single",
                 "avals")

    def __init__(self, x64, entry, exe, avals):
        self.x64 = x64
        self.run = exe.exe.execute_sharded   # the PJRT call itself, no Python layer between
        self.handlers = exe.handlers
        self.const_bufs = entry.const_bufs
        self.out_avals = exe.out_avals
        self.out_tree = entry.out_tree
        self.single = entry.out_tree is LEAF
        self.avals = avals                   # keeps the ids in the key alive


class Jitted:
    """A function compiled by XLA on first call for each abstract signature."""

    def __init__(self, fun, static_argnums=(), static_argnames=(), donate_argnums=(),
                 in_shardings=None, out_shardings=None):
        functools.update_wrapper(self, fun)
        if not hasattr(self, "__name__"):   # functools.partial, callable objects
            self.__name__ = getattr(type(fun), "__name__", "fun")
        self._fun = fun
        if isinstance(static_argnums, int):
            static_argnums = (static_argnums,)
        if isinstance(static_argnames, str):
            static_argnames = (static_argnames,)
        if isinstance(donate_argnums, int):
            donate_argnums = (donate_argnums,)
        self._static_argnums = tuple(static_argnums or ())
        self._static_argnames = tuple(static_argnames or ())
        self._donate_argnums = tuple(donate_argnums or ())
        try:
            self._sig = inspect.signature(fun)
        except (TypeError, ValueError):
            self._sig = None
        self._cache: dict = {}
        self._fast_ids: dict = {}    # aval ids -> _FastCall: positional Array calls
        self._fast_trees: dict = {}  # (treedef, leaf aval ids) -> _FastCall: pytree calls
        self.trace_count = 0  # how many times the Python function was traced

    def __get__(self, obj, objtype=None):  # methods
        return self if obj is None else functools.partial(self, obj)

    def _split(self, args, kwargs):
        """(dynamic args, dynamic kwargs, static key)."""
        statics = []
        if self._static_argnums:
            n = len(args)
            idx = {i % n if -n <= i < 0 else i for i in self._static_argnums}
            for i in sorted(idx):
                if i >= n:
                    raise TypeError(f"jit: static_argnums={self._static_argnums} refers to "
                                    f"argument {i}, but only {n} positional arguments were given")
                statics.append(("pos", i, args[i]))
            args = tuple(a for i, a in enumerate(args) if i not in idx)
        if self._static_argnames and kwargs:
            st = {k: v for k, v in kwargs.items() if k in self._static_argnames}
            statics.extend(("kw", k, v) for k, v in sorted(st.items()))
            kwargs = {k: v for k, v in kwargs.items() if k not in self._static_argnames}
        for kind, name, v in statics:
            try:
                hash(v)
            except TypeError:
                raise TypeError(
                    f"jit: static argument {name!r} of {self.__name__} has unhashable type "
                    f"{type(v).__name__} ({v!r:.60}); static arguments must be hashable "
                    f"(use a tuple instead of a list){where()}") from None
        return args, kwargs, tuple(statics)

    def _merge(self, dyn_args, dyn_kwargs, statics):
        args = list(dyn_args)
        kwargs = dict(dyn_kwargs)
        for kind, name, v in statics:
            if kind == "pos":
                args.insert(name, v)
            else:
                kwargs[name] = v
        return args, kwargs

    def _signature(self, args, kwargs):
        dyn_args, dyn_kwargs, statics = self._split(args, kwargs) \
            if (self._static_argnums or self._static_argnames) else (args, kwargs, ())
        leaves, tree = tree_flatten((tuple(dyn_args), dyn_kwargs))
        avals = tuple(x.aval if type(x) is Array else
                      _leaf_aval(x, f"jit({self.__name__}): argument {i}")
                      for i, x in enumerate(leaves))
        return (tree, statics, avals, dtypes._x64[0]), leaves, tree, statics, avals

    def _trace(self, key, tree, statics, avals) -> _Entry:
        self.trace_count += 1

        def flat_fun(*dyn_args, **dyn_kwargs):
            a, k = self._merge(dyn_args, dyn_kwargs, statics)
            return self._fun(*a, **k)
        closed, out_tree = trace_to_jaxpr(flat_fun, avals, tree)
        entry = _Entry()
        entry.closed = passes.simplify(closed)
        entry.out_tree = out_tree
        entry.exe = None
        entry.out_avals = [a.aval if hasattr(a, "aval") else a for a in entry.closed.jaxpr.outvars]
        entry.cacheable = not any(type(c) is Tracer for c in entry.closed.consts)
        if entry.cacheable:
            self._cache[key] = entry
        return entry

    def _compiled(self, entry: _Entry):
        if entry.exe is None:
            closed = entry.closed
            donated = [len(closed.consts) + i for i in self._donate_argnums]
            entry.exe = compile_jaxpr(closed.jaxpr, donated=())
            entry.const_bufs = [c._buf for c in closed.consts]
        return entry.exe

    def __call__(self, *args, **kwargs):
        if not kwargs and not core._stack:
            # fast path: positional Array arguments whose signature ran before.  Arrays
            # made by the same executable share aval objects, so the aval ids are a
            # cheap key; the entry keeps those avals alive, so no other live object has
            # one of those ids (a jax.Array's or a tracer's aval is a different object).
            leaves = args
            try:
                fast = self._fast_ids[tuple([id(x.aval) for x in args])]
            except (KeyError, AttributeError):
                fast = None
                if self._fast_trees:   # pytree arguments (a list of (W, b) pairs, ...)
                    leaves, tree = tree_flatten((args, {}))
                    try:
                        fast = self._fast_trees[(tree, tuple([id(x.aval) for x in leaves]))]
                    except (KeyError, AttributeError):
                        fast = None
            if fast is not None and fast.x64 == dtypes._x64[0]:
                bufs = fast.run(fast.const_bufs + [x._buf for x in leaves]) \
                    .consume_with_handlers(fast.handlers)
                if fast.single:   # Array._from_buffer, inlined: one call less per output
                    out = _new_object(Array)
                    out._buf, out.aval = bufs[0], fast.out_avals[0]
                    return out
                new = Array._from_buffer
                return tree_unflatten(fast.out_tree,
                                      [new(b, a) for b, a in zip(bufs, fast.out_avals)])
        return self._call_slow(args, kwargs)

    def _call_slow(self, args, kwargs):
        key, leaves, tree, statics, avals = self._signature(args, kwargs)
        entry = self._cache.get(key)
        if entry is None:
            entry = self._trace(key, tree, statics, avals)
        if core._stack:  # inside another trace: inline the traced program
            outs = core.eval_jaxpr(entry.closed.jaxpr, entry.closed.consts, leaves)
            return tree_unflatten(entry.out_tree, outs)
        exe = self._compiled(entry)
        if not kwargs and not statics and not self._static_argnums and \
                all(type(x) is Array for x in leaves):
            fast, ids = _FastCall(key[3], entry, exe, avals), tuple(id(a) for a in avals)
            flat = len(leaves) == len(args) and all(type(x) is Array for x in args)
            table = self._fast_ids if flat else self._fast_trees
            if len(table) > 256:
                table.clear()
            table[ids if flat else (tree, ids)] = fast
        bufs = entry.const_bufs + [_to_buffer(x) for x in leaves]
        outs = exe(bufs)
        outs = [Array._from_buffer(b, a) for b, a in zip(outs, exe.out_avals)]
        if entry.out_tree is LEAF:
            return outs[0]
        return tree_unflatten(entry.out_tree, outs)

    def lower(self, *args, **kwargs) -> "Lowered":
        key, leaves, tree, statics, avals = self._signature(args, kwargs)
        entry = self._cache.get(key) or self._trace(key, tree, statics, avals)
        return Lowered(self, entry)

    def trace(self, *args, **kwargs):
        return self.lower(*args, **kwargs)

    def _cache_size(self):
        return len(self._cache)

    def clear_cache(self):
        self._cache.clear()
        self._fast_ids.clear()
        self._fast_trees.clear()


class Lowered:
    """``jit(f).lower(*args)``: the StableHLO program for one signature."""

    def __init__(self, jitted: Jitted, entry: _Entry):
        self._jitted = jitted
        self._entry = entry

    def as_text(self, dialect: str = "stablehlo") -> str:
        return lower_module(self._entry.closed.jaxpr)

    @property
    def jaxpr(self) -> ClosedJaxpr:
        return self._entry.closed

    def compile(self) -> "Compiled":
        self._jitted._compiled(self._entry)
        return Compiled(self._entry)


class Compiled:
    def __init__(self, entry: _Entry):
        self._entry = entry

    def __call__(self, *args, **kwargs):
        leaves, _ = tree_flatten((args, kwargs))
        e = self._entry
        outs = e.exe(e.const_bufs + [_to_buffer(x) for x in leaves])
        return tree_unflatten(e.out_tree, [Array._from_buffer(b, a)
                                           for b, a in zip(outs, e.exe.out_avals)])

    def as_text(self) -> str:
        return self._entry.exe.hlo_text()


def jit(fun: Callable | None = None, *, static_argnums=(), static_argnames=(), donate_argnums=(),
        donate_argnames=(), in_shardings=None, out_shardings=None, inline=False, backend=None,
        device=None, keep_unused=False):
    """Compile ``fun`` with XLA; usable as ``@jit`` or ``@jit(static_argnums=...)``."""
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums,
                                 static_argnames=static_argnames, donate_argnums=donate_argnums,
                                 in_shardings=in_shardings, out_shardings=out_shardings)
    if not callable(fun):
        raise TypeError(f"jit: expected a callable, got {type(fun).__name__}")
    return Jitted(fun, static_argnums, static_argnames, donate_argnums, in_shardings,
                  out_shardings)


def make_jaxpr(fun: Callable, static_argnums=(), return_shape=False):
    """``make_jaxpr(f)(*args)`` is the IR of ``f`` at those argument types."""
    static_argnums = (static_argnums,) if isinstance(static_argnums, int) else \
        tuple(static_argnums)

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        statics = {i: args[i] for i in static_argnums}
        dyn = tuple(a for i, a in enumerate(args) if i not in statics)

        def flat_fun(*dyn_args, **kw):
            it = iter(dyn_args)
            full = [statics[i] if i in statics else next(it) for i in range(len(args))]
            return fun(*full, **kw)
        leaves, tree = tree_flatten((dyn, kwargs))
        avals = [_leaf_aval(x, f"make_jaxpr({getattr(fun, '__name__', 'fun')}): argument {i}")
                 for i, x in enumerate(leaves)]
        closed, out_tree = trace_to_jaxpr(flat_fun, avals, tree)
        closed = passes.simplify(closed)
        if return_shape:
            shapes = [ShapeDtypeStruct(a.aval.shape, a.aval.dtype) for a in closed.jaxpr.outvars]
            return closed, tree_unflatten(out_tree, shapes)
        return closed
    return wrapped


class ShapeDtypeStruct:
    __slots__ = ("shape", "dtype", "weak_type", "sharding")

    def __init__(self, shape, dtype, weak_type=False, sharding=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = weak_type
        self.sharding = sharding

    @property
    def aval(self):
        return ShapedArray(self.shape, dtypes.canonicalize(self.dtype), self.weak_type)

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape)))

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"

    def __eq__(self, other):
        return isinstance(other, ShapeDtypeStruct) and (self.shape, self.dtype) == \
            (other.shape, other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))


def eval_shape(fun: Callable, *args, **kwargs):
    leaves, tree = tree_flatten((args, kwargs))
    avals = [x.aval if isinstance(x, ShapeDtypeStruct) else _leaf_aval(x, "eval_shape argument")
             for x in leaves]
    closed, out_tree = trace_to_jaxpr(fun, avals, tree)
    return tree_unflatten(out_tree, [ShapeDtypeStruct(a.aval.shape, a.aval.dtype, a.aval.weak_type)
                                     for a in closed.jaxpr.outvars])


# --- devices --------------------------------------------------------------------------------------

def devices(backend: str | None = None):
    return list(_jaxlib.client(backend).devices())


def local_devices(process_index=None, backend: str | None = None):
    return list(_jaxlib.client(backend).local_devices())


def device_count(backend=None):
    return len(devices(backend))


def local_device_count(backend=None):
    return len(local_devices(backend=backend))


def default_backend() -> str:
    return _jaxlib.default_device().platform


def process_index():
    return 0


def device_put(x, device=None, *, may_alias=None, donate=False):
    """Copy a pytree of arrays to ``device`` (default: the default device)."""
    from .tree_util import tree_map

    def put(leaf):
        if isinstance(leaf, Array):
            if device is None or leaf.device == device:
                return leaf
            return core.array_from_numpy(np.asarray(leaf), device, leaf.weak_type)
        if type(leaf) in _PY_SCALARS:
            from . import numpy as jnp
            return jnp.asarray(leaf)
        return core.array_from_numpy(np.asarray(leaf), device)
    return tree_map(put, x)


def device_get(x):
    from .tree_util import tree_map
    return tree_map(lambda l: np.asarray(l) if isinstance(l, Array) else l, x)


def block_until_ready(x):
    from .tree_util import tree_leaves
    for leaf in tree_leaves(x):
        if isinstance(leaf, Array):
            leaf.block_until_ready()
    return x


def from_jax(x) -> Array:
    """Wrap a ``jax.Array`` (single device) as an ``xform.Array`` without copying."""
    aval = ShapedArray(x.shape, x.dtype, getattr(x, "weak_type", False))
    if aval.dtype != dtypes.canonicalize(aval.dtype):
        return core.array_from_numpy(np.asarray(x))
    return Array._from_buffer(x, aval)


def from_dlpack(x) -> Array:
    buf = _jaxlib.from_dlpack(x)
    return Array._from_buffer(buf, ShapedArray(buf.shape, buf.dtype))
