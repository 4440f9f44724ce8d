"""Jaxpr -> compiled PJRT executable, and calling it on device buffers."""
from __future__ import annotations

import logging
import time

from primitives import callback as _callback
from primitives.lru import memoize
from primitives.core import Eqn, Jaxpr, Var, sub_jaxprs
from primitives.sharding import NamedSharding, PartitionSpec, TiledSharding, spec_from_tiles

from . import _jaxlib
from . import rules  # noqa: F401  registers every lowering rule
from .emitter import lower_program

# ``jax_log_compiles`` (``xform.log_compiles()``): each compile is logged at WARNING level
# on the "xform.compile" logger; otherwise at DEBUG, as JAX does
LOG_COMPILES = False
logger = logging.getLogger("xform.compile")


def _log_level():
    return logging.WARNING if LOG_COMPILES else logging.DEBUG


class Executable:
    """A compiled program: call it with a list of device buffers, get a list back.

    A program over a mesh (``mesh`` is not None) takes and returns sharded buffers:
    ``in_shardings[i]`` / ``out_shardings[k]`` (``primitives.sharding`` objects) say how
    parameter i must be laid out and how output k comes back; ``in_buffer_shardings``
    are the binding's spelling of the former (what a caller lays arguments out with)."""

    __slots__ = ("text", "exe", "handlers", "out_avals", "device", "mesh", "in_shardings",
                 "out_shardings", "in_buffer_shardings", "in_avals", "one_at_a_time",
                 "callbacks")

    def __init__(self, text: str, out_avals, device, kind=None, mesh=None, param_avals=(),
                 arg_shardings=None, out_shardings=None, callbacks=(), name=None):
        """``kind``: what ``program_kind`` says of the program (picks XLA options);
        ``callbacks``: its host functions (kept alive with it); ``name``: what the
        compile log calls it (``jit(f)``, an op's name)."""
        self.text = text
        self.callbacks = tuple(callbacks)
        self.device = device
        self.out_avals = out_avals
        self.in_avals = list(param_avals)
        self.mesh = mesh
        devices = None if mesh is None else mesh.device_list
        n_in = len(param_avals)
        free_in = [arg_shardings is None or arg_shardings[i] is None for i in range(n_in)]
        free_out = [out_shardings is None or out_shardings[k] is None
                    for k in range(len(out_avals))]
        level = _log_level()
        logged = logger.isEnabledFor(level)
        if logged:
            name = name or "a program"
            logger.log(level, "Compiling %s for %s with global shapes and types [%s]", name,
                       device if mesh is None else f"a mesh of {mesh.size} devices",
                       ", ".join(a.str_short() for a in param_avals))
            start = time.perf_counter()
        try:
            self.exe = _jaxlib.compile_module(text, device, kind=kind, devices=devices,
                                              free_params=free_in, free_outputs=free_out,
                                              host_callbacks=self.callbacks)
        except _jaxlib.JaxRuntimeError as e:  # a lowering bug: show the module
            raise RuntimeError(f"XLA rejected the lowered program: {e}\n--- module ---\n{text}") from None
        if logged:
            logger.log(level, "Finished XLA compilation of %s in %.6f sec", name,
                       time.perf_counter() - start)
        if mesh is None:
            self.one_at_a_time = False
            self.in_shardings = self.out_shardings = self.in_buffer_shardings = None
            self.handlers = [_jaxlib.result_handler(a.shape, a.dtype, a.weak_type, device)
                             for a in out_avals]
            return
        self.one_at_a_time = devices[0].platform == "cpu" and _has_collectives(self.exe)
        n = mesh.size
        ins = _jaxlib.parameter_tiles(self.exe, [a.ndim for a in param_avals], n)
        outs = _jaxlib.output_tiles(self.exe, [a.ndim for a in out_avals], n)
        self.in_shardings = [_as_sharding(mesh, a.ndim, t, given) for a, t, given in
                             zip(param_avals, ins, arg_shardings or [None] * n_in)]
        self.out_shardings = [_as_sharding(mesh, a.ndim, t, given) for a, t, given in
                              zip(out_avals, outs, out_shardings or [None] * len(out_avals))]
        self.in_buffer_shardings = [_buffer_sharding(s, a.ndim) for s, a in
                                    zip(self.in_shardings, param_avals)]
        self.handlers = [_jaxlib.sharded_result_handler(a.shape, a.dtype, a.weak_type,
                                                        _buffer_sharding(s, a.ndim))
                         for s, a in zip(self.out_shardings, out_avals)]

    @property
    def pjrt_call(self):
        """``run(buffers) -> results`` (``.consume_with_handlers(handlers)``): the PJRT
        call itself, for callers that keep it (``jit``'s fast path); for a program with
        host callbacks, a wrapper that runs it as ``__call__`` does."""
        if not self.callbacks:
            return self.exe.execute_sharded
        return lambda buffers: _Finished(self(buffers))

    def __call__(self, buffers):
        global _in_flight
        if self.one_at_a_time or self.callbacks:
            if _in_flight is not None:     # wait for the previous run (see below)
                for b in _in_flight:
                    if not b.is_deleted():   # donated or deleted since: nothing to wait for
                        b.block_until_ready()
                _in_flight = None
            if self.callbacks:
                return self._run_with_callbacks(buffers)
            outs = self.exe.execute_sharded(buffers).consume_with_handlers(self.handlers)
            _in_flight = outs
            return outs
        try:
            return self.exe.execute_sharded(buffers).consume_with_handlers(self.handlers)
        except _jaxlib.JaxRuntimeError:
            moved = None if self.mesh is not None else _jaxlib.buffers_on(buffers, self.device)
            if moved is None:
                raise
            return self.exe.execute_sharded(moved).consume_with_handlers(self.handlers)

    def _run_with_callbacks(self, buffers):
        """A program that calls back into Python runs to completion before the call
        returns: its callbacks (prints) have happened by then, in call order, and an
        exception one of them raised is raised here, as itself (not as an XLA error)."""
        try:
            res = self.exe.execute_sharded(buffers, with_tokens=True)
            res.consume_token().block_until_ready()
            outs = res.consume_with_handlers(self.handlers)
        except _jaxlib.JaxRuntimeError:
            failure = _callback.pop_failure()
            if failure is None:
                raise
            raise failure from None
        return outs

    def hlo_text(self) -> str:
        return self.exe.hlo_modules()[0].to_string()


