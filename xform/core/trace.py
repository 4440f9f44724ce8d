"""Tracing Python into the IR, and evaluating IR.

There is one way to apply a meta-operator: ``bind(prim, *args, **params)``.

* With no trace active it runs at once (eager mode: a cached one-op executable).
* Inside a trace it appends an equation to the innermost ``Builder``.  A builder
  may be *concrete*: its inputs carry values, and each equation is also run
  eagerly so Python control flow on values (``if x > 0:``) works under ``grad``
  outside ``jit``, as in JAX.  ``jit`` and ``make_jaxpr`` trace abstractly.

Values from an outer trace or concrete arrays that a traced function closes
over become *constvars* of the inner jaxpr; the inner jaxpr, once transformed,
is evaluated back into the outer trace, which is how transforms nest.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
from typing import Callable

import numpy as np

from primitives import dtypes
from primitives.core import (EFFECTFUL, ClosedJaxpr, Eqn, Jaxpr, Literal, ShapedArray,
                             Var, has_effects)
from primitives.lru import LRU
from primitives.ops import OpTypeError
from lowering import _jaxlib
from lowering.compile import compile_single_op

from . import array as _array, checks as _checks, nan_check
from .array import Array, array_from_numpy, raise_if_deleted
from .pytree import tree_flatten, tree_unflatten
from .source import (LazySource, ScopedSource, _is_lib, locate_error, named,  # noqa: F401
                     user_frame, where)


# --- where in the user's code (the rest is in .source) --------------------------------
def source_here():
    """The user's source position for a new equation (lazy where jaxlib allows)."""
    if _eqn_source is not None:
        return _eqn_source
    tb = _capture()
    src = LazySource(tb) if tb is not None else user_frame()
    return src if _scope is None else ScopedSource(src, _scope)


# While a transform rewrites an equation (or ``eval_jaxpr`` re-emits one), the equations
# it emits take that equation's source instead of the current stack, which is xform's own
# code down to the user's call of the transform: so a backward-pass equation points at
# the forward line it came from (what ``debug_nans`` reports).  Set by ``with_sources``.
_eqn_source = None
_scope: str | None = None   # the "/"-joined named_scope stack, None outside any


def with_sources(eqns):
    """``for eqn in with_sources(eqns):`` iterates over ``eqns``; while the loop body
    runs, equations traced anywhere take ``eqn.source`` as theirs (restored afterwards,
    also when the body raises)."""
    global _eqn_source
    outer = _eqn_source
    try:
        for eqn in eqns:
            src = eqn.source
            _eqn_source = outer if src is None else src
            yield eqn
    finally:
        _eqn_source = outer


_capture = _jaxlib.capture_traceback or (lambda: None)


def _user_source():
    """Where the op running now was written: the equation being evaluated, else the
    innermost user frame."""
    return _eqn_source if _eqn_source is not None else user_frame()


def created_at(t) -> str:
    """`` (created at file:line (function))`` for a tracer: the line of the equation that
    made it, or that it is an argument of the traced function (looked up only for an
    error message, so tracing pays nothing for it)."""
    b = t.builder
    for e in reversed(b.eqns):
        if t.ivar in e.outvars:
            return f" (created at {e.source})" if e.source else ""
    if t.ivar in b.invars:
        return f" (argument {b.invars.index(t.ivar)} of the traced function)"
    return ""


class ConcretizationError(TypeError):
    """A traced value was used where Python needs a concrete one (``if``, ``int()``)."""


class UnexpectedTracerError(RuntimeError):
    """A tracer escaped the function that was being traced."""


# --- abstract values of Python objects -----------------------------------------------------

def aval_of_scalar(x) -> ShapedArray:
    dt = dtypes.python_scalar_dtype(x)
    return ShapedArray((), dt, weak_type=not isinstance(x, bool))


def aval_of_numpy(x) -> ShapedArray:
    return ShapedArray(np.shape(x), dtypes.canonicalize(x.dtype))


