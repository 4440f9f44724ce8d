"""Ahead-of-time stages of ``jit`` (as ``jax.stages``): ``jit(f).lower(*args)`` is a
``Lowered`` program (StableHLO text, the jaxpr, argument info), ``.compile()`` a
``Compiled`` executable that can be called, inspected (``as_text``, ``cost_analysis``,
``memory_analysis``) and refuses arguments of another signature.

Arguments to ``lower`` may be ``ShapeDtypeStruct``s, so a program is compiled for shapes
without making arrays of them.  The stages hold the ``Jitted`` function and its cache
entry; compiling fills the same entry the next call of the jitted function uses.
"""
from __future__ import annotations

import math

import numpy as np

from primitives import dtypes
from primitives.core import ClosedJaxpr, ShapedArray
from primitives.sharding import SingleDeviceSharding
from primitives.shape_poly import is_symbolic_shape
from lowering.emitter import lower_module

from ..core.checks import check_ir
from ..core.pytree import keystr, tree_flatten, tree_flatten_with_path, tree_unflatten
from ..core.trace import leaf_aval, where


class ShapeDtypeStruct:
    """A shape and dtype (and weak type) standing for an array: an argument of
    ``jit(f).lower``, ``eval_shape`` and ``make_jaxpr`` that is never a value."""
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
    size = property(lambda self: math.prod(self.shape, start=1))

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"

    def __eq__(self, other):
        return isinstance(other, ShapeDtypeStruct) and (self.shape, self.dtype) == \
            (other.shape, other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))


class ArgInfo:
    """One argument of a lowered program: its abstract value and whether it is donated."""

    def __init__(self, aval, donated: bool):
        self._aval, self.donated = aval, donated
        self.shape, self.dtype = aval.shape, aval.dtype

    def __repr__(self):
        return f"ArgInfo(shape={self.shape}, dtype={self.dtype}, donated={self.donated})"


class Lowered:
    """``jit(f).lower(*args)``: the StableHLO program for one signature."""

    def __init__(self, jitted, entry, statics=()):
        self._jitted = jitted
        self._entry = entry
        self._statics = statics

    def as_text(self, dialect: str = "stablehlo") -> str:
        if dialect not in ("stablehlo", "mhlo"):
            raise ValueError(f"Lowered.as_text: dialect must be 'stablehlo', got {dialect!r}")
        closed = check_ir(self._entry.closed, "jit")
        nc = len(closed.consts)
        return lower_module(closed.jaxpr, donated=[nc + i for i in self._entry.donate],
                            arg_shardings=self._entry.arg_shardings,
                            out_shardings=self._entry.out_shardings)

    @property
    def jaxpr(self) -> ClosedJaxpr:
        return self._entry.closed

    @property
    def in_tree(self):
        """The structure of ``(args, kwargs)`` the program takes (static ones left out)."""
        return self._entry.in_tree

    @property
    def out_tree(self):
        return self._entry.out_tree

    @property
    def out_info(self):
        """The outputs' ``ShapeDtypeStruct``s, in the output structure."""
        return tree_unflatten(self._entry.out_tree,
                              [ShapeDtypeStruct(v.aval.shape, v.aval.dtype, v.aval.weak_type)
                               for v in self._entry.closed.jaxpr.outvars])

    @property
    def args_info(self):
        """``(args, kwargs)`` of ``ArgInfo`` (shape, dtype, donated) for the arguments the
        program takes (static ones are not among them), as JAX's ``Lowered.args_info``."""
        donate = set(self._entry.donate)
        infos = [ArgInfo(v.aval, i in donate)
                 for i, v in enumerate(self._entry.closed.jaxpr.invars)]
        return tree_unflatten(self._entry.in_tree, infos)

    def lower(self) -> "Lowered":
        """Itself: ``jit(f).trace(...)`` returns this object, which also plays JAX's
        ``Traced`` (``jaxpr``, ``args_info``, ``out_info``), so ``.trace(...).lower()``
        works as in JAX."""
        return self

    def compile(self) -> "Compiled":
        symbolic = [v.aval.str_short() for v in self._entry.closed.jaxpr.invars
                    if is_symbolic_shape(v.aval.shape)]
        if symbolic:
            raise ValueError(
                f"jit({self._jitted.__name__}).lower(...).compile(): a program lowered for "
                f"symbolic shapes ({', '.join(symbolic)}) cannot be compiled: XLA compiles "
                f"static shapes.  Export it (export.export(jit(f))(...)) and call the Exported "
                f"with concrete arrays, or lower with concrete shapes{where()}")
        self._jitted._compiled(self._entry)
        return Compiled(self)


