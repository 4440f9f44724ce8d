"""``xform.export``: a jitted function as a self-contained StableHLO program that leaves
the process, as ``jax.export``.

    exp = export.export(jit(f))(ShapeDtypeStruct((4,), "float32"))   # an Exported
    blob = exp.serialize(vjp_order=1)          # bytes: write them anywhere
    exp2 = export.deserialize(blob)            # in another process, without f's code
    y = exp2.call(x)                           # also inside jit, vmap and grad

**What an ``Exported`` holds.**  The program's StableHLO module as a *portable artifact*
(StableHLO's versioned VHLO bytecode, the form its compatibility guarantees cover),
written for the oldest StableHLO version of a 12-week window, so an older binding can
load it; the constants the function closed over are written into the module.  Beside
it: the flat input and output avals, the pytree structures of ``(args, kwargs)`` and of
the result, the platforms the module was lowered for, and, when serialized with
``vjp_order=k``, the exported VJP program (recursively, k levels).

**The file format** is ours (JAX's is a flatbuffer whose schema belongs to JAX):
``XFORMEXP`` (8 bytes), the format version (u32, little-endian), the length of a UTF-8
JSON header (u32), the header, the artifact, then the serialized VJP if any.  The header
records the sizes and the SHA-256 of the artifact, so a truncated or corrupted file is
an error that says so, never a crash; a file of a newer format version, or whose
StableHLO is newer than this jaxlib reads, is refused with both versions named.

**Calling it** binds ``call_exported`` (primitives/exported.py), whose lowering links
the module's functions into the caller's program: an exported program called under
``jit`` is compiled together with what surrounds it.  ``vmap`` runs it once per batch
element (rules: higher_order/exported.py); ``grad``/``vjp`` use the exported VJP
through a ``custom_vjp``; forward mode is refused, as in JAX.

**Platforms.**  The module is lowered once per requested platform; when the lowerings are
the same text (no vendor library calls) one module serves all of them, otherwise export
asks for one platform at a time.  Calling it on a platform it was not exported for is
an error naming both.

**Symbolic dimensions.**  ``symbolic_shape("b, 4")`` in a ``ShapeDtypeStruct`` exports
one program for every batch size: the module's ``main`` takes ``tensor<?x4xf32>``, reads
``b`` off its argument (``get_dimension_size``) and builds shapes from it
(lowering/emitter.py).  ``call`` learns ``b`` from the arguments' shapes, checks them,
and links the module into the calling program with static shapes, which StableHLO's
shape refinement propagates through it before XLA compiles (one compile per set of
values, as in JAX).  The VJP is exported with the same symbolic shapes.

**Not yet:** programs over several devices raise ``NotImplementedError``; host
callbacks (``debug.print``, ``io_callback``) cannot be serialized (their Python functions
stay in the process), so export refuses them.
"""
from __future__ import annotations

import hashlib
import json
import struct

import numpy as np

from primitives import dtypes
from primitives.core import ShapedArray, jaxpr_effects
from primitives.exported import ForeignModule, call_exported
from primitives.shape_poly import evaluate, is_symbolic, is_symbolic_shape, parse_dim
from lowering import _jaxlib
from lowering.emitter import lower_module

from ..core import bind
from ..core.array import array_from_numpy
from ..core.checks import check_ir
from ..core.pytree import (PyTreeDef, UnregisteredNodeError, register_node_serialization,
                           tree_flatten,
                           tree_unflatten, treedef_from_json, treedef_to_json)
from ..core.source import where
from ..core.trace import eval_jaxpr, leaf_aval
from .ad import vjp as _vjp
from .custom_derivatives import custom_vjp
from .jit import Jitted, jit
from .stages import ShapeDtypeStruct, _leaf_paths

__all__ = ["Exported", "export", "deserialize", "symbolic_shape", "symbolic_args_specs",
           "SymbolicScope", "is_symbolic_dim", "register_pytree_node_serialization",
           "register_namedtuple_serialization",
           "default_export_platform", "minimum_supported_calling_convention_version",
           "maximum_supported_calling_convention_version", "DisabledSafetyCheck"]

