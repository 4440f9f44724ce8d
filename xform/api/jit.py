"""``jit``, ``make_jaxpr``, ``eval_shape`` (devices and placement: ``devices.py``)."""
from __future__ import annotations

import functools
import inspect
import warnings
import weakref
from typing import Callable

import numpy as np

from primitives import lru
from primitives.sharding import (NamedSharding, PartitionSpec, Sharding, SingleDeviceSharding,
                                 context_mesh)
from primitives.lru import LRU
from lowering import _jaxlib
from lowering.compile import compile_jaxpr
from lowering.emitter import io_aliases

from .. import passes
from ..core import trace as core
from ..core import Array, Tracer, aval_of_scalar, where
from ..core import array as array_mod
from ..core.array import raise_if_deleted
from ..core import checks as _checks, nan_check
from ..core import config as _config   # the module: its trace_key and _option
from ..core.checks import check_ir
from ..core.pytree import LEAF, broadcast_prefix, node_aux, tree_flatten, tree_unflatten
from ..core.trace import leaf_aval, trace_to_jaxpr
from .stages import Lowered, ShapeDtypeStruct
from . import trace_cache

_PY_SCALARS = (int, float, complex, bool)


def _to_buffer(x):
    t = type(x)
    if t is Array:
        return x._buf
    if t in _PY_SCALARS:
        return core._scalar_buffer(x, aval_of_scalar(x))
    if t.__name__ == "ArrayImpl":
        return x
    return core.array_from_numpy(x)._buf


class _Entry:
    __slots__ = ("closed", "out_tree", "exe", "const_bufs", "out_avals", "cacheable",
                 "donate", "donated", "arg_shardings", "out_shardings", "in_tree", "device",
                 "persist_key")
    # closed: the traced program; None for an entry loaded from the persistent trace
    # cache (trace_cache.py), which is traced again only if the jaxpr itself is needed
    # (lower(), or a call inside another trace); persist_key: the trace cache key this
    # entry is stored under once compiled (None: not stored)
    # donate: flat argument leaves the caller asked to donate (donate_argnums/argnames);
    # donated: those whose buffers an output reuses (known once compiled);
    # arg_shardings / out_shardings: per parameter (captured constants first) / output,
    # the NamedSharding asked for (in_shardings, a committed argument's own layout,
    # out_shardings) or None; None when nothing is asked (a one-device program);
    # device: the one device other than the default that committed arguments put the
    # program on (None: the default device, or a mesh)


_new_object = object.__new__


class _FastCall:
    """What ``Jitted.__call__`` needs to run a signature it has seen, one attribute away."""
    __slots__ = ("x64", "run", "handlers", "const_bufs", "out_avals", "out_tree", "single",
                 "avals", "donated", "exe", "out_shardings")

    def __init__(self, x64, entry, exe, avals):
        self.x64 = x64
        self.run = exe.pjrt_call   # the PJRT call itself, no Python layer between
        self.handlers = exe.handlers
        self.const_bufs = entry.const_bufs
        self.out_avals = exe.out_avals
        self.out_tree = entry.out_tree
        self.single = entry.out_tree == LEAF
        self.avals = avals                   # keeps the ids in the key alive
        self.donated = entry.donated         # () unless this signature donates buffers
        # a program over a mesh or on a committed device: called through ``exe`` (which
        # keeps one collective program in flight on the CPU), with the constants laid
        # out once; its outputs carry ``out_shardings``
        self.exe = self.out_shardings = None
        if exe.mesh is not None or entry.device is not None:
            self.exe = exe
            if exe.mesh is not None:
                self.out_shardings = exe.out_shardings
                self.const_bufs = [array_mod.laid_out(c, s, b, "jit") for c, s, b in zip(
                    entry.const_bufs, exe.in_shardings, exe.in_buffer_shardings)]
            else:
                self.out_shardings = [SingleDeviceSharding(exe.device)] * len(exe.out_avals)
                self.const_bufs = [array_mod.laid_out(c, self.out_shardings[0], None, "jit")
                                   for c in entry.const_bufs]