# --- the trace stack ---------------------------------------------------------------------
_stack: list["Builder"] = []


class Tracer:
    """A value inside a trace: a Var of some builder, maybe with a concrete value."""

    # ``aval`` is ``var.aval`` (which never changes) kept in a slot: the operator wrappers
    # read it several times per traced op, and a property costs a Python call each time
    __slots__ = ("builder", "ivar", "val", "aval")   # ivar: the IR Var (x.var() is NumPy's)
    __array_priority__ = 100

    def __init__(self, builder: "Builder", var: Var, val=None):
        self.builder = builder
        self.ivar = var
        self.val = val  # an Array when the builder is concrete, else None
        self.aval = var.aval

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: len(self.aval.shape))
    size = property(lambda self: self.aval.size)
    weak_type = property(lambda self: self.aval.weak_type)

    def concrete(self, what: str):
        if self.val is not None:
            return self.val
        if not self.builder.active:
            raise UnexpectedTracerError(
                f"{what}: a traced value {self.aval.str_short()} escaped the function it "
                f"was traced in{created_at(self)} and was used again{where()}")
        ctx = self.builder.context
        static = (", or mark the argument static with static_argnums/static_argnames"
                  if ctx in ("jit", "make_jaxpr", "checkpoint") else "")
        raise ConcretizationError(
            f"{what} needs a concrete value, but this is an abstract traced array "
            f"{self.aval.str_short()}{where()}.\n"
            f"Inside {ctx}, values are abstract: use lax.cond / lax.select / jnp.where for "
            f"value-dependent control flow{static}.")

    def __bool__(self):
        return bool(self.concrete("bool(x) (as in `if x:` or `while x:`)"))

    def __int__(self):
        return int(self.concrete("int(x)"))

    def __float__(self):
        return float(self.concrete("float(x)"))

    def __complex__(self):
        return complex(self.concrete("complex(x)"))

    def __index__(self):
        return self.concrete("using an array as an index (x.__index__)").__index__()

    def __array__(self, dtype=None, copy=None):
        v = np.asarray(self.concrete("converting a traced array to NumPy (np.asarray(x))"))
        return v if dtype is None else v.astype(dtype)

    def __hash__(self):
        raise TypeError(f"unhashable type: traced array {self.aval.str_short()}{where()}")

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object (a 0-d traced array)")
        return self.shape[0]

    def __repr__(self):
        v = "" if self.val is None else f" value={self.val!r}"
        return f"Traced<{self.aval.str_short()}>{v}"

    def item(self):
        return self.concrete("x.item()").item()

    def tolist(self):
        return self.concrete("x.tolist()").tolist()