class _Finished:
    """The results of a run that has completed (``Executable.pjrt_call``)."""
    __slots__ = ("outs",)

    def __init__(self, outs):
        self.outs = outs

    def consume_with_handlers(self, handlers):
        return self.outs


# XLA's CPU runtime runs each device's part of a program as a task on one thread pool,
# and a collective blocks its task until every device's task reaches it.  With several
# runs of collective programs queued (asynchronous dispatch: a training loop that never
# waits), the pool's threads can all be taken by tasks of later runs waiting for a
# partner that has no thread left to run on: the process hangs, and XLA aborts it after
# 40 s (JAX 0.10 does this too, on a 2-core machine with 8 virtual devices).  So on the
# CPU a program with collectives waits for the previous such run to finish before it
# starts: one in flight at a time.  Python still runs ahead of the device by one call.
_in_flight = None
_COLLECTIVE_HLO = ("all-reduce", "all-gather", "collective-permute", "all-to-all",
                   "reduce-scatter", "collective-broadcast")


def _has_collectives(exe) -> bool:
    try:
        text = exe.hlo_modules()[0].to_string()
    except Exception:   # noqa: BLE001 - cannot tell: be safe
        return True
    return any(f" {op}(" in text or f" {op}-start(" in text for op in _COLLECTIVE_HLO)


def _as_sharding(mesh, ndim, tiles, given):
    """The sharding of a parameter or output: what the caller asked for, else what the
    partitioner chose, named over ``mesh`` where its axes can name it."""
    if given is not None:
        return given
    if tiles is None:
        return NamedSharding(mesh, PartitionSpec())
    spec = spec_from_tiles(mesh, ndim, *tiles)
    if spec is not None:
        return NamedSharding(mesh, spec)
    return TiledSharding(mesh.device_list, *tiles)


def _buffer_sharding(sharding, ndim):
    return _jaxlib.buffer_sharding(tuple(sharding.device_list), *sharding.tile_assignment(ndim))


