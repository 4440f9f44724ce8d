"""The StableHLO emitter core: IR -> StableHLO module text, minus the rules.

We write MLIR text in the generic operation form (``"stablehlo.add"(%a, %b) :
(...) -> ...``) instead of building it through the MLIR Python bindings: text is
an order of magnitude cheaper to produce, it is exactly what ``.as_text()``
shows, and PJRT parses it directly (see docs/design.md, "Lowering").

This module holds what every rule module shares:

* types and constants: ``elt``, ``ttype``, ``dense_attr``, ``i64s``, ``dims``;
* ``Ctx`` (one function body's lines and SSA names), ``lower_jaxpr_body`` and
  ``lower_module``, and ``lowering_platform()`` (the platform being lowered for);
* the ``RULES`` table, which the modules of ``lowering.rules`` fill when imported
  (``lowering.compile`` imports that package, so compiling always has every rule);
* the small helpers more than one rule module uses (``in_avals_of``, ``simple``,
  ``full``, ``cmp``, ``select``, ...).

A rule has the signature ``rule(ctx, eqn, args) -> list[str]`` where ``args``
are the SSA names of the operands (already materialised, literals included)
and the result is the SSA names of the outputs.  ``ctx.op`` emits one op.
"""
from __future__ import annotations

import re

import numpy as np

from primitives import dtypes
from primitives.core import Jaxpr, Literal, ShapedArray, jaxpr_effects
from primitives.shape_poly import DimExpr, InconclusiveDimensionOperation, is_symbolic_shape

from . import _jaxlib

# --- types and constants --------------------------------------------------------

_ELT = {
    "bool": "i1", "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64",
    "uint8": "ui8", "uint16": "ui16", "uint32": "ui32", "uint64": "ui64",
    "bfloat16": "bf16", "float16": "f16", "float32": "f32", "float64": "f64",
    "complex64": "complex<f32>", "complex128": "complex<f64>",
    "float8_e4m3fn": "f8E4M3FN", "float8_e5m2": "f8E5M2", "float8_e4m3b11fnuz": "f8E4M3B11FNUZ",
    "float8_e4m3fnuz": "f8E4M3FNUZ", "float8_e5m2fnuz": "f8E5M2FNUZ", "float8_e3m4": "f8E3M4",
    "float8_e4m3": "f8E4M3", "int4": "i4", "uint4": "ui4",
}


def elt(dtype) -> str:
    return _ELT[np.dtype(dtype).name]


class _Token:
    """The abstract value of an XLA token (orders effects; see ``Ctx.token``)."""
    shape, dtype, ndim = (), None, 0

    def __repr__(self):
        return "TOKEN"


TOKEN = _Token()


def ttype(aval: ShapedArray) -> str:
    if aval is TOKEN:
        return "!stablehlo.token"
    dims = "".join("?x" if type(d) is DimExpr else f"{d}x" for d in aval.shape)
    return f"tensor<{dims}{elt(aval.dtype)}>"


def _scalar_text(v, dtype) -> str:
    dt = np.dtype(dtype)
    if dt == dtypes.bool_:
        return "true" if bool(v) else "false"
    if dtypes.is_int(dt):
        return str(int(v))
    if dtypes.is_complex(dt):
        part = dtypes.real_dtype(dt)
        c = complex(v)
        return f"({_scalar_text(c.real, part)}, {_scalar_text(c.imag, part)})"
    # floats: exact bit pattern in hex, so no value is rounded twice
    bits = np.asarray(v, dtype=dt).view(f"u{dt.itemsize}")
    return f"0x{int(bits):0{2 * dt.itemsize}X}"


def dense_bytes_attr(value, aval: ShapedArray) -> str:
    """``dense<"0x...">``: an array of any size as its raw little-endian bytes (what MLIR
    reads fastest); booleans, which MLIR packs differently, as ``dense_attr`` writes them."""
    arr = np.ascontiguousarray(np.asarray(value, dtype=aval.dtype))
    if arr.dtype == np.bool_ or arr.size <= 1 or arr.dtype in dtypes.INT4:
        return dense_attr(arr, aval)   # (MLIR packs i1 and i4 in its raw form)
    assert np.little_endian   # the bytes are written in the host's order
    return f'dense<"0x{arr.tobytes().hex().upper()}"> : {ttype(aval)}'