class Builder:
    """One level of tracing: collects equations into a jaxpr."""

    def __init__(self, concrete: bool = False, context: str = "jit"):
        self.concrete = concrete
        self.context = context   # what traced it, for errors: "jit", "vmap", "lax.scan"...
        self.invars: list[Var] = []
        self.eqns: list[Eqn] = []
        self.constvars: list[Var] = []
        self.const_vals: list = []         # Arrays or outer Tracers, one per constvar
        self._const_ids: dict[int, Var] = {}
        self.active = True

    # inputs ---------------------------------------------------------------------------
    def new_arg(self, aval: ShapedArray, val=None) -> Tracer:
        v = Var(aval)
        self.invars.append(v)
        return Tracer(self, v, val if self.concrete else None)

    def _const(self, x, aval) -> Var:
        v = self._const_ids.get(id(x))
        if v is None:
            v = self._const_ids[id(x)] = Var(aval)
            self.constvars.append(v)
            self.const_vals.append(x)
        return v

    def atom(self, x):
        """The IR operand for ``x``: a Var of this builder or a Literal."""
        t = type(x)
        if t is Tracer:
            if x.builder is self:
                return x.ivar
            if not x.builder.active:
                raise UnexpectedTracerError(
                    f"a traced value {x.aval.str_short()} escaped the function it was traced "
                    f"in{created_at(x)} (stored in a global or a closure?) and was used "
                    f"again{where()}")
            return self._const(x, x.aval)
        if t in _ARRAY_TYPES:
            if not x.aval.shape and getattr(x, "_sharding", None) is None:
                # a scalar is written into the program (as JAX does): XLA then sees a
                # constant, which its simplifier uses (a divisor becomes a reciprocal)
                return Literal(x._value()[()], x.aval)
            return self._const(x, x.aval)
        if t is Literal:
            return x
        if t in (int, float, complex, bool):
            return Literal(x, aval_of_scalar(x))
        if isinstance(x, np.generic):
            return Literal(x, ShapedArray((), dtypes.canonicalize(x.dtype)))
        if isinstance(x, np.ndarray):
            arr = array_from_numpy(x)
            self._keepalive(arr)
            return self._const(arr, arr.aval)
        raise TypeError(f"{type(x).__name__} is not a valid xform array value{where()}")

    def _keepalive(self, x):
        self.__dict__.setdefault("_alive", []).append(x)

    @staticmethod
    def value_of(x):
        """Concrete value of an operand (None if it has none)."""
        return x.val if type(x) is Tracer else x

    # equations ------------------------------------------------------------------------
    def add_eqn(self, prim, args, params):
        # The hot path of tracing, run once per traced op, hence written flat: the
        # shape-cache hit is looked up here; the Eqn is filled in directly, as its
        # constructor would copy the two lists just built here that nobody else holds;
        # no list comprehensions, as in Python 3.11 each is a function call, which costs
        # more than a plain loop over an op's one to three operands.
        invars, avals = [], []
        for a in args:
            v = a.ivar if type(a) is Tracer and a.builder is self else self.atom(a)
            invars.append(v)
            avals.append(v.aval)
        in_avals = tuple(avals)
        try:
            out_avals = _shape_cache[(prim, in_avals, tuple(params.items())) if params else
                                     (prim, in_avals)]
        except (KeyError, TypeError):   # not seen yet, or an unhashable param
            out_avals = _abstract_eval(prim, in_avals, params)
        outvars = [Var(out_avals[0])] if len(out_avals) == 1 else [Var(a) for a in out_avals]
        eqn = _new_eqn(Eqn)
        eqn.prim, eqn.invars, eqn.outvars, eqn.params = prim, invars, outvars, params
        src = _eqn_source   # (see with_sources)
        if src is None:
            tb = _capture()
            src = LazySource(tb) if tb is not None else user_frame()
            if _scope is not None:
                src = ScopedSource(src, _scope)
        eqn.source = src
        self.eqns.append(eqn)
        # a collective has no value outside its named axis; an effect (a print) runs when
        # the transformed program is evaluated, not also now (see primitives.core.EFFECTFUL)
        if self.concrete and prim.family != "collective" and not (
                prim in EFFECTFUL or prim.subjaxpr_params and has_effects(eqn)):
            in_vals = [self.value_of(a) for a in args]
            if all(v is not None for v in in_vals):
                vals = eager_apply(prim, in_vals, params)
                return [Tracer(self, v, val) for v, val in zip(outvars, vals)]
        if len(outvars) == 1:
            return [Tracer(self, outvars[0])]
        return [Tracer(self, v) for v in outvars]

    def to_jaxpr(self, outs) -> ClosedJaxpr:
        outvars = [self.atom(o) for o in outs]
        return ClosedJaxpr(Jaxpr(self.constvars, self.invars, self.eqns, outvars),
                           list(self.const_vals))


# (prim, in avals[, params]) -> out avals.  Hits are read from the plain dict (see
# primitives/lru.py); misses go through ``_abstract_eval``, which stores them.
_shape_lru = LRU("shape rules")
_shape_cache = _shape_lru.data
_new_eqn = object.__new__