def compile_jaxpr(jaxpr: Jaxpr, device=None, donated=(), arg_shardings=None,
                  out_shardings=None, name=None) -> Executable:
    """Lower and compile; the executable takes ``constvars + invars`` buffers.

    ``arg_shardings`` / ``out_shardings`` (per parameter / output: a ``NamedSharding``
    or None) make it a program over their mesh, as does any equation that names a mesh
    (``sharding_constraint``, ``shard_map``)."""
    device = device or _jaxlib.default_device()
    text, mesh, callbacks = lower_program(jaxpr, donated=donated,
                                          platform=_jaxlib.platform_name(device),
                                          arg_shardings=arg_shardings,
                                          out_shardings=out_shardings)
    params = [v.aval for v in jaxpr.constvars + jaxpr.invars]
    return Executable(text, [v.aval for v in jaxpr.outvars], device,
                      kind=program_kind(jaxpr), mesh=mesh, param_avals=params,
                      arg_shardings=arg_shardings, out_shardings=out_shardings,
                      callbacks=callbacks, name=name)


SMALL_ARRAY = 1024   # elements; see _small_straight_line and _small_loops
MANY_EQNS = 256
FEW_OUTPUTS = 8
SMALL_LOOP_DOT = 1 << 16     # multiply-adds of one dot_general in a loop body
SMALL_LOOP_EQNS = 1000       # equations in all loop bodies of a program together
SMALL_DOT = 1 << 18          # multiply-adds of the largest dot_general of a "small-dots" program
MANY_DOTS = 32               # dot_generals a "small-dots" program has at least


def program_kind(jaxpr: Jaxpr):
    """What the program is, for the XLA options ``_jaxlib`` sends with it (see the
    functions below): ``"straight-line"`` or ``"small-loops"``, and ``"small-dots"``,
    joined by "+" (``"small-loops+small-dots"``); None for a program XLA's defaults
    suit."""
    kinds = []
    if _small_straight_line(jaxpr):
        kinds.append("straight-line")
    elif _small_loops(jaxpr):
        kinds.append("small-loops")
    if _small_dots(jaxpr):
        kinds.append("small-dots")
    return "+".join(kinds) or None


def _small_dots(jaxpr: Jaxpr) -> bool:
    """The program (sub-programs included) has at least ``MANY_DOTS`` matrix products,
    each of at most ``SMALL_DOT`` multiply-adds, and no convolution.  XLA's CPU backend hands matrix
    products to its YNN library, which prepares each one at the program's first run:
    ~0.4 ms a product, so the first call of the 100-layer net's gradient (300 products
    of 8x32x32) took 130 ms against a 0.6 ms steady state, in a fresh process as after
    a compile (jaxlib 0.10.2, 2 cores).  For products this small YNN runs them no
    faster (8x32x32: 9-12 us a call either way; 64x64x64: 15 us), so ``_jaxlib`` turns
    it off; from 128x128x128 on YNN is 2.5x faster (53 against 132 us) and stays on.
    Programs with fewer products keep it: their setup is a few milliseconds, and with
    XLA's default their products round exactly as JAX's (tests compare bits)."""
    found = [0]

    def small(j: Jaxpr) -> bool:
        for e in j.eqns:
            if e.prim.name == "conv_general_dilated":
                return False
            if e.prim.name == "dot_general":
                found[0] += 1
                if _dot_macs(e) > SMALL_DOT:
                    return False
            if not all(small(sub.jaxpr) for sub in sub_jaxprs(e)):
                return False
        return True
    return small(jaxpr) and found[0] >= MANY_DOTS


def _dot_macs(e: Eqn):
    """The multiply-adds of a ``dot_general`` equation."""
    (lc, _), _ = e.params["dimension_numbers"]
    lhs = e.invars[0].aval
    k = 1
    for d in lc:
        k *= lhs.shape[d]
    return e.outvars[0].aval.size * k


