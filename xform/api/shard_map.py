"""``shard_map`` and ``pmap``: per-device programs over a mesh, as ``jax.shard_map`` and
``jax.pmap``.

``shard_map(f, mesh=, in_specs=, out_specs=)(*args)`` traces ``f`` once on the *local*
pieces of its arguments (each split over the mesh as its ``PartitionSpec`` says), with
every manual mesh axis bound as a named axis (so ``lax.psum(x, 'x')`` works inside), and
binds one ``shard_map`` meta-operator (primitives/shard_map.py) holding that per-device
program.  Called outside any trace it runs through ``jit``, as in JAX.

``check_vma=True`` (the default) checks, as JAX does, that an output whose out spec
leaves a manual axis unmentioned (claims to be replicated over it) provably does not
vary over that axis; the analysis (``varying``) follows JAX's rules: arguments vary
over the axes their spec names, ``psum``/``pmax``/``pmin`` make a value invariant over
their axes, ``axis_index`` varies over its axis, other collectives keep their operand's
axes and add theirs, and every other operation varies over the union of its operands'.
Unlike JAX, no ``pvary`` is inserted and the transforms do not use the analysis: the
transpose rule is the one of JAX's ``check_vma=False`` (see higher_order/shard_map.py),
which gives the same gradients.

``pmap`` is a thin layer over ``shard_map`` (a 1-d mesh over the first devices, the
mapped axis split over it), for old code.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
from typing import Callable

import numpy as np

from primitives import shard_map as _sm
from primitives.core import Var
from primitives.irutil import hoist_consts
from primitives.lru import LRU
from primitives.sharding import Mesh, PartitionSpec, context_mesh

from .. import passes
from ..core import bind, find_builder, where
from ..core.pytree import broadcast_prefix, leaf_paths, node_type, tree_flatten, tree_unflatten
from ..core.trace import leaf_aval, trace_to_jaxpr
from ..lax.parallel import axis_frame, bound_axis_names
from .. import lax
from .devices import local_devices
from .jit import jit


class _Infer:
    def __repr__(self):
        return "Infer"


Infer = _Infer()


def _fun_name(f) -> str:
    return getattr(f, "__name__", type(f).__name__)


def _arg_paths(f, in_tree) -> list[str]:
    """``args[0]['w']``-style paths, with the parameter name when the signature has it."""
    paths = leaf_paths(in_tree.children()[0]) if node_type(in_tree) is tuple else \
        leaf_paths(in_tree)
    try:
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    out = []
    for p in paths:
        name = ""
        if p.startswith("[") and "]" in p:
            i = p[1:p.index("]")]
            if i.isdigit() and int(i) < len(params):
                name = f" (parameter '{params[int(i)]}')"
        out.append(f"args{p}{name}")
    return out


# --- specs -----------------------------------------------------------------------------------

def _is_spec_entry(x) -> bool:
    return x is None or isinstance(x, PartitionSpec)


def _check_specs(what, specs, manual, mesh):
    if what == "in_specs" and specs is None:
        raise TypeError(f"shard_map in_specs argument must be a pytree of PartitionSpec "
                        f"instances, but it was None. Instead of in_specs=None, did you mean "
                        f"in_specs=P()?{where()}")
    leaves, _ = tree_flatten(specs, is_leaf=_is_spec_entry)
    for s in leaves:
        if s is None:
            continue
        if not isinstance(s, PartitionSpec):
            raise TypeError(f"shard_map {what} must be a pytree of PartitionSpec instances, "
                            f"but it holds {s!r} of type {type(s).__name__}{where()}")
        for n in s.axis_names():
            if n not in manual:
                inmesh = n in mesh.shape
                raise ValueError(
                    f"shard_map {what} {s} refers to axis {n!r}, which "
                    + ("is not one of the manual axes " + str(tuple(manual)) if inmesh else
                       f"is not an axis of {mesh} (axes {mesh.axis_names})") + where())


def _resolve_mesh(mesh, axis_names):
    if mesh is None:
        mesh = context_mesh()
        if mesh is None:
            raise ValueError("shard_map needs a mesh: pass mesh=..., or call it inside a "
                             f"`with mesh:` block{where()}")
    if not isinstance(mesh, Mesh):
        raise TypeError(f"shard_map requires an xform.sharding.Mesh, got "
                        f"{type(mesh).__name__}{where()}")
    if not isinstance(axis_names, (set, frozenset)):
        raise TypeError(f"shard_map axis_names must be a set or frozenset, got "
                        f"{type(axis_names).__name__}{where()}")
    bad = [n for n in axis_names if n not in mesh.shape]
    if bad:
        raise ValueError(f"shard_map axis_names={set(axis_names)} must be a subset of the "
                         f"mesh's axis names {mesh.axis_names}; {bad[0]!r} is not{where()}")
    manual = tuple(n for n in mesh.axis_names if not axis_names or n in axis_names)
    return mesh, manual


def _check_arg(f, path, spec, aval, mesh):
    if len(spec) > aval.ndim:
        hint = " For scalar values (rank 0), use P()." if aval.ndim == 0 else ""
        raise ValueError(
            f"shard_map applied to '{_fun_name(f)}': in_specs entry {spec} for {path} has "
            f"length {len(spec)}, but {path} has shape {aval.str_short()}, of rank "
            f"{aval.ndim} (and {aval.ndim} < {len(spec)}).{hint}{where()}")
    factors = _sm.spec_factors(mesh, spec, aval.ndim)
    for d, (n, k) in enumerate(zip(aval.shape, factors)):
        if n % k:
            names = _sm.spec_names(spec.padded(aval.ndim)[d])
            axes = f"axis '{names[0]}'" if len(names) == 1 else f"axes {names}"
            raise ValueError(
                f"shard_map applied to '{_fun_name(f)}': {path} of shape {aval.str_short()} "
                f"corresponds to in_specs entry {spec}, which maps array axis {d} (of size "
                f"{n}) to mesh {axes} (of size {k}), but {k} does not evenly divide {n}. "
                f"The mesh is {mesh}.{where()}")


# --- the replication check (check_vma) ------------------------------------------------------

_INVARIANT_AFTER = ("psum", "pmax", "pmin")


def varying(jaxpr, in_vma) -> list[frozenset]:
    """For each output of ``jaxpr``, the mesh axes it may vary over, given those of its
    inputs (``in_vma``, one frozenset per invar)."""
    env = dict(zip(jaxpr.invars, in_vma))

    def read(a):
        return env.get(a, frozenset()) if type(a) is Var else frozenset()

    for e in jaxpr.eqns:
        ins = [read(a) for a in e.invars]
        allin = frozenset().union(*ins)
        outs = _eqn_varying(e, ins, allin)
        for v, s in zip(e.outvars, outs):
            env[v] = s
    return [read(a) for a in jaxpr.outvars]


def _eqn_varying(e, ins, allin):
    n_out = len(e.outvars)
    name = e.prim.name
    if e.prim.family == "collective":
        axes = frozenset(e.params.get("axis_name", ()))
        if name in _INVARIANT_AFTER:
            return [allin - axes] * n_out
        if name == "axis_index":
            return [axes] * n_out
        return [allin | axes] * n_out
    if name == "cond":
        out = [ins[0]] * n_out
        for br in e.params["branches"]:
            out = [a | b for a, b in zip(out, varying(br.jaxpr, ins[1:]))]
        return out
    if name == "scan":
        nc, nk = e.params["num_consts"], e.params["num_carry"]
        body = e.params["jaxpr"].jaxpr
        carry = list(ins[nc:nc + nk])
        while True:
            out = varying(body, ins[:nc] + carry + ins[nc + nk:])
            new = [a | b for a, b in zip(carry, out[:nk])]
            if new == carry:
                return new + out[nk:]
            carry = new
    if name == "while":
        ncc, nbc = e.params["cond_nconsts"], e.params["body_nconsts"]
        cj, bj = e.params["cond_jaxpr"].jaxpr, e.params["body_jaxpr"].jaxpr
        carry = list(ins[ncc + nbc:])
        while True:
            pred, = varying(cj, ins[:ncc] + carry)
            out = varying(bj, ins[ncc:ncc + nbc] + carry)
            new = [a | b | pred for a, b in zip(carry, out)]
            if new == carry:
                return new
            carry = new
    subs = [e.params[p] for p in e.prim.subjaxpr_params]
    if len(subs) == 1 and not isinstance(subs[0], (tuple, list)) and \
            name != "shard_map" and len(subs[0].jaxpr.invars) == len(ins) and \
            len(subs[0].jaxpr.outvars) == n_out:
        return varying(subs[0].jaxpr, ins)    # checkpoint, custom_jvp_call, ...
    return [allin] * n_out


def _check_replication(f, body, in_specs, out_specs, out_paths, manual, mesh):
    in_vma = [frozenset(s.axis_names()) for s in in_specs]
    fails = []
    for path, s, vma in zip(out_paths, out_specs, varying(body.jaxpr, in_vma)):
        bad = [n for n in _sm.unmentioned(s, manual) if n in vma]
        if bad:
            fails.append(
                f"  out_specs entry {s} for output {path} says it is replicated over mesh "
                f"axis {', '.join(map(repr, bad))}, but it may vary over "
                f"{{{', '.join(n for n in mesh.axis_names if n in vma)}}}")
    if fails:
        raise ValueError(
            f"shard_map applied to '{_fun_name(f)}' was given out_specs which require "
            f"replication that can't be statically inferred (mesh {mesh}):\n"
            + "\n".join(fails) + "\nIf these outputs are meant to be replicated over those "
            "axes, reduce them there (lax.psum, lax.pmax, ...), or pass check_vma=False to "
            f"skip the check; otherwise name the axes in their out_specs.{where()}")


def _is_array_leaf(x) -> bool:
    return hasattr(x, "aval") or isinstance(x, (np.ndarray, np.generic, int, float, complex))


# --- shard_map -------------------------------------------------------------------------------

def shard_map(f: Callable | None = None, /, *, out_specs, in_specs=Infer, mesh=None,
              axis_names=frozenset(), check_vma: bool = True):
    """Map ``f`` over the pieces of its arguments on the devices of ``mesh``.

    ``in_specs`` / ``out_specs``: pytree prefixes of the positional arguments / of ``f``'s
    result whose leaves are ``PartitionSpec``s (``None`` in ``in_specs``: that argument
    is passed to ``f`` as it is, not mapped).  ``mesh`` defaults to the mesh of the
    enclosing ``with mesh:``.  ``axis_names``: the mesh axes ``f`` is manual over
    (default: all); the others stay automatic (XLA's partitioner handles them).
    ``check_vma``: see the module docstring."""
    if f is None:
        return functools.partial(shard_map, out_specs=out_specs, in_specs=in_specs,
                                 mesh=mesh, axis_names=axis_names, check_vma=check_vma)
    if not callable(f):
        raise TypeError(f"shard_map requires a callable for its first argument, but got {f} "
                        f"of type {type(f).__name__}")
    if in_specs is Infer:
        raise NotImplementedError(
            "shard_map: in_specs must be given (inferring them from the arguments' types "
            "needs Explicit mesh axes, which xform does not implement)")

    def call(*args, **kwargs):
        if kwargs:
            raise TypeError(f"shard_map'd functions take positional arguments only, got "
                            f"keyword arguments {sorted(kwargs)}{where()}")
        if find_builder() is None and all(_is_array_leaf(x) for x in tree_flatten(args)[0]):
            # outside any trace: compile it, as JAX does
            return _jitted(f, in_specs, out_specs, mesh, axis_names, check_vma)(*args)
        return _bind_shard_map(f, args, in_specs, out_specs, mesh, axis_names, check_vma)

    return functools.wraps(f)(call)


_JITTED = LRU("shard_map outside a trace")


def _jitted(f, in_specs, out_specs, mesh, axis_names, check_vma):
    """The ``jit`` of one shard_map, shared by every call with the same function and
    specs (so that ``shard_map(f, ...)(x)`` written inline compiles once)."""
    try:
        key = (f, _frozen(in_specs), _frozen(out_specs), mesh, frozenset(axis_names),
               check_vma)
        hit = _JITTED.get(key)
    except TypeError:
        key = hit = None
    if hit is None:
        def run(*args):
            return _bind_shard_map(f, args, in_specs, out_specs, mesh, axis_names, check_vma)
        run.__name__ = run.__qualname__ = f"shard_map({_fun_name(f)})"
        hit = jit(run)
        if key is not None:
            _JITTED.put(key, hit)
    return hit


def _frozen(specs):
    leaves, tree = tree_flatten(specs, is_leaf=_is_spec_entry)
    return tuple(leaves), tree


def _bind_shard_map(f, args, in_specs, out_specs, mesh, axis_names, check_vma):
    mesh, manual = _resolve_mesh(mesh, axis_names)
    _check_specs("in_specs", in_specs, manual, mesh)
    if not callable(out_specs):
        _check_specs("out_specs", out_specs, manual, mesh)
    leaves, in_tree = tree_flatten((args, {}))
    try:
        per = broadcast_prefix(in_specs, in_tree.children()[0], _is_spec_entry,
                               "shard_map in_specs")
    except ValueError as e:
        raise ValueError(f"{e} (shard_map of '{_fun_name(f)}' called with {len(args)} "
                         f"positional arguments){where()}") from None
    paths = _arg_paths(f, in_tree)
    dyn, dyn_specs, local = [], [], []
    for leaf, spec, path in zip(leaves, per, paths):
        if spec is None:
            continue
        aval = leaf_aval(leaf, f"shard_map: {path}")
        _check_arg(f, path, spec, aval, mesh)
        dyn.append(leaf)
        dyn_specs.append(spec)
        local.append(_sm.local_aval(mesh, spec, aval))
    is_dyn = [s is not None for s in per]
    out_info = []

    def body(*xs):
        it = iter(xs)
        full = [next(it) if d else leaf for leaf, d in zip(leaves, is_dyn)]
        a, _ = tree_unflatten(in_tree, full)
        out = f(*a)
        out_leaves, out_tree = tree_flatten(out)
        out_info.append(out_tree)
        return out_leaves

    _, flat_tree = tree_flatten((tuple(range(len(dyn))), {}))
    taken = [n for n in manual if n in bound_axis_names()]
    if taken:
        raise ValueError(
            f"shard_map applied to {_fun_name(f)!r}: mesh axis {taken[0]!r} is already bound "
            f"here, by an enclosing shard_map (whose body runs per device along it) or "
            f"vmap(axis_name={taken[0]!r}); a nested shard_map must use other axes"
            f"{where()}")
    with contextlib.ExitStack() as stack:
        for n in manual:   # every manual axis is a named axis of its size while tracing
            stack.enter_context(axis_frame(n, mesh.shape[n]))
        closed, _ = trace_to_jaxpr(body, local, flat_tree, context="shard_map")
    out_tree = out_info[0]
    if callable(out_specs):   # pmap: per output leaf, known once traced
        o_specs = list(out_specs(out_tree))
    else:
        try:
            o_specs = broadcast_prefix(out_specs, out_tree,
                                       lambda x: isinstance(x, PartitionSpec),
                                       "shard_map out_specs")
        except ValueError as e:
            raise ValueError(f"{e} (the outputs of '{_fun_name(f)}'){where()}") from None
    out_paths = [f"{_fun_name(f)}(*args){p}" for p in leaf_paths(out_tree)]
    for path, s, a in zip(out_paths, o_specs, closed.out_avals):
        if len(s) > a.ndim:
            raise ValueError(
                f"shard_map applied to '{_fun_name(f)}': out_specs entry {s} for output "
                f"{path} has length {len(s)}, but the output has per-device shape "
                f"{a.str_short()}, of rank {a.ndim}." + (
                    " For rank-0 outputs that are not constant over the mesh, add a "
                    "(singleton) axis so that they can be concatenated by out_specs."
                    if a.ndim == 0 else "") + where())
    closed = passes.simplify(closed)
    body_j, consts = hoist_consts(closed)
    specs = [PartitionSpec()] * len(consts) + dyn_specs
    if check_vma:
        _check_replication(f, body_j, specs, o_specs, out_paths, manual, mesh)
    outs = bind(_sm.shard_map, *consts, *dyn, jaxpr=body_j, mesh=mesh, in_specs=tuple(specs),
                out_specs=tuple(o_specs), manual_axes=manual)
    return tree_unflatten(out_tree, list(outs))


# --- pmap ------------------------------------------------------------------------------------

_PMAP_AXIS = "_pmap"


def _moveaxis(x, src: int, dst: int):
    if src == dst:
        return x
    perm = [d for d in range(x.ndim) if d != src]
    perm.insert(dst, src)
    return lax.transpose(x, tuple(perm))


def pmap(fun: Callable, axis_name=None, *, in_axes=0, out_axes=0,
         static_broadcasted_argnums=(), devices=None, backend=None, axis_size=None,
         donate_argnums=(), global_arg_shapes=None):
    """``jax.pmap`` as a ``shard_map`` over a 1-d mesh of the first ``n`` local devices
    (or of ``devices``), ``n`` the size of the mapped axis: each device runs ``fun`` on
    one slice, compiled as one program.  ``in_axes`` / ``out_axes`` are as in ``vmap``
    (an input with ``None`` is broadcast to every device; an output with ``None`` must be
    the same on every device, and is not checked).  ``static_broadcasted_argnums``,
    ``donate_argnums``, ``backend`` and ``global_arg_shapes`` are not implemented."""
    from .vmap import _broadcast_prefix, _normalize_in_axes
    for opt, val in (("static_broadcasted_argnums", static_broadcasted_argnums),
                     ("donate_argnums", donate_argnums), ("backend", backend),
                     ("global_arg_shapes", global_arg_shapes)):
        if val is not None and val != ():
            raise NotImplementedError(f"pmap({opt}={val!r}) is not implemented; use "
                                      f"shard_map, or jit with shardings")
    if not callable(fun):
        raise TypeError(f"pmap: expected a callable, got {type(fun).__name__}")
    in_axes = _normalize_in_axes(in_axes)
    name = _PMAP_AXIS if axis_name is None else axis_name

    def mapped(*args):
        specs = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        if len(specs) != len(args):
            raise ValueError(f"pmap in_axes has {len(specs)} entries but {len(args)} "
                             f"positional arguments were given{where()}")
        entries = []
        for i, (s, a) in enumerate(zip(specs, args)):
            _broadcast_prefix(s, a, f"args[{i}]", "in_axes", entries)
        _, tree = tree_flatten(args)
        sizes, xs, dims = {}, [], []
        for path, leaf, ax in entries:
            if ax is None:
                xs.append(leaf)
                dims.append(None)
                continue
            aval = leaf_aval(leaf, f"pmap: {path}")
            if not -aval.ndim <= ax < aval.ndim:
                raise ValueError(f"pmap: in_axes {ax} is out of range for {path} of shape "
                                 f"{aval.shape}{where()}")
            ax %= aval.ndim
            sizes.setdefault(aval.shape[ax], []).append(path)
            xs.append(_moveaxis(leaf, ax, 0))
            dims.append(0)
        if axis_size is not None:
            sizes.setdefault(int(axis_size), []).append("axis_size")
        if len(sizes) != 1:
            detail = "; ".join(f"size {n}: {', '.join(p)}" for n, p in sizes.items())
            raise ValueError(f"pmap got inconsistent sizes for the mapped axes ({detail})"
                             if sizes else "pmap needs at least one mapped argument or "
                             f"axis_size{where()}")
        n = next(iter(sizes))
        devs = list(devices) if devices is not None else local_devices()
        if n > len(devs):
            raise ValueError(f"pmap: the mapped axis has size {n}, but only {len(devs)} "
                             f"devices are available{where()}")
        mesh = Mesh(np.array(devs[:n], dtype=object), (name,))
        box = []

        def per_device(*ys):
            ys = [y if d is None else lax.squeeze(y, (0,)) for y, d in zip(ys, dims)]
            out = fun(*tree_unflatten(tree, ys))
            oax = []
            _broadcast_prefix(out_axes, out, "out", "out_axes", oax)
            leaves, out_tree = tree_flatten(out)
            box.append((out_tree, [a for _, _, a in oax]))
            return [o if a is None else lax.expand_dims(o, (0,)) for o, (_, _, a) in
                    zip(leaves, oax)]

        def o_specs(_):
            return [PartitionSpec() if a is None else PartitionSpec(name) for a in box[0][1]]

        in_sp = [PartitionSpec() if d is None else PartitionSpec(name) for d in dims]
        outs = _bind_shard_map(per_device, tuple(xs), tuple(in_sp), o_specs, mesh,
                               frozenset(), False)
        out_tree, oax = box[0]
        outs = [o if a is None else _moveaxis(o, 0, a % o.ndim) for o, a in zip(outs, oax)]
        return tree_unflatten(out_tree, outs)

    jitted = jit(mapped)

    @functools.wraps(fun)
    def call(*args, **kwargs):
        if kwargs:
            raise TypeError(f"pmap'd functions take positional arguments only, got "
                            f"keyword arguments {sorted(kwargs)}{where()}")
        return jitted(*args) if find_builder() is None else mapped(*args)

    return call