def _abstract_eval(prim, in_avals: tuple, params):
    """Output avals of one equation.  Programs repeat the same op on the same types
    over and over, so results are cached by (op, params, input types); ``add_eqn``
    looks up hits itself and calls this on a miss."""
    try:
        key = (prim, in_avals, tuple(params.items())) if params else (prim, in_avals)
        out = _shape_cache.get(key)
    except TypeError:  # an unhashable param
        key = out = None
    if out is None:
        try:
            out = prim.abstract_eval(*in_avals, **params)
        except OpTypeError as e:
            raise OpTypeError(f"{e}{where()}") from None
        if key is not None:
            _shape_lru.put(key, out)
    return out


class trace_scope:
    """``with trace_scope(builder):`` makes ``builder`` the innermost trace."""

    def __init__(self, builder: Builder):
        self.builder = builder

    def __enter__(self):
        _stack.append(self.builder)
        return self.builder

    def __exit__(self, exc_type, exc, tb):
        _stack.pop()
        self.builder.active = False
        if exc is not None:
            locate_error(exc)


def bind(prim, *args, **params):
    """Apply a meta-operator; returns a list of outputs for multi-result ops, else one."""
    if _stack and not (_compile_time_eval and _all_concrete(args)):
        outs = _stack[-1].add_eqn(prim, args, params)
    else:
        outs = eager_apply(prim, args, params)
    return outs if prim.multiple_results else outs[0]


# Inside ``ensure_compile_time_eval()`` an operation whose operands are all known values
# (no tracer) runs now, even under ``jit``, instead of being staged into the program.
_compile_time_eval = 0


def _all_concrete(args):
    return not any(type(a) is Tracer for a in args)


class ensure_compile_time_eval:
    """``with ensure_compile_time_eval():`` operations on concrete values run eagerly while
    tracing (as ``jax.ensure_compile_time_eval``): their results are Arrays that Python
    code (``if``, ``int()``, shapes) can read.  Operations on traced values are staged as
    usual."""

    def __enter__(self):
        global _compile_time_eval
        _compile_time_eval += 1
        return self

    def __exit__(self, *exc):
        global _compile_time_eval
        _compile_time_eval -= 1


class named_scope(contextlib.ContextDecorator):
    """``with named_scope("layer1"):`` (as ``jax.named_scope``) names a region for
    profilers: equations traced inside carry the scope path (``ScopedSource``), and the
    lowering writes ``layer1/<op>`` as each op's location, which XLA keeps as its
    ``op_name`` metadata.  Equations a transform derives from them keep the name."""

    _stack: list = []

    def __init__(self, name: str):
        if not isinstance(name, str):
            raise TypeError(f"named_scope: name must be a string, got {type(name).__name__}"
                            f"{where()}")
        self.name = name

    def __enter__(self):
        global _scope
        named_scope._stack.append(self.name)
        _scope = "/".join(named_scope._stack)
        return self

    def __exit__(self, *exc):
        global _scope
        named_scope._stack.pop()
        _scope = "/".join(named_scope._stack) or None

    @staticmethod
    def current() -> str:
        return "/".join(named_scope._stack)


def named_call(fun: Callable, *, name: str | None = None) -> Callable:
    """``fun`` with its equations named ``name/<op>`` (default: ``fun``'s name) in the
    lowered program, as ``jax.named_call``: a ``named_scope`` around each call."""
    scope = named_scope(name if name is not None else getattr(fun, "__name__", "fun"))

    @functools.wraps(fun)
    def call(*args, **kwargs):
        with scope:
            return fun(*args, **kwargs)
    return call


def find_builder() -> Builder | None:
    return _stack[-1] if _stack else None


# --- eager execution -------------------------------------------------------------------------
_ARRAY_TYPES = frozenset((Array,))   # concrete array types a trace takes as constants


def _params_key(params):
    return tuple(params.items())


_scalar_lru = LRU("scalar device buffers")
_scalar_bufs = _scalar_lru.data


def _scalar_buffer(x, aval: ShapedArray):
    """Device buffer for a Python/NumPy scalar operand, cached per (value, dtype).
    (Never donate one: ``jit`` makes a fresh buffer for a donated scalar.)"""
    key = (x, type(x), aval.dtype, aval.weak_type)
    buf = _scalar_bufs.get(key)
    if buf is None:
        buf = _scalar_lru.put(key, _jaxlib.buffer_from_numpy(np.asarray(x, aval.dtype),
                                                             weak_type=aval.weak_type))
    return buf