class Compiled(Lowered):
    """A compiled ``Lowered`` program: call it with arguments of the signature it was
    lowered for (static arguments may be left out, or must equal the lowered ones)."""

    def __init__(self, lowered: Lowered):
        super().__init__(lowered._jitted, lowered._entry, lowered._statics)

    def __call__(self, *args, **kwargs):
        leaves, tree = tree_flatten((args, kwargs))
        if tree != self._entry.in_tree and self._statics:
            dyn_args, dyn_kwargs, statics = self._jitted._split(args, kwargs)
            if statics and statics != self._statics:
                raise TypeError(f"{self._name()}: static arguments "
                                f"{_static_text(statics)} differ from those it was compiled "
                                f"for, {_static_text(self._statics)}{where()}")
            leaves, tree = tree_flatten((tuple(dyn_args), dyn_kwargs))
        if tree != self._entry.in_tree:
            raise TypeError(f"{self._name()}: called with arguments structured as {tree}, "
                            f"but compiled for {self._entry.in_tree}{where()}")
        self._check_types(leaves)
        return self._jitted._run(self._entry, self._entry.exe, leaves)

    def _name(self):
        return f"compiled jit({self._jitted.__name__})"

    def _check_types(self, leaves):
        want = [v.aval for v in self._entry.closed.jaxpr.invars]
        paths = _leaf_paths(self._entry.in_tree)
        for path, x, w in zip(paths, leaves, want):
            got = leaf_aval(x, f"{self._name()}: argument {path}")
            if got.shape != w.shape or got.dtype != w.dtype:
                raise TypeError(
                    f"{self._name()}: argument {path} is {got.str_short()}, but the program "
                    f"was compiled for {w.str_short()}; lower and compile again for the new "
                    f"type, or call the jitted function itself{where()}")

    def as_text(self) -> str:
        """The optimized HLO XLA compiled."""
        return self._entry.exe.hlo_text()

    def cost_analysis(self) -> dict:
        """XLA's estimate for the program: ``flops``, ``bytes accessed``, ... ."""
        return dict(self._entry.exe.exe.cost_analysis())

    def memory_analysis(self):
        """XLA's memory statistics (argument, output, temporary and code sizes in bytes)."""
        return self._entry.exe.exe.get_compiled_memory_stats()

    @property
    def input_shardings(self):
        """``(args, kwargs)`` shardings of the compiled program's arguments."""
        return self._shardings(True)

    @property
    def output_shardings(self):
        return self._shardings(False)

    def _shardings(self, inputs):
        exe, entry = self._entry.exe, self._entry
        nc = len(entry.closed.consts)
        avals = exe.in_avals[nc:] if inputs else exe.out_avals
        if exe.mesh is None:
            got = [SingleDeviceSharding(exe.device)] * len(avals)
        else:
            got = exe.in_shardings[nc:] if inputs else exe.out_shardings
        if not inputs:
            return tree_unflatten(entry.out_tree, got)
        return tree_unflatten(entry.in_tree, got)


def _static_text(statics):
    return ", ".join(f"{'argument ' + str(n) if k == 'pos' else n}={v!r}" for k, n, v in statics)


def _leaf_paths(in_tree):
    """Each leaf's place in ``(args, kwargs)`` as the user wrote it: ``args[0]['w']``."""
    marks = tree_unflatten(in_tree, list(range(in_tree.num_leaves)))
    (args, kwargs), = [marks]
    return ([f"args{keystr(p)}" for p, _ in tree_flatten_with_path(args)[0]] +
            [f"kwargs{keystr(p)}" for p, _ in tree_flatten_with_path(kwargs)[0]])