MAGIC = b"XFORMEXP"
FORMAT_VERSION = 1   # of the container and the calling convention (``main(*flat args)``)
minimum_supported_calling_convention_version = 1
maximum_supported_calling_convention_version = FORMAT_VERSION
_PLATFORMS = ("cpu", "cuda", "rocm", "tpu")


class DisabledSafetyCheck:
    """A check ``Exported.call`` may skip: only ``platform()`` (call on a platform the
    program was not exported for, at the caller's risk)."""

    def __init__(self, name):
        self._name = name

    @classmethod
    def platform(cls):
        return cls("platform")

    def __eq__(self, other):
        return isinstance(other, DisabledSafetyCheck) and self._name == other._name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f"DisabledSafetyCheck.{self._name}()"


def default_export_platform() -> str:
    """The platform ``export`` lowers for when none is given: the default device's."""
    return _jaxlib.platform_name(_jaxlib.default_device())


class Exported:
    """A program exported by ``export(jit(f))(*args)``: call it (``call``), serialize it
    (``serialize``), look at it (``mlir_module``, ``in_avals``, ``out_avals``, ...)."""

    def __init__(self, *, fun_name, in_tree, in_avals, out_tree, out_avals, platforms,
                 mlir_module_serialized, stablehlo_version, disabled_safety_checks=(),
                 get_vjp=None, text=None):
        self.fun_name = fun_name
        self.in_tree, self.in_avals = in_tree, tuple(in_avals)
        self.out_tree, self.out_avals = out_tree, tuple(out_avals)
        self.platforms = tuple(platforms)
        self.mlir_module_serialized = mlir_module_serialized
        self.stablehlo_version = stablehlo_version
        self.disabled_safety_checks = tuple(disabled_safety_checks)
        self.calling_convention_version = FORMAT_VERSION
        self.nr_devices = 1
        self.in_shardings_hlo = (None,) * len(self.in_avals)
        self.out_shardings_hlo = (None,) * len(self.out_avals)
        self.ordered_effects = self.unordered_effects = ()
        self.module_kept_var_idx = tuple(range(len(self.in_avals)))
        self._get_vjp = get_vjp
        self._vjp = None
        self._text = text
        self._modules = {}      # dimension values (None: static shapes) -> ForeignModule
        self._symbolic = any(is_symbolic_shape(a.shape) for a in self.in_avals)
        # JAX's name for "main computes dimension variables" (its call site then refines
        # the module's shapes): what a jax.export.Exported built from ours must say
        self.uses_global_constants = self._symbolic

    def __repr__(self):
        ins = ", ".join(a.str_short() for a in self.in_avals)
        outs = ", ".join(a.str_short() for a in self.out_avals)
        return f"Exported({self.fun_name}: ({ins}) -> ({outs}) for {', '.join(self.platforms)})"

    def mlir_module(self) -> str:
        """The StableHLO module, as text."""
        if self._text is None:
            try:
                self._text = _jaxlib.module_from_artifact(self.mlir_module_serialized)
            except ValueError as e:
                lo, cur, _ = _jaxlib.stablehlo_versions()
                raise ValueError(
                    f"the exported {self.fun_name} holds StableHLO {self.stablehlo_version}, "
                    f"which this jaxlib (StableHLO {lo} to {cur}) cannot read: {e}") from None
        return self._text

    def has_vjp(self) -> bool:
        return self._vjp is not None or self._get_vjp is not None

    def vjp(self) -> "Exported":
        """The exported VJP: ``vjp(*flat primals, *flat output cotangents) -> flat input
        cotangents``, where only inexact (float, complex) outputs take a cotangent and only
        inexact inputs get one."""
        if self._vjp is None:
            if self._get_vjp is None:
                raise ValueError(
                    f"the exported {self.fun_name} has no VJP: it was deserialized from "
                    f"bytes serialized with vjp_order=0; serialize with vjp_order=1 (or "
                    f"higher) to differentiate it")
            self._vjp = self._get_vjp()
        return self._vjp

    def serialize(self, vjp_order: int = 0) -> bytes:
        """The bytes of this program (and of ``vjp_order`` levels of its VJP)."""
        if not isinstance(vjp_order, int) or vjp_order < 0:
            raise ValueError(f"Exported.serialize: vjp_order must be an int >= 0, got "
                             f"{vjp_order!r}")
        vjp_blob = self.vjp().serialize(vjp_order - 1) if vjp_order else b""
        header = {
            "format": "xform.export", "fun_name": self.fun_name,
            "in_tree": _tree_json(self.in_tree, "arguments"),
            "out_tree": _tree_json(self.out_tree, "results"),
            "in_avals": [_aval_json(a) for a in self.in_avals],
            "out_avals": [_aval_json(a) for a in self.out_avals],
            "platforms": list(self.platforms), "nr_devices": 1,
            "stablehlo_version": self.stablehlo_version,
            "disabled_safety_checks": [c._name for c in self.disabled_safety_checks],
            "module_size": len(self.mlir_module_serialized),
            "module_sha256": hashlib.sha256(self.mlir_module_serialized).hexdigest(),
            "vjp_size": len(vjp_blob)}
        head = json.dumps(header).encode()
        return (MAGIC + struct.pack("<II", FORMAT_VERSION, len(head)) + head
                + self.mlir_module_serialized + vjp_blob)

    # --- calling -----------------------------------------------------------------------------

    def _foreign(self, env=None) -> ForeignModule:
        """The module to bind: for symbolic shapes, specialized to the dimension values
        ``env`` (one ``ForeignModule`` per set of values)."""
        key = None if env is None else tuple(sorted(env.items()))
        mod = self._modules.get(key)
        if mod is None:
            if env is None:
                mod = ForeignModule(self.mlir_module(), self.in_avals, self.out_avals,
                                    self.fun_name, self.platforms)
            else:
                mod = ForeignModule(self.mlir_module(), _concrete(self.in_avals, env),
                                    _concrete(self.out_avals, env), self.fun_name,
                                    self.platforms,
                                    callee_avals=(self.in_avals, self.out_avals))
            self._modules[key] = mod
        return mod

    def call(self, *args, **kwargs):
        """Run the program on ``args``/``kwargs`` (structured as the exported function's
        arguments, each of its exported shape and dtype; a symbolic dimension takes its
        value from the arguments); eagerly or under a transform."""
        name = f"Exported.call of {self.fun_name}"
        leaves, tree = tree_flatten((args, kwargs))
        if tree != self.in_tree:
            raise TypeError(f"{name}: the arguments are structured as {tree}, but the "
                            f"function was exported for {self.in_tree}{where()}")
        paths = _leaf_paths(self.in_tree)
        got_avals = [leaf_aval(x, f"{name}: argument {path}") for path, x in zip(paths, leaves)]
        env = _solve_dimensions(name, paths, got_avals, self.in_avals) if self._symbolic \
            else None
        ops = []
        for path, x, got, want in zip(paths, leaves, got_avals, self.in_avals):
            shape = want.shape if env is None else _concrete_shape(want.shape, env)
            if got.shape != shape or got.dtype != want.dtype:
                raise TypeError(f"{name}: argument {path} is {got.str_short()}, but the "
                                f"function was exported for {want.str_short()}{where()}")
            if isinstance(x, (np.ndarray, np.generic, int, float, complex)):
                x = array_from_numpy(np.asarray(x, dtype=want.dtype))
            ops.append(x)
        self._check_platform(name)
        module = self._foreign(env)
        if self.has_vjp() and any(_inexact(a) for a in self.in_avals):
            outs = self._differentiable(module)(*ops)
        else:
            outs = bind(call_exported, *ops, module=module)
        return tree_unflatten(self.out_tree, list(outs))

    def _check_platform(self, name):
        here = default_export_platform()
        if here not in self.platforms and \
                DisabledSafetyCheck.platform() not in self.disabled_safety_checks:
            raise ValueError(
                f"{name}: the function was exported for {', '.join(self.platforms)}, but "
                f"is called on {here}; export it for {here} too (platforms=...)")

    def _differentiable(self, module):
        """The call of ``module`` as a ``custom_vjp`` whose backward pass is the exported
        VJP."""
        in_avals, out_avals = self.in_avals, self.out_avals

        @custom_vjp
        def call(*xs):
            return tuple(bind(call_exported, *xs, module=module))

        def fwd(*xs):
            return call(*xs), xs

        def bwd(xs, cts):
            vjp = self.vjp()
            ct_in = [c for c, a in zip(cts, out_avals) if _inexact(a)]
            got = iter(vjp.call(*xs, *ct_in))
            return tuple(next(got) if _inexact(a) else None for a in in_avals)

        call.defvjp(fwd, bwd)
        return call