# (prim, params, in avals) -> (PJRT call, result handlers, out avals): hits are a plain
# dict lookup (see primitives/lru.py)
_eager_lru = LRU("eager executables")
_eager_cache = _eager_lru.data


def eager_apply(prim, args, params):
    """Run one meta-operator now on concrete arrays/scalars."""
    if _checks.special:   # debug_nans / debug_infs: run it with its outputs checked
        return nan_check.checked_apply(eager_apply, _user_source, prim, args, params)
    bufs, avals = [], []
    for a in args:
        t = type(a)
        if t is Array:
            bufs.append(a._buf)
            avals.append(a.aval)
        elif t is Literal:
            buf = a.device_copy
            if buf is None:
                buf = a.device_copy = _scalar_buffer(a.val, a.aval)
            bufs.append(buf)
            avals.append(a.aval)
        elif t in (int, float, complex, bool) or isinstance(a, np.generic):
            aval = aval_of_scalar(a) if t in (int, float, complex, bool) else \
                ShapedArray((), dtypes.canonicalize(a.dtype))
            bufs.append(_scalar_buffer(a, aval))
            avals.append(aval)
        elif isinstance(a, np.ndarray):
            arr = array_from_numpy(a)
            bufs.append(arr._buf)
            avals.append(arr.aval)
        elif t is Tracer:
            raise UnexpectedTracerError(
                f"a traced value {a.aval.str_short()} was used outside the transform that "
                f"created it{created_at(a)}{where()}")
        else:
            raise TypeError(f"{prim.name}: {type(a).__name__} is not a valid array value{where()}")
    shardings = None
    if _array.any_sharded:   # an operand spread over devices: the op runs over its mesh
        shardings = tuple(getattr(a, "_sharding", None) if type(a) is Array else None
                          for a in args)
        if not any(s is not None for s in shardings):
            shardings = None
    key = (prim, tuple(params.items()) if params else (), tuple(avals), shardings)
    hit = _eager_cache.get(key)
    if hit is None:
        if prim.host_impl is not None:   # runs in Python on the host (a callback)
            return _host_apply(prim, args, bufs, avals, params)
        device = None if shardings is None else _array.committed_device(shardings, prim.name)
        try:
            exe = compile_single_op(prim, key[1], key[2], device or _jaxlib.default_device(),
                                    shardings)
        except OpTypeError as e:
            raise OpTypeError(f"{e}{where()}") from None
        if exe.mesh is not None:
            hit = _eager_lru.put(key, (None, exe, _array.run_on_mesh))
        elif device is not None:
            hit = _eager_lru.put(key, (None, exe, _array.run_committed))
        else:   # the raw PJRT call, its result handlers and output avals: no wrapper per op
            hit = _eager_lru.put(key, (exe.exe.execute_sharded, exe.handlers, exe.out_avals))
    run, handlers, out_avals = hit
    if run is None:   # a program over a mesh, or on a committed device: the hit holds
        exe, runner = handlers, out_avals   # the executable and what runs it
        return runner(exe, [a if type(a) is Array else b for a, b in zip(args, bufs)],
                      prim.name)
    try:
        outs = run(bufs).consume_with_handlers(handlers)
    except (TypeError, _jaxlib.JaxRuntimeError):   # a donated (deleted) array: say so
        raise_if_deleted(bufs, prim.name, where=where())
        moved = _jaxlib.buffers_on(bufs, _jaxlib.default_device())
        if moved is None:
            raise
        outs = run(moved).consume_with_handlers(handlers)
    from_buffer = Array._from_buffer
    if len(outs) == 1:
        return [from_buffer(outs[0], out_avals[0])]
    return [from_buffer(b, a) for b, a in zip(outs, out_avals)]