# jit options xform does not implement: given a value other than the default, jit raises
# NotImplementedError instead of accepting and ignoring it.
_NOT_IMPLEMENTED = {
    "device": "xform runs every jitted function on the default device (pick the "
              "platform with config.update('jax_platforms', ...))",
    "backend": "xform runs every jitted function on the default device (pick the "
               "platform with config.update('jax_platforms', ...))",
}


def _refuse_unimplemented(fname, **given):
    for name, value in given.items():
        if value is not None:
            raise NotImplementedError(
                f"jit({fname}): {name}={value!r:.60} is not implemented: "
                f"{_NOT_IMPLEMENTED[name]}. Leave {name} unset.")


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _donation_args(sig, fname, argnums, argnames, static_argnums, static_argnames):
    """``(donate_argnums, donate_argnames)`` as JAX completes them: when only one is given,
    the other follows from the signature (a donated parameter is donated whether it is
    passed by position or by name)."""
    for i in argnums:
        if not isinstance(i, int):
            raise TypeError(f"jit({fname}): donate_argnums must be ints, got {i!r}")
    for n in argnames:
        if not isinstance(n, str):
            raise TypeError(f"jit({fname}): donate_argnames must be strings, got {n!r}")
    if sig is not None:
        argnums, argnames = _complete_argnums(sig, fname, argnums, argnames)
    both = sorted(set(argnums) & set(static_argnums)) + \
        sorted(set(argnames) & set(static_argnames))
    if both:
        raise ValueError(f"jit({fname}): arguments {both} are both static and donated; a "
                         f"static argument is a Python value, not a buffer to donate")
    return argnums, argnames