def _inexact(aval) -> bool:
    return dtypes.is_inexact(aval.dtype)


# --- export ------------------------------------------------------------------------------------

def export(fun_jit, *, platforms=None, disabled_checks=()):
    """``export(jit(f))(*args, **kwargs) -> Exported``: ``f`` lowered for the shapes and
    dtypes of ``args`` (arrays or ``ShapeDtypeStruct``s), as a self-contained program."""
    if not isinstance(fun_jit, Jitted):
        raise TypeError(f"export: pass a function wrapped in xform.jit (export(jit(f))), got "
                        f"{type(fun_jit).__name__} {getattr(fun_jit, '__name__', fun_jit)!r}")
    if platforms is None:
        platforms = (default_export_platform(),)
    elif isinstance(platforms, str):
        platforms = (platforms,)
    platforms = tuple(platforms)
    for p in platforms:
        if p not in _PLATFORMS:
            raise ValueError(f"export: unknown platform {p!r}; platforms are "
                             f"{', '.join(_PLATFORMS)}")
    if not platforms:
        raise ValueError("export: platforms must name at least one platform")
    for c in disabled_checks:
        if not isinstance(c, DisabledSafetyCheck):
            raise TypeError(f"export: disabled_checks holds {c!r}; use "
                            f"export.DisabledSafetyCheck.platform()")

    def do_export(*args, **kwargs):
        lowered = fun_jit.lower(*args, **kwargs)
        return _from_entry(fun_jit, lowered._entry, platforms, tuple(disabled_checks))

    return do_export