def _host_apply(prim, args, bufs, avals, params):
    """Eager application of a meta-operator with a ``host_impl``: numpy in, numpy out."""
    vals = [np.asarray(a) if type(a) is Array else np.asarray(b) for a, b in zip(args, bufs)]
    outs = prim.host_impl(*vals, **params)
    out_avals = prim.abstract_eval(*avals, **params)
    return [array_from_numpy(np.asarray(o, a.dtype), weak_type=a.weak_type)
            for o, a in zip(outs, out_avals)]


# --- evaluating a jaxpr --------------------------------------------------------------------------

def eval_jaxpr(jaxpr: Jaxpr, consts, args, env=None):
    """Evaluate ``jaxpr`` with ``bind``: eagerly, or recorded into the current trace.

    ``env`` may pre-seed values of some variables (their equations are skipped
    when every output is already known): how a transform reuses values that were
    computed while tracing.
    """
    env = {} if env is None else env

    def read(a):
        return a.val if type(a) is Literal else env[a]

    for v, x in zip(jaxpr.constvars, consts):
        env[v] = x
    for v, x in zip(jaxpr.invars, args):
        env[v] = x
    for eqn in with_sources(jaxpr.eqns):
        if eqn.outvars and all(v in env for v in eqn.outvars):
            continue
        # a Literal operand goes to bind as itself: its value alone would lose its weak type
        outs = bind(eqn.prim, *[a if type(a) is Literal else env[a] for a in eqn.invars],
                    **eqn.params)
        if not eqn.prim.multiple_results:
            outs = [outs]
        # an output seeded by the caller keeps its seeded value even when the equation had
        # to run for its other outputs: later seeded values were computed from it (a JVP
        # rule that re-runs svd for u and v must not replace the s that max was taken of)
        for v, x in zip(eqn.outvars, outs):
            env.setdefault(v, x)
    return [read(a) for a in jaxpr.outvars]


def eval_closed(closed: ClosedJaxpr, args):
    return eval_jaxpr(closed.jaxpr, closed.consts, args)


# --- tracing functions ------------------------------------------------------------------

_PY_SCALARS = (int, float, complex, bool)


def typeof(x):
    """The abstract value (shape, dtype, weak type) of an array or scalar, as
    ``jax.typeof``: ``typeof(1.0)`` is ``ShapedArray(float32[], weak_type=True)``."""
    return leaf_aval(x, "typeof")


def leaf_aval(x, what):
    t = type(x)
    if t is Array or t is Tracer or t is Literal:   # a Literal: a weak scalar the surface made
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
    # only jit and its kin have static arguments to suggest
    static = ", or mark it static with static_argnums/static_argnames" \
        if what.startswith(("jit(", "make_jaxpr(")) else ""
    node = ""
    if dataclasses.is_dataclass(x) or hasattr(x, "tree_flatten"):   # a container, unregistered
        node = (f"; {t.__name__} is not a registered pytree node (as in JAX, a class must be "
                f"registered: xform.tree_util.register_dataclass or register_pytree_node)")
    raise TypeError(f"{what} is a {t.__name__} ({x!r:.60}), which is not a valid array value; "
                    f"pass arrays or scalars{static}{node}")


def _defined_at(fun) -> str:
    """`` `name` (defined at file:line)`` for the user function behind a traced wrapper
    (wrappers set ``__wrapped__``), for errors about what it returned."""
    while hasattr(fun, "__wrapped__"):
        fun = fun.__wrapped__
    code = getattr(fun, "__code__", None)
    if code is None or _is_lib(code):
        return ""
    return f" `{code.co_name}` (defined at {code.co_filename}:{code.co_firstlineno})"