def _complete_argnums(sig, fname, argnums, argnames, what="donate"):
    """Check ``{what}_argnums`` / ``{what}_argnames`` against the signature and, when only
    one is given, derive the other (as JAX does for static and donated arguments): a
    parameter is static (donated) whether it is passed by position or by name."""
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in _POSITIONAL]
    var_pos = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    n = len(positional)
    if not var_pos:
        for i in argnums:
            if not -n <= i < n:
                raise ValueError(f"jit({fname}): {what}_argnums={argnums} refers to argument "
                                 f"{i}, but {fname} takes {n} positional arguments")
        argnums = tuple(i % n for i in argnums)
    if not var_kw:
        bad = [a for a in argnames if a not in sig.parameters or
               sig.parameters[a].kind is inspect.Parameter.POSITIONAL_ONLY]
        if bad:
            raise ValueError(f"jit({fname}): {what}_argnames names {bad}, which {fname} "
                             f"does not take by name")
    if argnums and not argnames:
        argnames = tuple(positional[i].name for i in argnums if 0 <= i < n and
                         positional[i].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD)
    elif argnames and not argnums:
        argnums = tuple(i for i, p in enumerate(positional) if p.name in argnames and
                        p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return argnums, argnames


# `disable_jit` (the ``jax_disable_jit`` option): while on, a jitted function called outside
# any trace runs its Python eagerly, op by op.  The option is part of ``config.trace_key``,
# which every fast-call entry is checked against, so each call then takes the slow path,
# which tests the switch.
_JITS: "weakref.WeakSet[Jitted]" = weakref.WeakSet()


def disable_jit(disable: bool = True):
    """``with disable_jit():`` jitted functions run as plain Python, op by op (eagerly), so
    ``print`` shows values and a debugger can step through them (as ``jax.disable_jit``).
    Transformations other than ``jit`` still apply."""
    return _config._option("jax_disable_jit", disable)


class Jitted:
    """A function compiled by XLA on first call for each abstract signature."""

    def __init__(self, fun, static_argnums=(), static_argnames=(), donate_argnums=(),
                 donate_argnames=(), in_shardings=None, out_shardings=None):
        functools.update_wrapper(self, fun)
        self._in_shardings = in_shardings
        self._out_shardings = out_shardings
        if not hasattr(self, "__name__"):   # functools.partial, callable objects
            self.__name__ = getattr(type(fun), "__name__", "fun")
        self._fun = fun
        if isinstance(static_argnums, int):
            static_argnums = (static_argnums,)
        if isinstance(static_argnames, str):
            static_argnames = (static_argnames,)
        if isinstance(donate_argnums, int):
            donate_argnums = (donate_argnums,)
        if isinstance(donate_argnames, str):
            donate_argnames = (donate_argnames,)
        self._static_argnums = tuple(static_argnums or ())
        self._static_argnames = tuple(static_argnames or ())
        try:
            self._sig = inspect.signature(fun)
        except (TypeError, ValueError):
            self._sig = None
        if self._sig is not None and (self._static_argnums or self._static_argnames):
            self._static_argnums, self._static_argnames = _complete_argnums(
                self._sig, self.__name__, self._static_argnums, self._static_argnames,
                "static")
        self._donate_argnums, self._donate_argnames = _donation_args(
            self._sig, self.__name__, tuple(donate_argnums or ()), tuple(donate_argnames or ()),
            self._static_argnums, self._static_argnames)
        # bounded LRUs (primitives/lru.py), like every cache keyed by signature
        self._cache = LRU(f"jit({self.__name__}) signatures")
        # aval ids -> _FastCall: positional Array calls; (treedef, leaf aval ids) ->
        # _FastCall: pytree calls.  Hits read the plain dicts.
        self._fast_ids_lru = LRU(f"jit({self.__name__}) fast calls")
        self._fast_trees_lru = LRU(f"jit({self.__name__}) fast pytree calls")
        self._fast_ids = self._fast_ids_lru.data
        self._fast_trees = self._fast_trees_lru.data
        _JITS.add(self)
        self.trace_count = 0  # how many times the Python function was traced

    def __get__(self, obj, objtype=None):  # methods
        return self if obj is None else functools.partial(self, obj)

    def _split(self, args, kwargs):
        """(dynamic args, dynamic kwargs, static key)."""
        statics = []
        if self._static_argnums:
            n = len(args)
            # as JAX: an index past the positional arguments given is not a static
            # argument of this call (the parameter was passed by name, or defaulted)
            idx = {i % n if -n <= i < 0 else i for i in self._static_argnums}
            idx = {i for i in idx if 0 <= i < n}
            for i in sorted(idx):
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
        avals = tuple(x.aval if type(x) is Array or type(x) is ShapeDtypeStruct else
                      leaf_aval(x, f"jit({self.__name__}): argument {i}")
                      for i, x in enumerate(leaves))
        # with debug_nans / debug_infs on, a signature is traced anew and compiled without
        # donation (the program may have to be run again op by op on its arguments)
        key = (tree, statics, avals,
               (_config.trace_key, "checked") if _checks.special else _config.trace_key)
        if array_mod.any_sharded:   # a committed layout is part of the signature
            layouts = tuple(getattr(x, "_sharding", None) if type(x) is Array else None
                            for x in leaves)
            if any(s is not None for s in layouts):
                key = key + (layouts,)
        return key, leaves, tree, statics, avals

    def _donated_leaves(self, tree, statics) -> tuple:
        """The flat argument leaves that ``donate_argnums`` / ``donate_argnames`` name, for
        arguments of structure ``tree`` (of ``(dynamic args, dynamic kwargs)``)."""
        if not (self._donate_argnums or self._donate_argnames):
            return ()
        top = tree.children()
        arg_defs, kw_def = top[0].children(), top[1]
        static_pos = {name for kind, name, _ in statics if kind == "pos"}
        n = len(arg_defs) + len(static_pos)
        nums = {i % n if -n <= i < 0 else i for i in self._donate_argnums}
        positions = [i for i in range(n) if i not in static_pos]
        out, start = [], 0
        for i, d in zip(positions, arg_defs):
            if i in nums:
                out.extend(range(start, start + d.num_leaves))
            start += d.num_leaves
        for name, d in zip(node_aux(kw_def), kw_def.children()):
            if name in self._donate_argnames:
                out.extend(range(start, start + d.num_leaves))
            start += d.num_leaves
        return tuple(out)

    def _trace(self, key, tree, statics, avals) -> _Entry:
        self.trace_count += 1

        def flat_fun(*dyn_args, **dyn_kwargs):
            a, k = self._merge(dyn_args, dyn_kwargs, statics)
            return self._fun(*a, **k)
        flat_fun.__wrapped__ = self._fun
        closed, out_tree = trace_to_jaxpr(flat_fun, avals, tree)
        entry = _Entry()
        entry.persist_key = None
        entry.closed = passes.simplify(closed)
        entry.out_tree = out_tree
        entry.exe = None
        entry.out_avals = [a.aval if hasattr(a, "aval") else a for a in entry.closed.jaxpr.outvars]
        entry.donate = () if _checks.special else self._donated_leaves(tree, statics)
        entry.donated = ()
        entry.in_tree = tree
        committed = key[4] if len(key) > 4 else None
        entry.arg_shardings, entry.out_shardings = _layouts(
            self, entry.closed, tree, committed, out_tree)
        consts = tuple(getattr(c, "_sharding", None) if type(c) is Array else None
                       for c in entry.closed.consts)
        entry.device = None if entry.arg_shardings is not None or entry.out_shardings else \
            array_mod.committed_device(consts + (committed or ()), f"jit({self.__name__})")
        entry.cacheable = not any(type(c) is Tracer for c in entry.closed.consts)
        if entry.cacheable:
            self._cache.put(key, entry)
        return entry

    def _compiled(self, entry: _Entry):
        if entry.exe is None:
            closed = entry.closed
            check_ir(closed, "jit")
            nc = len(closed.consts)
            donated = [nc + i for i in entry.donate]
            if donated:
                aliases = io_aliases(closed.jaxpr, donated)
                unused = [i for i in entry.donate if nc + i not in aliases]
                if unused:
                    _warn_unusable(self.__name__, [closed.jaxpr.invars[i].aval for i in unused])
                entry.donated = tuple(i for i in entry.donate if nc + i in aliases)
            entry.exe = compile_jaxpr(closed.jaxpr, entry.device, donated=donated,
                                      arg_shardings=entry.arg_shardings,
                                      out_shardings=entry.out_shardings,
                                      name=f"jit({self.__name__})")
            entry.const_bufs = [c._buf for c in closed.consts]
            if entry.exe.mesh is not None or entry.device is not None:
                entry.const_bufs = list(closed.consts)   # laid out at each call
            if entry.persist_key is not None:
                trace_cache.store(entry.persist_key, entry)
                entry.persist_key = None
        return entry.exe

    def _persisted(self, key, tree, statics, avals):
        """The entry for this signature from the persistent trace cache (another process
        traced it), or None; on a miss, the key to store the new trace under."""
        if not trace_cache.enabled() or core._stack or _checks.special or len(key) > 4 or \
                self._in_shardings is not None or self._out_shardings is not None:
            return None, None
        k = trace_cache.key_of(self, tree, statics, avals)
        found = None if k is None else trace_cache.lookup(k)
        if found is None:
            return None, k
        entry = _Entry()
        entry.exe, consts, entry.out_tree, entry.donate, entry.donated = found
        entry.closed = entry.persist_key = entry.device = None
        entry.const_bufs = [c._buf for c in consts]
        entry.out_avals = entry.exe.out_avals
        entry.arg_shardings = entry.out_shardings = None
        entry.in_tree = tree
        entry.cacheable = True
        self._cache.put(key, entry)
        return entry, None

    def __call__(self, *args, **kwargs):
        if not kwargs and not core._stack and not _checks.special:
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
            if fast is not None and fast.x64 == _config.trace_key:
                if fast.exe is not None:
                    return _run_placed(fast, leaves)
                if fast.donated:
                    return self._run_donating(fast.run, fast.handlers, fast.const_bufs,
                                              leaves, fast.donated, fast.out_tree,
                                              fast.out_avals)
                ins = fast.const_bufs + [x._buf for x in leaves]
                try:
                    bufs = fast.run(ins).consume_with_handlers(fast.handlers)
                except (TypeError, _jaxlib.JaxRuntimeError):   # a deleted (donated) array
                    raise_if_deleted(ins, f"jit({self.__name__})", len(fast.const_bufs), where())
                    raise
                if fast.single:   # Array._from_buffer, inlined: one call less per output
                    out = _new_object(Array)
                    out._buf, out.aval = bufs[0], fast.out_avals[0]
                    return out
                new = Array._from_buffer
                return tree_unflatten(fast.out_tree,
                                      [new(b, a) for b, a in zip(bufs, fast.out_avals)])
        return self._call_slow(args, kwargs)

    def _call_slow(self, args, kwargs):
        if _config.config._values["jax_disable_jit"] and not core._stack:
            return self._fun(*args, **kwargs)
        key, leaves, tree, statics, avals = self._signature(args, kwargs)
        entry = self._cache.get(key)
        if entry is None or (entry.closed is None and core._stack):
            entry, persist = self._persisted(key, tree, statics, avals)
            if entry is None:
                entry = self._trace(key, tree, statics, avals)
                entry.persist_key = persist
        if core._stack:  # inside another trace: inline the traced program (no donation)
            outs = core.eval_jaxpr(entry.closed.jaxpr, entry.closed.consts, leaves)
            return tree_unflatten(entry.out_tree, outs)
        exe = self._compiled(entry)
        if not kwargs and not statics and not self._static_argnums and \
                all(type(x) is Array for x in leaves) and _placed_as_taken(entry, exe, leaves):
            fast, ids = _FastCall(key[3], entry, exe, avals), tuple(id(a) for a in avals)
            flat = len(leaves) == len(args) and all(type(x) is Array for x in args)
            if flat:
                self._fast_ids_lru.put(ids, fast)
            else:
                self._fast_trees_lru.put((tree, ids), fast)
        out = self._run(entry, exe, leaves)
        if _checks.special:   # debug_nans / debug_infs
            nan_check.check_call(f"jit({self.__name__})", entry.closed.jaxpr, entry.closed.consts,
                                 leaves, tree_flatten(out)[0], core.eager_apply)
        return out

    def _run(self, entry, exe, leaves):
        if exe.mesh is not None or entry.device is not None:
            run = array_mod.run_on_mesh if exe.mesh is not None else array_mod.run_committed
            for i in entry.donated:   # a cached host view keeps PJRT from donating
                if type(leaves[i]) is Array and hasattr(leaves[i], "_npy"):
                    del leaves[i]._npy
            outs = run(exe, entry.const_bufs + list(leaves), f"jit({self.__name__})")
            why = f"it was donated to jit({self.__name__}), which reused its buffer for an output"
            for i in entry.donated:   # (an argument copied into place keeps its buffer)
                if type(leaves[i]) is Array:
                    leaves[i]._invalidate(why)
            return outs[0] if entry.out_tree == LEAF else tree_unflatten(entry.out_tree, outs)
        if entry.donated:
            return self._run_donating(exe.pjrt_call, exe.handlers, entry.const_bufs,
                                      leaves, entry.donated, entry.out_tree, exe.out_avals)
        ins = entry.const_bufs + [_to_buffer(x) for x in leaves]
        try:
            outs = exe(ins)
        except (TypeError, _jaxlib.JaxRuntimeError):
            raise_if_deleted(ins, f"jit({self.__name__})", len(entry.const_bufs), where())
            raise
        outs = [Array._from_buffer(b, a) for b, a in zip(outs, exe.out_avals)]
        if entry.out_tree == LEAF:
            return outs[0]
        return tree_unflatten(entry.out_tree, outs)

    def _run_donating(self, run, handlers, const_bufs, leaves, donated, out_tree, out_avals):
        """Run a program some of whose input buffers become outputs' buffers (XLA
        input/output aliasing); afterwards the donated Arrays are marked deleted."""
        nc = len(const_bufs)
        ins = const_bufs + [_to_buffer(x) for x in leaves]
        for i in donated:
            x = leaves[i]
            t = type(x)
            if t is Array:
                # the host copy ``np.asarray(x)`` cached is, on the CPU, a view of the
                # buffer, and PJRT declines to donate a buffer with a live view: drop the
                # cache (the view stays valid for whoever else holds it, and then XLA
                # copies instead, as in JAX)
                try:
                    del x._npy
                except AttributeError:
                    pass
            elif t in _PY_SCALARS:   # never donate the shared cached scalar buffer
                a = aval_of_scalar(x)
                ins[nc + i] = core.array_from_numpy(np.asarray(x, a.dtype),
                                                    weak_type=a.weak_type)._buf
        ids = [id(b) for b in ins]
        if len(set(ids)) < len(ids):
            for i in donated:
                if ids.count(ids[nc + i]) > 1:
                    raise ValueError(
                        f"jit({self.__name__}): argument leaf {i} is donated, but the same "
                        f"array is also passed as another argument (or captured by the "
                        f"function); a donated buffer can appear only once in a call"
                        f"{where()}")
        try:
            bufs = run(ins).consume_with_handlers(handlers)
        except (TypeError, _jaxlib.JaxRuntimeError):
            raise_if_deleted(ins, f"jit({self.__name__})", nc, where())
            raise
        why = f"it was donated to jit({self.__name__}), which reused its buffer for an output"
        for i in donated:
            x = leaves[i]
            if type(x) is Array:
                x._invalidate(why)
        new = Array._from_buffer
        outs = [new(b, a) for b, a in zip(bufs, out_avals)]
        return outs[0] if out_tree == LEAF else tree_unflatten(out_tree, outs)

    def lower(self, *args, **kwargs) -> Lowered:
        """The program for these arguments' signature, not run: arrays, scalars or
        ``ShapeDtypeStruct``s (pytrees of them) give the shapes and dtypes."""
        key, leaves, tree, statics, avals = self._signature(args, kwargs)
        given = [x.sharding if type(x) is ShapeDtypeStruct else None for x in leaves]
        if any(s is not None for s in given):
            # a ShapeDtypeStruct's sharding is the layout an argument will arrive in: it
            # keys the program as a committed Array's layout does
            for i, s in enumerate(given):
                if s is not None and not isinstance(s, (NamedSharding, SingleDeviceSharding)):
                    raise TypeError(
                        f"jit({self.__name__}).lower: argument {i} is a ShapeDtypeStruct "
                        f"whose sharding is a {type(s).__name__}; give a NamedSharding or "
                        f"SingleDeviceSharding{where()}")
                if isinstance(s, NamedSharding):
                    s.check_shape(avals[i].shape, f"jit({self.__name__}).lower: argument {i} "
                                                  f"({avals[i].str_short()})")
            prev = key[4] if len(key) > 4 else (None,) * len(leaves)
            key = key[:4] + (tuple(g if g is not None else p for g, p in zip(given, prev)),)
        entry = self._cache.get(key)
        if entry is None or entry.closed is None:   # (one from the trace cache)
            entry = self._trace(key, tree, statics, avals)
        return Lowered(self, entry, statics)

    def trace(self, *args, **kwargs):
        return self.lower(*args, **kwargs)

    def _cache_size(self):
        return len(self._cache)

    def clear_cache(self):
        self._cache.clear()
        self._fast_ids.clear()
        self._fast_trees.clear()


def _placed_as_taken(entry, exe, leaves) -> bool:
    """Whether every argument already sits where the program takes it (so the fast path,
    which passes buffers as they are, may serve this signature)."""
    if exe.mesh is None and entry.device is None:
        return True
    if entry.donated:   # the fast path of placed programs does not donate
        return False
    if exe.mesh is None:
        want = [SingleDeviceSharding(entry.device)] * len(leaves)
    else:
        want = exe.in_shardings[len(entry.closed.consts):]
    return all(getattr(x, "_sharding", None) == s for x, s in zip(leaves, want))


def _run_placed(fast, leaves):
    """The fast path of a program over a mesh or on a committed device."""
    bufs = fast.exe(fast.const_bufs + [x._buf for x in leaves])
    outs = []
    for b, a, s in zip(bufs, fast.out_avals, fast.out_shardings):
        out = _new_object(Array)
        out._buf, out.aval, out._sharding = b, a, s
        outs.append(out)
    return outs[0] if fast.single else tree_unflatten(fast.out_tree, outs)


def _warn_unusable(fname, avals):
    msg = (f"jit({fname}): some donated buffers were not usable: "
           f"{', '.join(a.str_short() for a in avals)} (no output of the same shape and "
           f"dtype to reuse them for); those arrays stay valid. See "
           f"https://docs.jax.dev/en/latest/faq.html#buffer-donation")
    src = core.user_frame()
    if src is None:
        warnings.warn(msg, UserWarning, stacklevel=2)
    else:
        warnings.warn_explicit(msg, UserWarning, src.filename, src.lineno)


def jit(fun: Callable | None = None, *, in_shardings=None, out_shardings=None,
        static_argnums=(), static_argnames=(), donate_argnums=(), donate_argnames=(),
        keep_unused=False, device=None, backend=None, inline=False):
    """Compile ``fun`` with XLA; usable as ``@jit`` or ``@jit(static_argnums=...)``.

    ``donate_argnums`` / ``donate_argnames``: arguments whose device buffers the call may
    reuse for outputs of the same shape and dtype (XLA input/output aliasing); a donated
    ``Array`` is deleted by the call, and using it afterwards raises ``DeletedArrayError``.
    A donated argument no output can reuse stays valid, with a warning (as in JAX).

    ``keep_unused`` and ``inline`` are accepted with either value because xform already
    behaves as both allow: it never prunes unused arguments (every argument is a
    parameter of the compiled program, as with ``keep_unused=True``), and a jitted
    function called inside another trace is always inlined into it (``inline=True``;
    JAX's ``inline=False`` only nests the jaxpr, which computes the same).
    ``in_shardings`` (a pytree prefix of the positional arguments, static ones left out)
    and ``out_shardings`` (a prefix of the result): ``NamedSharding``s, bare
    ``PartitionSpec``s inside ``with mesh:``, or None (the partitioner chooses).  With
    either given, or with an argument already spread over a mesh, the program is
    compiled for that mesh's devices (XLA's SPMD partitioner) and returns sharded
    arrays; an argument laid out otherwise than the program takes it is copied into
    place first.  ``device`` and ``backend`` are not implemented and raise
    ``NotImplementedError`` unless left unset.
    """
    fname = getattr(fun, "__name__", "fun") if fun is not None else "fun"
    _refuse_unimplemented(fname, device=device, backend=backend)
    for option, value in (("in_shardings", in_shardings), ("out_shardings", out_shardings)):
        if not (_is_sharding_entry(value) or isinstance(value, (tuple, list, dict))):
            raise TypeError(f"jit({fname}): {option} must be a Sharding, PartitionSpec, None "
                            f"or a pytree of them, got {type(value).__name__} {value!r:.40}")
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums,
                                 static_argnames=static_argnames, donate_argnums=donate_argnums,
                                 donate_argnames=donate_argnames, keep_unused=keep_unused,
                                 inline=inline, in_shardings=in_shardings,
                                 out_shardings=out_shardings)
    if not callable(fun):
        raise TypeError(f"jit: expected a callable, got {type(fun).__name__}")
    return Jitted(fun, static_argnums, static_argnames, donate_argnums, donate_argnames,
                  in_shardings, out_shardings)