def dense_attr(value, aval: ShapedArray) -> str:
    """``dense<...> : tensor<...>`` for a scalar (splat) or a small array."""
    arr = np.asarray(value, dtype=aval.dtype)
    if arr.ndim == 0 or (arr.size and np.all(arr == arr.flat[0])):
        body = _scalar_text(arr.flat[0] if arr.size else 0, aval.dtype)
    else:
        def nest(a):
            if a.ndim == 0:
                return _scalar_text(a, aval.dtype)
            return "[" + ", ".join(nest(x) for x in a) + "]"
        body = nest(arr)
    return f"dense<{body}> : {ttype(aval)}"


def i64s(xs) -> str:
    """A ``array<i64: ...>`` attribute."""
    xs = list(xs)
    return f"array<i64{': ' if xs else ''}{', '.join(str(int(x)) for x in xs)}>"


def dims(xs) -> str:
    return "[" + ", ".join(str(int(x)) for x in xs) + "]"


# --- the emitter ------------------------------------------------------------------

class Ctx:
    """Collects lines of one function body; hands out fresh SSA names."""

    def __init__(self, counter=None, token=None):
        self.lines: list[str] = []
        self.counter = counter if counter is not None else [0]
        self.indent = "    "
        # the SSA name of the token that orders ``ordered`` effects in this body (None
        # when it has none): each ordered op takes it and hands on a new one, and a
        # loop or branch holding such ops carries it through (lowering/rules/control.py)
        self.token = token
        # the location written after each op: ``loc("layer1/mul")`` for an equation
        # traced inside ``named_scope("layer1")`` (XLA keeps it as the op_name metadata)
        self.loc = ""

    def fresh(self) -> str:
        self.counter[0] += 1
        return f"%{self.counter[0]}"

    def op(self, name, args, in_avals, out_avals, attrs="", regions=None) -> list[str]:
        """Emit ``"name"(args) ({regions}) {attrs} : (in types) -> out types``."""
        outs = [self.fresh() for _ in out_avals]
        lhs = ""
        if len(outs) == 1:
            lhs = f"{outs[0]} = "
        elif outs:
            base = self.fresh()
            lhs = f"{base}:{len(outs)} = "
            outs = [f"{base}#{i}" for i in range(len(outs))]
        region_txt = ""
        if regions:
            region_txt = " (" + ", ".join(regions) + ")"
        attr_txt = f" {{{attrs}}}" if attrs else ""
        ins = ", ".join(ttype(a) for a in in_avals)
        res = ", ".join(ttype(a) for a in out_avals)
        res = res if len(out_avals) == 1 else f"({res})"
        self.lines.append(f'{self.indent}{lhs}"{name}"({", ".join(args)}){region_txt}'
                          f'{attr_txt} : ({ins}) -> {res}{self.loc}')
        return outs

    def op1(self, name, args, in_avals, out_aval, attrs="", regions=None) -> str:
        return self.op(name, args, in_avals, [out_aval], attrs, regions)[0]

    def constant(self, value, aval: ShapedArray) -> str:
        return self.op1("stablehlo.constant", [], [], aval, f"value = {dense_attr(value, aval)}")

    def broadcast(self, x: str, x_aval: ShapedArray, shape, bdims=()) -> str:
        out = ShapedArray(shape, x_aval.dtype)
        if is_symbolic_shape(shape):
            return self.op1("stablehlo.dynamic_broadcast_in_dim",
                            [x, self.shape_tensor(shape)],
                            [x_aval, ShapedArray((len(shape),), np.int64)], out,
                            f"broadcast_dimensions = {i64s(bdims)}")
        return self.op1("stablehlo.broadcast_in_dim", [x], [x_aval], out,
                        f"broadcast_dimensions = {i64s(bdims)}")

    def iota(self, aval: ShapedArray, dimension: int) -> str:
        """``stablehlo.iota`` (``dynamic_iota`` for a symbolic shape) of an int/float aval."""
        attr = f"iota_dimension = {dimension} : i64"
        if is_symbolic_shape(aval.shape):
            return self.op1("stablehlo.dynamic_iota", [self.shape_tensor(aval.shape)],
                            [ShapedArray((aval.ndim,), np.int64)], aval, attr)
        return self.op1("stablehlo.iota", [], [], aval, attr)

    # --- symbolic dimensions (primitives/shape_poly.py) ------------------------------------
    # A dimension ``b`` of an argument is written ``?``; ``main`` reads each variable off
    # the first argument dimension that is exactly it (``get_dimension_size``), and ops
    # whose result shape is symbolic take it as an operand (``dynamic_broadcast_in_dim``,
    # ``dynamic_reshape``, ``dynamic_iota``, ``real_dynamic_slice``).  Such a module is
    # only compiled after StableHLO's shape refinement has made every shape static again
    # (``Exported.call``; ``_jaxlib.refine_shapes``).

    def dim_value(self, d) -> str:
        """The shape entry ``d`` (an int or a DimExpr) as a ``tensor<i64>`` value."""
        i64 = ShapedArray((), np.int64)
        if type(d) is not DimExpr:
            return self.constant(d, i64)
        total = None
        for mono, coeff in d.terms():
            term = None if coeff == 1 and mono else self.constant(coeff, i64)
            for v, p in mono:
                for _ in range(p):
                    x = dimension_variable(v)
                    term = x if term is None else binop(self, "stablehlo.multiply", term, x, i64)
            total = term if total is None else binop(self, "stablehlo.add", total, term, i64)
        return total

    def shape_tensor(self, shape) -> str:
        """``shape`` as a ``tensor<rank x i64>`` operand."""
        one, i64 = ShapedArray((1,), np.int64), ShapedArray((), np.int64)
        parts = [self.op1("stablehlo.reshape", [self.dim_value(d)], [i64], one) for d in shape]
        if len(parts) == 1:
            return parts[0]
        return self.op1("stablehlo.concatenate", parts, [one] * len(parts),
                        ShapedArray((len(parts),), np.int64), "dimension = 0 : i64")

    def region(self, arg_avals, body) -> str:
        """A region ``{ ^bb0(args): ... stablehlo.return }``; ``body(ctx, names) -> names``."""
        sub = Ctx(self.counter, self.token)
        sub.indent, sub.loc = self.indent + "    ", self.loc
        names = [sub.fresh() for _ in arg_avals]
        outs, out_avals = body(sub, names)
        sub.lines.append(f'{sub.indent}"stablehlo.return"({", ".join(outs)}) : '
                         f'({", ".join(ttype(a) for a in out_avals)}) -> ()')
        head = ", ".join(f"{n}: {ttype(a)}" for n, a in zip(names, arg_avals))
        return "{\n" + f"{self.indent}  ^bb0({head}):\n" + "\n".join(sub.lines) + \
            f"\n{self.indent}}}"

    def scalar_region(self, dtype, nargs, opname):
        """A region combining ``nargs`` scalars with a binary op (reductions, scatter)."""
        sa = ShapedArray((), dtype)

        def body(sub, names):
            return [sub.op1(opname, names, [sa] * nargs, sa)], [sa]
        return self.region([sa] * nargs, body)