def trace_to_jaxpr(fun: Callable, in_avals, in_tree, concrete_vals=None,
                   context: str = "jit") -> tuple:
    """Trace ``fun`` on abstract (or concrete) inputs; returns (ClosedJaxpr, out_tree).
    ``context`` names what is tracing, in errors ("Inside vmap, values are abstract")."""
    builder = Builder(concrete=concrete_vals is not None, context=context)
    with trace_scope(builder):
        vals = concrete_vals or [None] * len(in_avals)
        tracers = [builder.new_arg(a, v) for a, v in zip(in_avals, vals)]
        args, kwargs = tree_unflatten(in_tree, tracers)
        out = fun(*args, **kwargs)
        out_leaves, out_tree = tree_flatten(out)
        for i, o in enumerate(out_leaves):
            if not isinstance(o, (Tracer, Array, Literal, np.ndarray, np.generic) + _PY_SCALARS):
                raise TypeError(f"the traced function{_defined_at(fun)} returned a "
                                f"{type(o).__name__} ({o!r:.60}) at output {i}; outputs must "
                                f"be arrays or scalars")
        closed = builder.to_jaxpr(out_leaves)
    return closed, out_tree



# --- tracing with values (the differentiation transforms) ------------------------------------------------------------------------

class _RecordingBuilder(Builder):
    """A Builder that remembers the concrete value of every variable it made."""

    def __init__(self, concrete):
        super().__init__(concrete)
        self.vals: dict = {}

    def new_arg(self, aval, val=None):
        t = super().new_arg(aval, val)
        if t.val is not None:
            self.vals[t.ivar] = t.val
        return t

    def add_eqn(self, prim, args, params):
        outs = super().add_eqn(prim, args, params)
        if self.concrete:
            for o in outs:
                if o.val is not None:
                    self.vals[o.ivar] = o.val
        return outs


def add_eqn_with_values(prim, args, params, out_vals):
    """Bind ``prim`` into the current trace, giving its outputs known values
    (when a concrete trace already computed them) instead of running it."""
    b = find_builder()
    if b is None or not b.concrete or out_vals is None or \
            any(Builder.value_of(a) is None for a in args if type(a) is Tracer):
        return bind(prim, *args, **params)
    invars = [b.atom(a) for a in args]
    out_avals = prim.abstract_eval(*[a.aval for a in invars], **params)
    outvars = [Var(a) for a in out_avals]
    b.eqns.append(Eqn(prim, invars, outvars, params, source_here()))
    outs = [Tracer(b, v, val) for v, val in zip(outvars, out_vals)]
    if isinstance(b, _RecordingBuilder):
        for o in outs:
            b.vals[o.ivar] = o.val
    return outs


def _value(x):
    t = type(x)
    if t is Tracer:
        return x.val
    return x


def prep_leaf(x, what):
    """(leaf as an operand, its aval, its concrete value or None)."""
    aval = leaf_aval(x, what)
    if isinstance(x, (np.ndarray, np.generic)) and not isinstance(x, Tracer):
        x = array_from_numpy(np.asarray(x))
        aval = x.aval
    val = x.val if type(x) is Literal else _value(x)
    if val is not None and type(val) in (int, float, complex, bool) or type(x) is Literal:
        val = array_from_numpy(np.asarray(val, aval.dtype), weak_type=aval.weak_type)
    return x, aval, val


def trace_flat(fun, leaves, avals, vals):
    """Trace ``fun(*leaf_tracers) -> flat outputs`` (concrete when every value is known).
    Returns (ClosedJaxpr, out extra, recorded values or None)."""
    concrete = all(v is not None for v in vals)
    b = _RecordingBuilder(concrete)
    with trace_scope(b):
        tracers = [b.new_arg(a, v if concrete else None) for a, v in zip(avals, vals)]
        outs, extra = fun(*tracers)
        for i, o in enumerate(outs):
            if not isinstance(o, (Tracer, np.ndarray, np.generic, int, float, complex, bool)) \
                    and type(o) not in _ARRAY_TYPES:
                raise TypeError(f"the differentiated function{_defined_at(fun)} returned a "
                                f"{type(o).__name__} ({o!r:.60}) at output {i}; outputs must "
                                f"be arrays or scalars")
        closed = b.to_jaxpr(list(outs))
    return closed, extra, (b.vals if concrete else None)