def _from_entry(fun_jit, entry, platforms, disabled) -> Exported:
    closed = check_ir(entry.closed, "export")
    name = fun_jit.__name__
    if jaxpr_effects(closed.jaxpr):
        raise ValueError(
            f"export of {name}: the function calls a host callback (debug.print, "
            f"debug.callback, io_callback or pure_callback); its Python function cannot be "
            f"serialized with the program.  Export the function without it")
    if any(s is not None for s in (entry.arg_shardings or ())) or \
            any(s is not None for s in (entry.out_shardings or ())) or entry.device is not None:
        raise NotImplementedError(
            f"export of {name}: programs with shardings or a device placement cannot be "
            f"exported yet (issue 18); export the one-device function")
    consts = [np.asarray(c) for c in closed.consts]
    texts = {}
    for p in platforms:
        try:
            texts[p] = lower_module(closed.jaxpr, platform=p, const_values=consts)
        except (NotImplementedError, RuntimeError, ValueError) as e:
            raise NotImplementedError(f"export of {name} for {p}: {e}") from None
    if len(set(texts.values())) > 1:
        raise NotImplementedError(
            f"export of {name}: the program differs between {', '.join(platforms)} (it calls "
            f"a vendor library); export it for one platform at a time")
    text = texts[platforms[0]]
    _, _, version = _jaxlib.stablehlo_versions()
    payload = _jaxlib.portable_artifact(text, version)
    in_avals = [v.aval for v in closed.jaxpr.invars]
    out_avals = [v.aval for v in closed.jaxpr.outvars]

    def get_vjp():
        return _export_vjp(closed, in_avals, out_avals, name, platforms, disabled)

    return Exported(fun_name=name, in_tree=entry.in_tree, in_avals=in_avals,
                    out_tree=entry.out_tree, out_avals=out_avals, platforms=platforms,
                    mlir_module_serialized=payload, stablehlo_version=version,
                    disabled_safety_checks=disabled, get_vjp=get_vjp, text=text)