RULES: dict = {}   # Primitive -> rule; filled by the modules of lowering.rules


def lower_jaxpr_body(ctx: Ctx, jaxpr: Jaxpr, consts: list[str], args: list[str]) -> list[str]:
    """Emit the equations of ``jaxpr`` with constvars/invars bound to SSA names."""
    env: dict = {}
    for v, n in zip(jaxpr.constvars, consts):
        env[v] = n
    for v, n in zip(jaxpr.invars, args):
        env[v] = n
    literal_cache: dict = {}

    def read(a):
        if isinstance(a, Literal):
            key = a.key()
            if key not in literal_cache:
                literal_cache[key] = ctx.constant(a.val, a.aval)
            return literal_cache[key]
        return env[a]

    outer_loc = ctx.loc
    for eqn in jaxpr.eqns:
        rule = RULES.get(eqn.prim)
        if rule is None:
            raise NotImplementedError(f"no StableHLO lowering for meta-operator {eqn.prim.name}")
        scope = getattr(eqn.source, "scope", None)   # see xform.core.trace.ScopedSource
        ctx.loc = outer_loc if scope is None else _name_loc(f"{scope}/{eqn.prim.name}")
        try:
            outs = rule(ctx, eqn, [read(a) for a in eqn.invars])
        except InconclusiveDimensionOperation as e:
            raise NotImplementedError(
                f"{eqn.prim.name} with symbolic dimensions cannot be lowered yet ({e}); "
                f"export it for concrete shapes") from None
        for v, n in zip(eqn.outvars, outs):
            env[v] = n
    ctx.loc = outer_loc
    return [read(a) for a in jaxpr.outvars]