# --- shardings of a jitted program ------------------------------------------------------------

def _is_sharding_entry(x) -> bool:
    return x is None or isinstance(x, (Sharding, PartitionSpec))


def _resolve(entry, what: str):
    """A ``NamedSharding`` (or None) from an ``in_shardings`` / ``out_shardings`` entry."""
    if entry is None or isinstance(entry, NamedSharding):
        return entry
    if isinstance(entry, PartitionSpec):
        mesh = context_mesh()
        if mesh is None:
            raise ValueError(f"{what}: a bare {entry} needs a mesh: use NamedSharding(mesh, "
                             f"spec), or call inside `with mesh:`")
        return NamedSharding(mesh, entry)
    if isinstance(entry, SingleDeviceSharding):
        return None if entry.device == _jaxlib.default_device() else \
            _refuse_device(what, entry)
    raise TypeError(f"{what}: expected a NamedSharding, PartitionSpec or None, got "
                    f"{type(entry).__name__}")


def _refuse_device(what, entry):
    raise NotImplementedError(f"{what}: {entry} on a device other than the default one is "
                              f"not implemented; use a NamedSharding")


def _layouts(jitted, closed, tree, committed, out_tree):
    """``(arg_shardings, out_shardings)`` of an entry: per parameter (captured constants
    first, then argument leaves) and per output, a NamedSharding or None; ``(None,
    None)`` when nothing asks for one (a one-device program)."""
    name = f"jit({jitted.__name__})"
    n_leaves = tree.num_leaves
    args = [None] * n_leaves
    given = jitted._in_shardings
    if given is not None:
        arg_tree, kw_tree = tree.children()
        if isinstance(given, list):
            given = tuple(given)
        if not _is_sharding_entry(given) and not isinstance(given, tuple):
            raise TypeError(f"{name}: in_shardings must be a sharding, None, or a tuple with "
                            f"one entry per positional argument, got {type(given).__name__}")
        if isinstance(given, tuple) and len(given) != len(arg_tree.children()):
            raise ValueError(f"{name}: in_shardings has {len(given)} entries but the function "
                             f"was called with {len(arg_tree.children())} positional arguments "
                             f"(static ones left out)")
        per = broadcast_prefix(given, arg_tree, _is_sharding_entry, f"{name}: in_shardings")
        args[:len(per)] = [_resolve(e, f"{name}: in_shardings") for e in per]
    if committed is not None:
        for i, s in enumerate(committed):
            if args[i] is None and isinstance(s, NamedSharding):
                args[i] = s
    consts = [c._sharding if type(c) is Array and isinstance(getattr(c, "_sharding", None),
                                                            NamedSharding) else None
              for c in closed.consts]
    outs = None
    if jitted._out_shardings is not None:
        per = broadcast_prefix(jitted._out_shardings, out_tree, _is_sharding_entry,
                               f"{name}: out_shardings")
        outs = [_resolve(e, f"{name}: out_shardings") for e in per]
    avals = [v.aval for v in closed.jaxpr.invars]
    for i, (s, a) in enumerate(zip(args, avals)):
        if s is not None:
            s.check_shape(a.shape, f"{name}: argument leaf {i} ({a.str_short()})")
    for k, (s, v) in enumerate(zip(outs or (), closed.jaxpr.outvars)):
        if s is not None:
            s.check_shape(v.aval.shape, f"{name}: output {k} ({v.aval.str_short()})")
    params = consts + args
    if not any(s is not None for s in params) and not (outs and any(outs)):
        return None, outs
    return params, outs