def _export_vjp(closed, in_avals, out_avals, name, platforms, disabled) -> Exported:
    """The VJP of the flat program, exported: ``(*primals, *inexact output cotangents)
    -> inexact input cotangents``."""
    n = len(in_avals)
    diff_in = [i for i, a in enumerate(in_avals) if _inexact(a)]
    diff_out = [k for k, a in enumerate(out_avals) if _inexact(a)]

    def vjp_fun(*xs):
        primals, cts = list(xs[:n]), xs[n:]

        def f(*dx):
            full = list(primals)
            for i, v in zip(diff_in, dx):
                full[i] = v
            outs = eval_jaxpr(closed.jaxpr, closed.consts, full)
            return tuple(outs[k] for k in diff_out)

        _, pullback = _vjp(f, *[primals[i] for i in diff_in])
        return tuple(pullback(tuple(cts)))

    vjp_fun.__name__ = f"vjp_{name}"
    structs = [ShapeDtypeStruct(a.shape, a.dtype, a.weak_type) for a in in_avals] + \
              [ShapeDtypeStruct(out_avals[k].shape, out_avals[k].dtype) for k in diff_out]
    return export(jit(vjp_fun), platforms=platforms, disabled_checks=disabled)(*structs)


# --- deserialize --------------------------------------------------------------------------------