def _name_loc(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f' loc("{escaped}")'


# The platform the running ``lower_module`` call writes for (None: the default device's).
# ``lower_module`` sets it and restores the previous value when it returns.
_platform: str | None = None


def lowering_platform() -> str:
    """'cpu', 'cuda', 'rocm' or 'tpu': rules that call vendor libraries (linalg) ask."""
    if _platform is None:
        return _jaxlib.platform_name(_jaxlib.default_device())
    return _platform


def io_aliases(jaxpr: Jaxpr, donated) -> dict:
    """Which donated parameters (indices into ``constvars + invars``) can hand their
    buffer to an output: ``{parameter: output}``.  As JAX pairs them: each output, in
    order, takes the first donated parameter not yet taken of the same shape and dtype
    (XLA aliases buffers of the same type only).  A donated parameter left out has no
    output to give its buffer to (the caller warns, as JAX does)."""
    params = jaxpr.constvars + jaxpr.invars
    free: dict = {}
    for i in sorted(set(donated)):
        a = params[i].aval
        free.setdefault((a.shape, a.dtype), []).append(i)
    aliases = {}
    for k, o in enumerate(jaxpr.outvars):
        waiting = free.get((o.aval.shape, o.aval.dtype))
        if waiting:
            aliases[waiting.pop(0)] = k
    return aliases


def lower_module(jaxpr: Jaxpr, name: str = "main", donated=(), platform=None,
                 arg_shardings=None, out_shardings=None, const_values=None) -> str:
    """The module text of ``lower_program`` (which see)."""
    return lower_program(jaxpr, name, donated, platform, arg_shardings, out_shardings,
                         const_values)[0]


def lower_program(jaxpr: Jaxpr, name: str = "main", donated=(), platform=None,
                  arg_shardings=None, out_shardings=None, const_values=None):
    """A whole StableHLO module whose ``main`` takes ``constvars + invars``; ``platform``
    (default: the default device's) picks vendor custom calls where a rule has them.
    With ``const_values`` (numpy arrays, one per constvar) the constants are written
    into the module instead (a self-contained program: ``xform.export``), and ``main``
    takes ``invars`` only.

    ``donated``: indices of parameters whose buffers the caller gives up; those that
    ``io_aliases`` pairs with an output get ``tf.aliasing_output``, so XLA writes that
    output into the parameter's buffer and PJRT invalidates the input buffer when the
    program runs.  Parameters it pairs with no output are not marked (their buffers
    stay valid, as in JAX).

    ``arg_shardings`` / ``out_shardings``: per parameter / output, a ``NamedSharding``
    (written as an ``sdy.sharding`` attribute: XLA's SPMD partitioner, Shardy, splits
    the program to match) or None (XLA chooses).  A module whose shardings or equations
    (``sharding_constraint``, ``shard_map``) name a mesh declares it (``sdy.mesh``) and
    is compiled for ``mesh.size`` partitions.  Returns ``(text, mesh, callbacks)``:
    ``mesh`` is the mesh whose ``device_list`` the program is compiled over, None for one
    device; ``callbacks`` the host functions its host-callback custom calls name by
    index (``add_host_callback``), which the compiler must be given."""
    global _platform, _module
    saved, _platform = _platform, platform
    saved_module, _module = _module, _ModuleState()
    try:
        text = _lower_module(jaxpr, name, donated, arg_shardings, out_shardings,
                             const_values)
        if _module.refine:     # a linked exported module has symbolic shapes
            text = _jaxlib.refine_shapes(text)
        return text, _module.first, _module.callbacks
    finally:
        _platform, _module = saved, saved_module


def _lower_module(jaxpr: Jaxpr, name, donated, arg_shardings, out_shardings,
                  const_values=None) -> str:
    ctx = Ctx()
    if "ordered" in jaxpr_effects(jaxpr):
        ctx.token = ctx.op1("stablehlo.after_all", [], [], TOKEN)
    if const_values is None:
        params = jaxpr.constvars + jaxpr.invars
        names = [f"%arg{i}" for i in range(len(params))]
        consts, args = names[:len(jaxpr.constvars)], names[len(jaxpr.constvars):]
    else:
        params = jaxpr.invars
        args = names = [f"%arg{i}" for i in range(len(params))]
        consts = [ctx.op1("stablehlo.constant", [], [], v.aval,
                          f"value = {dense_bytes_attr(c, v.aval)}")
                  for v, c in zip(jaxpr.constvars, const_values)]
    _read_dimension_variables(ctx, params, names)
    outs = lower_jaxpr_body(ctx, jaxpr, consts, args)
    aliases = io_aliases(jaxpr, donated) if donated else {}
    arg_decls = []
    for i, (n, v) in enumerate(zip(names, params)):
        attrs = []
        if i in aliases:
            attrs.append(f"tf.aliasing_output = {aliases[i]} : i32")
        s = arg_shardings[i] if arg_shardings else None
        if s is not None:
            attrs.append(f"sdy.sharding = {sdy_sharding(s.mesh, s.spec, v.aval.ndim)}")
        attr = f" {{{', '.join(attrs)}}}" if attrs else ""
        arg_decls.append(f"{n}: {ttype(v.aval)}{attr}")
    out_decls = []
    for k, v in enumerate(jaxpr.outvars):
        s = out_shardings[k] if out_shardings else None
        attr = "" if s is None else \
            f" {{sdy.sharding = {sdy_sharding(s.mesh, s.spec, v.aval.ndim)}}}"
        out_decls.append(f"{ttype(v.aval)}{attr}")
    body = "\n".join(ctx.lines)
    ret_types = ", ".join(ttype(v.aval) for v in jaxpr.outvars)
    ret = f'    "func.return"({", ".join(outs)}) : ({ret_types}) -> ()'
    state = _module
    partitions = state.first.size if state.first is not None else 1
    if state.maximal:
        body = _place_maximal(body, state)
    return (f"module @{name} attributes {{mhlo.num_partitions = {partitions} : i32, "
            f"mhlo.num_replicas = 1 : i32}} {{\n"
            + "".join(state.declarations()) +
            f"  func.func public @main({', '.join(arg_decls)}) -> ({', '.join(out_decls)}) {{\n"
            f"{body}\n{ret}\n  }}\n}}\n")


# --- meshes, shardings and collectives ---------------------------------------------------
# A program over several devices names a mesh (primitives.sharding.Mesh).  Every mesh a
# module uses is declared once at its top (``sdy.mesh @mesh = <["x"=2, "y"=4]>``); the
# first one fixes the partitions: logical device i of the compiled program is
# ``mesh.device_list[i]`` (``lower_program`` returns it), and any other mesh over the same devices
# lists its device order relative to that one.

class _ModuleState:
    def __init__(self):
        self.meshes: dict = {}     # Mesh -> symbol
        self.first = None          # the Mesh that fixes the device assignment
        self.channels = 0
        self.callbacks: list = []  # host functions, by custom-call index
        self.maximal = False       # an op placed on one device (``maximal_sharding``)
        self.linked: dict = {}     # foreign module fingerprint -> the symbol of its main
        self.functions: list = []  # the linked modules' functions, as text
        self.dims: dict = {}       # symbolic dimension variable -> its SSA value in main
        self.refine = False        # a linked module has symbolic shapes: refine them

    def symbol(self, mesh) -> str:
        sym = self.meshes.get(mesh)
        if sym is None:
            if self.first is None:
                self.first = mesh
            elif set(mesh.device_ids.flat) != set(self.first.device_ids.flat):
                raise ValueError(
                    f"one program uses two meshes over different devices: {self.first} "
                    f"on devices {sorted(self.first.device_ids.flat)} and {mesh} on "
                    f"{sorted(mesh.device_ids.flat)}; use one set of devices")
            sym = "@mesh" if not self.meshes else f"@mesh_{len(self.meshes)}"
            self.meshes[mesh] = sym
        return sym

    def declarations(self) -> list[str]:
        out = list(self.functions)
        if self.first is None:
            return out
        if self.maximal:
            out.append("  sdy.mesh @maximal_mesh = <[], device_ids=[0]>\n")
        first_ids = [int(i) for i in self.first.device_ids.flat]
        for mesh, sym in self.meshes.items():
            axes = ", ".join(f'"{n}"={s}' for n, s in zip(mesh.axis_names, mesh.axis_sizes))
            ids = [first_ids.index(int(i)) for i in mesh.device_ids.flat]
            dev = "" if ids == list(range(len(ids))) else \
                f", device_ids=[{', '.join(map(str, ids))}]"
            out.append(f"  sdy.mesh {sym} = <[{axes}]{dev}>\n")
        return out


_module: _ModuleState | None = None


def _read_dimension_variables(ctx, params, names) -> None:
    """Emit ``get_dimension_size`` for each symbolic dimension variable, from the first
    parameter dimension that is exactly that variable."""
    for v, n in zip(params, names):
        for axis, d in enumerate(v.aval.shape):
            if type(d) is DimExpr and d.as_variable() and d.as_variable() not in _module.dims:
                i32, i64 = ShapedArray((), np.int32), ShapedArray((), np.int64)
                size = ctx.op1("stablehlo.get_dimension_size", [n], [v.aval], i32,
                               f"dimension = {axis} : i64")
                _module.dims[d.as_variable()] = ctx.op1("stablehlo.convert", [size], [i32], i64)


def dimension_variable(name: str) -> str:
    """The SSA value (``tensor<i64>``) of the dimension variable ``name``."""
    ssa = _module.dims.get(name)
    if ssa is None:
        raise InconclusiveDimensionOperation(
            f"the symbolic dimension {name} is not the size of any argument's dimension, so "
            f"the program cannot learn its value (give some argument a dimension that is "
            f"exactly {name})")
    return ssa


def link_module(module) -> str:
    """Link a foreign StableHLO module (``primitives.exported.ForeignModule``) into the
    module being lowered, once (once per call signature when its shapes are symbolic:
    shape refinement specializes each copy): its functions are renamed apart and made
    private; returns the symbol of its ``main``."""
    key = (module.fingerprint, module.in_avals) if module.symbolic else module.fingerprint
    sym = _module.linked.get(key)
    if sym is None:
        prefix = f"xform_exported_{len(_module.linked)}_"
        funcs, sym = _jaxlib.linkable_functions(module.text, prefix)
        _module.functions.extend(f"  {f}\n" for f in funcs)
        _module.linked[key] = sym
        _module.refine |= module.symbolic
    return sym


def mesh_symbol(mesh) -> str:
    """The symbol (``@mesh``) under which the module being lowered declares ``mesh``."""
    return _module.symbol(mesh)


def sdy_dims(spec, ndim: int) -> str:
    """``[{"x"}, {}]``: a partition spec as Shardy's per-dimension axis lists."""
    entries = tuple(spec) + (None,) * (ndim - len(spec))
    dims_ = []
    for e in entries[:ndim]:
        names = () if e is None else (e,) if isinstance(e, str) else tuple(e)
        dims_.append("{" + ", ".join(f'"{n}"' for n in names) + "}")
    return "[" + ", ".join(dims_) + "]"


def sdy_sharding(mesh, spec, ndim: int, prefix: bool = True) -> str:
    """``#sdy.sharding<@mesh, [{"x"}, {}]>`` (``prefix=False``: without ``#sdy.sharding``,
    as inside ``#sdy.sharding_per_value<[...]>``)."""
    body = f"<{mesh_symbol(mesh)}, {sdy_dims(spec, ndim)}>"
    return "#sdy.sharding" + body if prefix else body


_MAXIMAL = "@@maximal-sharding-{n}@@"


def maximal_sharding(n_values: int) -> str:
    """An attribute placing a side-effecting op (a host callback) on logical device 0
    when the module turns out to be a program over a mesh (XLA's partitioner requires a
    sharding on such ops), and nothing otherwise; ``n_values``: the op's results (one
    entry even when it has none).  Written as a placeholder until the module is done."""
    if manual_mesh() is not None:   # inside shard_map every op is per-device already
        return ""
    _module.maximal = True
    return _MAXIMAL.format(n=max(1, n_values))


def _place_maximal(text: str, state) -> str:
    if state.first is None:
        return re.sub(r"@@maximal-sharding-\d+@@", "", text)
    return re.sub(r"@@maximal-sharding-(\d+)@@", lambda m: (
        ", sdy.sharding = #sdy.sharding_per_value<["
        + ", ".join(["<@maximal_mesh, []>"] * int(m.group(1))) + "]>"), text)


def add_host_callback(fn) -> int:
    """Register ``fn`` with the module being lowered; its index for the custom call."""
    _module.callbacks.append(fn)
    return len(_module.callbacks) - 1


def channel_handle() -> str:
    """A fresh ``channel_handle`` attribute for a collective (device-to-device type)."""
    _module.channels += 1
    return f"channel_handle = #stablehlo.channel_handle<handle = {_module.channels}, type = 1>"


# The meshes and axes of the ``sdy.manual_computation`` regions being lowered (innermost
# last): inside one, a collective over named axes runs among the devices that share the
# coordinates of every other mesh axis (``replica_groups``).
_manual: list = []


def manual_mesh():
    """``(mesh, manual axis names)`` of the innermost manual region, or None."""
    return _manual[-1] if _manual else None


class in_manual:
    """``with in_manual(mesh, axes):`` while lowering a ``shard_map`` body."""

    def __init__(self, mesh, axes):
        self.entry = (mesh, tuple(axes))

    def __enter__(self):
        _manual.append(self.entry)
        return self

    def __exit__(self, *exc):
        _manual.pop()
        return False


def replica_groups(mesh, axis_names) -> list[list[int]]:
    """Logical device ids grouped so that each group holds the devices that differ only
    in ``axis_names`` (ordered row-major over those axes, the first name major)."""
    ids = np.arange(mesh.size).reshape(mesh.axis_sizes)
    where = [mesh.axis_names.index(n) for n in axis_names]
    rest = [i for i in range(len(mesh.axis_names)) if i not in where]
    moved = ids.transpose(rest + where)
    group = int(np.prod([mesh.axis_sizes[i] for i in where], dtype=np.int64))
    return moved.reshape(-1, group).tolist()


def groups_attr(groups) -> str:
    """``replica_groups = dense<[[0, 1], [2, 3]]> : tensor<2x2xi64>``."""
    rows = ", ".join("[" + ", ".join(str(i) for i in g) + "]" for g in groups)
    return f"replica_groups = dense<[{rows}]> : tensor<{len(groups)}x{len(groups[0])}xi64>"


# --- helpers shared by the rule modules ---------------------------------------------------

def in_avals_of(eqn) -> list[ShapedArray]:
    return [a.aval for a in eqn.invars]


def out_avals_of(eqn) -> list[ShapedArray]:
    return [v.aval for v in eqn.outvars]


def broadcast_scalars(ctx, eqn, args, shape):
    """Elementwise meta-ops accept rank-0 operands; StableHLO wants equal shapes."""
    out, avals = [], []
    for a, n in zip(in_avals_of(eqn), args):
        if a.shape != shape:
            n = ctx.broadcast(n, a, shape)
            a = ShapedArray(shape, a.dtype)
        out.append(n)
        avals.append(a)
    return out, avals


def simple(hlo_name, attrs=None, elementwise=True):
    """A rule emitting one ``hlo_name`` op (``attrs(eqn)`` its attributes); rank-0
    operands of an ``elementwise`` op are broadcast to the result's shape."""
    def rule(ctx, eqn, args):
        out = out_avals_of(eqn)
        if elementwise:
            args, in_avals = broadcast_scalars(ctx, eqn, args, out[0].shape)
        else:
            in_avals = in_avals_of(eqn)
        a = attrs(eqn) if attrs else ""
        return ctx.op(hlo_name, args, in_avals, out, a)
    return rule


def compare_type(dtype) -> str:
    if dtypes.is_inexact(dtype):
        return "FLOAT"
    if dtypes.is_unsigned(dtype) or dtypes.is_bool(dtype):
        return "UNSIGNED"
    return "SIGNED"


def bool_like(aval: ShapedArray) -> ShapedArray:
    return ShapedArray(aval.shape, dtypes.bool_)


def full(ctx, value, aval: ShapedArray) -> str:
    """A constant of ``aval``'s shape and dtype filled with ``value``."""
    sa = ShapedArray((), aval.dtype)
    c = ctx.constant(value, sa)
    return c if aval.shape == () else ctx.broadcast(c, sa, aval.shape)


def cmp(ctx, x, y, aval: ShapedArray, direction: str, ctype: str | None = None) -> str:
    ctype = ctype or compare_type(aval.dtype)
    return ctx.op1("stablehlo.compare", [x, y], [aval, aval], bool_like(aval),
                   f"comparison_direction = #stablehlo<comparison_direction {direction}>, "
                   f"compare_type = #stablehlo<comparison_type {ctype}>")


def binop(ctx, name, x, y, aval: ShapedArray) -> str:
    return ctx.op1(name, [x, y], [aval, aval], aval)


def select(ctx, pred, on_true, on_false, aval: ShapedArray) -> str:
    return ctx.op1("stablehlo.select", [pred, on_true, on_false],
                   [bool_like(aval), aval, aval], aval)


def not_(ctx, x, aval: ShapedArray) -> str:
    return ctx.op1("stablehlo.not", [x], [aval], aval)


def isnan(ctx, x, aval: ShapedArray) -> str:
    return cmp(ctx, x, x, aval, "NE", "FLOAT")


def complex_parts(ctx, x, aval: ShapedArray):
    ra = aval.update(dtype=dtypes.real_dtype(aval.dtype))
    return (ctx.op1("stablehlo.real", [x], [aval], ra),
            ctx.op1("stablehlo.imag", [x], [aval], ra), ra)


def complex_minmax(ctx, x, y, aval, opname):
    """Complex max/min, lexicographic on (real, imag) as NumPy orders them (XLA's are not)."""
    xr, xi, ra = complex_parts(ctx, x, aval)
    yr, yi, _ = complex_parts(ctx, y, aval)
    d = "GT" if opname == "stablehlo.maximum" else "LT"
    pick_x = binop(ctx, "stablehlo.or", cmp(ctx, xr, yr, ra, d), binop(
        ctx, "stablehlo.and", cmp(ctx, xr, yr, ra, "EQ"), cmp(ctx, xi, yi, ra, d),
        bool_like(ra)), bool_like(ra))
    return select(ctx, pick_x, x, y, aval)