def clear_caches() -> None:
    """Empty every cache xform keeps, as ``jax.clear_caches``: each is a
    ``primitives.lru.LRU`` bounded by ``config.update("xform_cache_size", n)``.  They
    are every ``jit``'s traced signatures and fast-call tables (with their compiled
    executables), compiled eager ops and one-op executables, shape rules, scalar device
    buffers and weak scalar literals, interned sub-jaxprs and pytree structures, the
    DCE, simplification and effects memos, jaxlib avals, result handlers and buffer
    shardings, sharding tiles, and shard_map's compiled functions.  The PJRT clients
    and small tables bounded by the dtypes and devices that exist stay."""
    lru.clear_all()


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
        avals = [leaf_aval(x, f"make_jaxpr({getattr(fun, '__name__', 'fun')}): argument {i}")
                 for i, x in enumerate(leaves)]
        closed, out_tree = trace_to_jaxpr(flat_fun, avals, tree, context="make_jaxpr")
        closed = passes.simplify(closed)
        if return_shape:
            shapes = [ShapeDtypeStruct(a.aval.shape, a.aval.dtype) for a in closed.jaxpr.outvars]
            return closed, tree_unflatten(out_tree, shapes)
        return closed
    return wrapped


def eval_shape(fun: Callable, *args, **kwargs):
    leaves, tree = tree_flatten((args, kwargs))
    avals = [x.aval if isinstance(x, ShapeDtypeStruct) else leaf_aval(x, "eval_shape argument")
             for x in leaves]
    closed, out_tree = trace_to_jaxpr(fun, avals, tree, context="eval_shape")
    return tree_unflatten(out_tree, [ShapeDtypeStruct(a.aval.shape, a.aval.dtype, a.aval.weak_type)
                                     for a in closed.jaxpr.outvars])