def deserialize(blob) -> Exported:
    """The ``Exported`` that ``Exported.serialize`` wrote (``bytes`` or ``bytearray``)."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise TypeError(f"export.deserialize: expected bytes, got {type(blob).__name__}")
    blob = bytes(blob)
    exp, rest = _read(blob)
    if rest:
        raise ValueError(f"export.deserialize: {len(rest)} bytes follow the exported "
                         f"program; the data is not one serialized Exported")
    return exp


def _read(blob: bytes):
    if not blob.startswith(MAGIC):
        hint = ""
        if len(blob) >= 8 and blob[4:8] != MAGIC[4:8]:
            hint = " (a jax.export artifact is a flatbuffer of JAX's schema, which xform " \
                   "does not read; see docs/differences.md)"
        raise ValueError(f"export.deserialize: not a serialized xform Exported: it starts "
                         f"with {blob[:8]!r}, not {MAGIC!r}{hint}")
    if len(blob) < 16:
        raise ValueError("export.deserialize: the data is truncated (no header)")
    version, head_len = struct.unpack("<II", blob[8:16])
    if version > FORMAT_VERSION or version < minimum_supported_calling_convention_version:
        raise ValueError(
            f"export.deserialize: the data was written in export format version {version}; "
            f"this xform reads versions {minimum_supported_calling_convention_version} to "
            f"{FORMAT_VERSION}" + (" (upgrade xform)" if version > FORMAT_VERSION else ""))
    try:
        head = json.loads(blob[16:16 + head_len].decode())
        start = 16 + head_len
        size = head["module_size"]
        payload = blob[start:start + size]
        vjp_blob = blob[start + size:start + size + head["vjp_size"]]
        rest = blob[start + size + head["vjp_size"]:]
        if len(payload) != size or len(vjp_blob) != head["vjp_size"]:
            raise ValueError("truncated")
        if hashlib.sha256(payload).hexdigest() != head["module_sha256"]:
            raise ValueError("the module's checksum does not match")
        in_tree = treedef_from_json(head["in_tree"])
        out_tree = treedef_from_json(head["out_tree"])
        in_avals = [_aval_from(a) for a in head["in_avals"]]
        out_avals = [_aval_from(a) for a in head["out_avals"]]
    except UnregisteredNodeError as e:
        raise ValueError(f"export.deserialize: {e}") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise ValueError(f"export.deserialize: the data is corrupted or truncated ({e})") \
            from None
    vjp = _read(vjp_blob)[0] if vjp_blob else None
    exp = Exported(fun_name=head["fun_name"], in_tree=in_tree, in_avals=in_avals,
                   out_tree=out_tree, out_avals=out_avals, platforms=head["platforms"],
                   mlir_module_serialized=payload,
                   stablehlo_version=head["stablehlo_version"],
                   disabled_safety_checks=[DisabledSafetyCheck(c)
                                           for c in head["disabled_safety_checks"]])
    exp._vjp = vjp
    return exp, rest


def _aval_json(a: ShapedArray) -> list:
    # a symbolic dimension is written as its expression ("b", "2*b + 1")
    return [[d if type(d) is int else str(d) for d in a.shape], a.dtype.name,
            bool(a.weak_type)]


def _aval_from(x) -> ShapedArray:
    shape, name, weak = x
    shape = tuple(parse_dim(d, "export.deserialize") if isinstance(d, str) else int(d)
                  for d in shape)
    return ShapedArray(shape, np.dtype(name), bool(weak))


def _tree_json(td: PyTreeDef, what: str):
    try:
        return treedef_to_json(td)
    except TypeError as e:
        raise TypeError(f"Exported.serialize: the {what} are structured as {td}; a "
                        f"serialized program's arguments and results may be structured with "
                        f"tuples, lists, dicts (str or int keys), None and node types "
                        f"registered with export.register_pytree_node_serialization or "
                        f"register_namedtuple_serialization ({e})") from None


def register_pytree_node_serialization(nodetype, *, serialized_name: str,
                                       serialize_auxdata, deserialize_auxdata):
    """Let ``Exported.serialize`` write arguments or results structured with the pytree
    node type ``nodetype``, as ``serialized_name``; its auxiliary data is written as the
    bytes ``serialize_auxdata(aux)`` returns and read back by
    ``deserialize_auxdata(bytes)``.  The process that deserializes registers the same name.
    Returns ``nodetype`` (usable as a decorator with ``functools.partial``)."""
    return register_node_serialization(nodetype, serialized_name, serialize_auxdata,
                                       deserialize_auxdata,
                                       "export.register_pytree_node_serialization")


def register_namedtuple_serialization(nodetype, *, serialized_name: str):
    """``register_pytree_node_serialization`` for a namedtuple class (no auxiliary data)."""
    what = "export.register_namedtuple_serialization"
    if not (isinstance(nodetype, type) and issubclass(nodetype, tuple)
            and hasattr(nodetype, "_fields")):
        raise TypeError(f"{what}: {nodetype!r} is not a namedtuple class")
    return register_node_serialization(nodetype, serialized_name, lambda aux: b"",
                                       lambda data: None, what)


# --- symbolic shapes ------------------------------------------------------------------------

class SymbolicScope:
    """JAX's scope of dimension variables.  xform's names are global (``b`` is the same
    dimension wherever it is written), so a scope holds nothing; constraints between
    variables are not supported."""

    def __init__(self, constraints_str=()):
        if constraints_str:
            raise NotImplementedError(
                f"export.SymbolicScope({constraints_str!r}): constraints are not supported "
                f"(every dimension variable is only known to be >= 1)")


def is_symbolic_dim(d) -> bool:
    """Whether ``d`` (a shape entry) is a symbolic dimension."""
    return is_symbolic(d)


def symbolic_shape(shape_spec, *, constraints=(), scope=None, like=None) -> tuple:
    """A shape whose entries may be symbolic: ``symbolic_shape("b, 4")`` is ``(b, 4)``,
    where ``b`` (a ``DimExpr``) stands for any size >= 1.  An entry is an integer or a
    polynomial in names (``"2*b"``, ``"b + 1"``, ``"b*h"``); ``"_"`` takes the size of
    ``like`` at that position.  Names are global: ``b`` in two specifications is one
    dimension (a ``SymbolicScope`` adds nothing).  Use the shape in a
    ``ShapeDtypeStruct`` passed to ``export(jit(f))``; the exported program then runs for
    every value of the names, which ``Exported.call`` reads off its arguments."""
    what = f"export.symbolic_shape({shape_spec!r})"
    if constraints:
        raise NotImplementedError(f"{what}: constraints are not supported (every dimension "
                                  f"variable is only known to be >= 1)")
    if scope is not None and not isinstance(scope, SymbolicScope):
        raise TypeError(f"{what}: scope must be an export.SymbolicScope, got "
                        f"{type(scope).__name__}")
    if not isinstance(shape_spec, str):
        raise TypeError(f"{what}: the specification must be a string such as 'b, 4'")
    spec = shape_spec.strip()
    if spec.startswith("(") and spec.endswith(")"):
        spec = spec[1:-1]
    parts = [p for p in (q.strip() for q in spec.split(",")) if p] if spec else []
    if like is not None and len(like) != len(parts):
        raise ValueError(f"{what}: the specification has {len(parts)} dimensions, but "
                         f"like={tuple(like)} has {len(like)}")
    out = []
    for i, p in enumerate(parts):
        if p == "_":
            if like is None or like[i] is None:
                raise ValueError(f"{what}: '_' at position {i} needs a size in like=")
            out.append(int(like[i]))
            continue
        d = parse_dim(p, what)
        if isinstance(d, int) and d < 0:
            raise ValueError(f"{what}: dimension {p!r} is negative")
        if like is not None and like[i] is not None and isinstance(d, int) and d != like[i]:
            raise ValueError(f"{what}: dimension {i} is {d}, but like= has {like[i]}")
        out.append(d)
    return tuple(out)


def symbolic_args_specs(args, shapes_specs, constraints=(), scope=None):
    """``ShapeDtypeStruct``s for the pytree ``args`` (arrays or anything with ``shape``
    and ``dtype``), their shapes given by ``shapes_specs``: one specification string for
    every argument, or a pytree of them matching ``args`` (None: the argument's shape)."""
    leaves, tree = tree_flatten(args)
    if isinstance(shapes_specs, str) or shapes_specs is None:
        specs = [shapes_specs] * len(leaves)
    else:
        specs, spec_tree = tree_flatten(shapes_specs, is_leaf=lambda x: x is None)
        if spec_tree != tree:
            raise ValueError(f"export.symbolic_args_specs: shapes_specs are structured as "
                             f"{spec_tree}, but the arguments as {tree}")
    out = []
    for x, spec in zip(leaves, specs):
        shape = tuple(np.shape(x))
        if spec is not None:
            shape = symbolic_shape(spec, constraints=constraints, scope=scope, like=shape)
        out.append(ShapeDtypeStruct(shape, np.result_type(x)))
    return tree_unflatten(tree, out)


def _concrete_shape(shape, env) -> tuple:
    return tuple(evaluate(d, env) for d in shape)


def _concrete(avals, env) -> tuple:
    return tuple(a.update(shape=_concrete_shape(a.shape, env)) for a in avals)


def _solve_dimensions(name, paths, got_avals, want_avals) -> dict:
    """The dimension variables' values that the arguments' shapes give (name -> int):
    each variable must be some argument's dimension exactly, every value >= 1, and all
    dimensions consistent; otherwise an error that names the argument."""
    env, later = {}, []
    for path, got, want in zip(paths, got_avals, want_avals):
        if len(got.shape) != len(want.shape):
            raise TypeError(f"{name}: argument {path} is {got.str_short()}, but the function "
                            f"was exported for {want.str_short()}{where()}")
        for axis, (g, w) in enumerate(zip(got.shape, want.shape)):
            v = w.as_variable() if is_symbolic(w) else None
            if v is None:
                later.append((path, axis, g, w, got, want))
            elif v in env and env[v] != g:
                raise TypeError(
                    f"{name}: argument {path} has {g} for dimension {axis}, which is {v}; "
                    f"but {v} = {env[v]} in an earlier argument (shapes "
                    f"{got.str_short()} vs {want.str_short()}){where()}")
            elif g < 1:
                raise TypeError(f"{name}: argument {path} has size {g} for dimension {axis}, "
                                f"which is the symbolic dimension {v} (>= 1){where()}")
            else:
                env[v] = g
    for path, axis, g, w, got, want in later:
        try:
            value = evaluate(w, env)
        except KeyError as e:
            raise TypeError(f"{name}: the symbolic dimension {e.args[0]} is not the size of "
                            f"any argument's dimension, so it cannot be learned from the "
                            f"arguments{where()}") from None
        if value != g:
            raise TypeError(f"{name}: argument {path} is {got.str_short()}, but the function "
                            f"was exported for {want.str_short()} (dimension {axis} = {w} = "
                            f"{value} here){where()}")
    return env