def _small_straight_line(jaxpr: Jaxpr) -> bool:
    """At least ``MANY_EQNS`` equations, no loops or branches, no matrix products or
    convolutions, at most ``FEW_OUTPUTS`` outputs, and no array above ``SMALL_ARRAY``
    elements: a deep elementwise chain on small arrays (the 100-layer tanh net on f32[16])
    whose run time is launch overhead, for which ``_jaxlib`` turns off XLA's CPU fusion
    emitters: they fuse the whole chain into one kernel that takes 2-3x longer to compile
    (jaxlib 0.10.2, 2 cores: 0.21 s against 0.62 s at 100 layers, 0.83 s against 2.3 s at
    300).  Measured the other way, they must stay on for programs with many outputs (a
    gradient's: 100-layer chain, 200 outputs, 0.25 s on against 1.4 s off) and for chains
    of matrix products (0.15 s against 1.5 s; its gradient 0.5 s against 5.5 s).  Short
    programs compile quickly either way and keep XLA's default, whose results are the
    ones JAX gets to the last bit."""
    if len(jaxpr.eqns) < MANY_EQNS or len(jaxpr.outvars) > FEW_OUTPUTS:
        return False
    for v in jaxpr.invars:
        if v.aval.size > SMALL_ARRAY:
            return False
    for e in jaxpr.eqns:
        if e.prim.subjaxpr_params or e.prim.name in _CONTRACTIONS:
            return False
        for v in e.outvars:
            if v.aval.size > SMALL_ARRAY:
                return False
    return True


_CONTRACTIONS = ("dot_general", "conv_general_dilated")


_LOOPS = ("scan", "while")
_INDEXING = ("slice", "dynamic_slice", "gather")   # read a small part of a big operand


def _small_loops(jaxpr: Jaxpr) -> bool:
    """The program has loops, and every loop body (nested ones included) works on small
    arrays only: no equation makes or reads more than ``SMALL_ARRAY`` elements (reading a
    slice of a big operand, or writing one into it in place, counts as the slice), no
    ``dot_general`` does more than ``SMALL_LOOP_DOT`` multiply-adds, and all bodies
    together have at most ``SMALL_LOOP_EQNS`` equations.  Such a loop's time goes to
    XLA's per-kernel dispatch at every step (an RK4 step on f32[64] is ~35 kernels of
    well under a microsecond each), so ``_jaxlib`` lets XLA compile each whole loop into
    one kernel.  Loops with big arrays or matrix products keep XLA's default, where
    each operation gets its own kernel (and matrix products XLA's threaded library)."""
    bodies = []
    _collect_loop_bodies(jaxpr, bodies)
    if not bodies:
        return False
    budget = [SMALL_LOOP_EQNS]
    return all(_small_body(b, budget) for b in bodies)


def _collect_loop_bodies(jaxpr: Jaxpr, out: list) -> None:
    for e in jaxpr.eqns:
        for sub in sub_jaxprs(e):
            if e.prim.name in _LOOPS:
                out.append(sub.jaxpr)
            else:
                _collect_loop_bodies(sub.jaxpr, out)


def _small_body(body: Jaxpr, budget: list) -> bool:
    for e in body.eqns:
        budget[0] -= 1
        if budget[0] < 0:
            return False
        if not all(_small_body(sub.jaxpr, budget) for sub in sub_jaxprs(e)):
            return False
        if e.prim.name in _LOOPS:     # its stacked outputs are written in place
            continue
        if not _small_eqn(e):
            return False
    return True


def _small_eqn(e: Eqn) -> bool:
    name = e.prim.name
    if name == "dot_general":
        return _dot_macs(e) <= SMALL_LOOP_DOT
    if name == "dynamic_update_slice":
        return e.invars[1].aval.size <= SMALL_ARRAY
    if any(v.aval.size > SMALL_ARRAY for v in e.outvars):
        return False
    return name in _INDEXING or all(a.aval.size <= SMALL_ARRAY for a in e.invars)


@memoize("one-op executables")
def compile_single_op(prim, params_key, in_avals: tuple, device, in_shardings=None) -> Executable:
    """A cached one-equation executable: how eager mode runs a meta-operator.
    ``in_shardings`` (per operand, a sharding or None): the layouts of operands already
    spread over a mesh; the program then runs over that mesh, as JAX runs an eager op
    on sharded arrays (named shardings are kept, others left to the partitioner)."""
    params = dict(params_key)
    invars = [Var(a) for a in in_avals]
    out_avals = prim.abstract_eval(*in_avals, **params)
    outvars = [Var(a) for a in out_avals]
    jaxpr = Jaxpr([], invars, [Eqn(prim, invars, outvars, params)], outvars)
    if in_shardings is not None:
        in_shardings = [s if isinstance(s, NamedSharding) else None for s in in_shardings]
        if not any(in_shardings):   # only unnamed layouts: the first one's mesh is lost;
            in_shardings = None     # run on one device (the operands are copied there)
    return compile_jaxpr(jaxpr, device, arg_shardings=in_shardings, name=prim.name)
