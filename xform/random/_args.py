"""Argument checks shared by every function of ``xform.random`` that takes a key, and
``_sampler``, the decorator that applies them: the one home of the samplers' preamble
(validate the key, resolve ``dtype``, canonicalise and check ``shape``).
"""
from __future__ import annotations

import functools
import inspect
from typing import Sequence

import numpy as np

from primitives import dtypes as _dt

from .. import lax
from .. import numpy as jnp
from ..core import Array
from ..core import Tracer

_U32 = np.dtype(np.uint32)


def _canon_shape(shape, name) -> tuple:
    if isinstance(shape, (int, np.integer)) or not isinstance(shape, Sequence) and \
            not isinstance(shape, np.ndarray):
        raise TypeError(f"{name}: shape must be a sequence of integers, got {shape!r}")
    try:
        return tuple(int(d) for d in shape)
    except TypeError:
        raise TypeError(f"{name}: shape must be a sequence of concrete integers, "
                        f"got {shape!r}") from None


def _canon_dtype(dtype, default):
    return _dt.canonicalize(np.dtype(default if dtype is None else dtype))


def _shape_of(x) -> tuple:
    return tuple(getattr(x, "shape", np.shape(x)))


def _check_shape(name, shape, *param_shapes):
    if param_shapes:
        try:
            out = tuple(np.broadcast_shapes(shape, *param_shapes))
        except ValueError:
            out = "no shape (they do not broadcast)"
        if out != tuple(shape):
            raise ValueError(
                f"{name} parameter shapes must be broadcast-compatible with shape argument, "
                f"and the result of broadcasting the shapes must equal the shape argument, "
                f"but got result {out} for shape argument {tuple(shape)} (parameter "
                f"shapes {', '.join(str(tuple(p)) for p in param_shapes)}).")


def _check_key(name, key, allow_batched=False):
    """The key as an xform array of dtype uint32 and shape (2,) (or (..., 2))."""
    k = key if isinstance(key, (Array, Tracer)) else jnp.asarray(key)
    if k.dtype != _U32 or k.ndim < 1 or k.shape[-1] != 2:
        raise TypeError(f"{name}: a key must be a uint32 array of shape (2,) (from "
                        f"random.PRNGKey/key/split/fold_in), got {k.dtype}{list(k.shape)}")
    if not allow_batched and k.ndim != 1:
        raise ValueError(f"{name} accepts a single key, but was given a key array of shape "
                         f"{tuple(k.shape[:-1])} != (). Use xform.vmap for batching.")
    return k


def _to_dtype(x, dtype):
    """``x`` (array, NumPy value or Python scalar) as an xform array of ``dtype``."""
    if isinstance(x, (Array, Tracer)):
        return lax.convert_element_type(x, dtype)
    a = np.asarray(x).astype(dtype)
    if a.dtype.kind == "V":   # bfloat16 & co.: jnp.asarray refuses them, go through float32
        return lax.convert_element_type(jnp.asarray(a.astype(np.float32)), dtype)
    return jnp.asarray(a)


# kind -> (test, exception, message) for a ``dtype`` argument of the wrong kind
_DTYPE_KINDS = {
    "float": (_dt.is_float, ValueError,
              "dtype argument to `{name}` must be a float dtype, got {dtype}"),
    "inexact": (_dt.is_inexact, ValueError,
                "dtype argument to `{name}` must be a float or complex dtype, got {dtype}"),
    "int": (_dt.is_int, ValueError,
            "dtype argument to `{name}` must be an int dtype, got {dtype}"),
    "unsigned": (_dt.is_unsigned, ValueError,
                 "dtype argument to `{name}` must be an unsigned int dtype, got {dtype}"),
    # randint's wording and exception are JAX's
    "integer": (_dt.is_int, TypeError, "{name} only accepts integer dtypes, got {dtype}"),
}


def _resolve_dtype(name, dtype, default, kind):
    dtype = _canon_dtype(dtype, default)
    if kind is not None:
        test, exc, message = _DTYPE_KINDS[kind]
        if not test(dtype):
            raise exc(message.format(name=name, dtype=dtype))
    return dtype


def _resolve_shape(name, shape, batch_shapes, optional):
    """``shape`` canonicalised. With the parameters' shapes (``batch_shapes`` not None),
    a given shape must be what they broadcast to with it, and (if ``optional``) None
    means their broadcast shape."""
    if shape is None and optional and batch_shapes is not None:
        return tuple(np.broadcast_shapes(*batch_shapes)) if batch_shapes else ()
    shape = _canon_shape(shape, name)
    if batch_shapes is not None:
        _check_shape(name, shape, *batch_shapes)
    return shape


class _Slot:
    """Where a call passes one parameter of a function: by position, by name, or not at
    all (its default). Cheaper than ``inspect.Signature.bind`` on every call."""

    def __init__(self, fname, signature, name):
        params = list(signature.parameters.values())
        p = signature.parameters[name]
        positional = p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        self.fname, self.name, self.default = fname, name, p.default
        self.index = params.index(p) if positional else None

    def get(self, args, kwargs):
        if self.index is not None and self.index < len(args):
            return args[self.index]
        value = kwargs.get(self.name, self.default)
        if value is inspect.Parameter.empty:
            raise TypeError(f"{self.fname}() missing required argument: '{self.name}'")
        return value

    def set(self, args, kwargs, value):
        if self.index is not None and self.index < len(args):
            args[self.index] = value
        else:
            kwargs[self.name] = value


def _sampler(*, dtype=None, kind=None, batch=None):
    """Decorate a function ``f(key, ...)`` of ``xform.random`` with its argument checks.

    Before the body runs, the wrapper (which keeps ``f``'s name and signature)

    * checks ``key`` (a single uint32[2] key; errors name ``f``);
    * with ``dtype`` (the default dtype) given: resolves the ``dtype`` argument
      (None -> the default, canonicalised for x64) and, with ``kind`` (a key of
      ``_DTYPE_KINDS``), checks that it is of that kind;
    * if ``f`` has a ``shape`` parameter: canonicalises it to a tuple of ints. With
      ``batch`` (the names of the parameters the sample broadcasts against, or a
      function of some parameters, by name, that returns their batch shapes), a given
      shape is checked against those shapes, and where ``f``'s default shape is None,
      ``shape=None`` means their broadcast shape.

    The body gets the checked key, the resolved dtype and the tuple shape.
    """
    def decorate(body):
        name = body.__name__
        signature = inspect.signature(body)
        slot = functools.partial(_Slot, name, signature)
        key_slot = slot("key")
        dtype_slot = slot("dtype") if dtype is not None else None
        shape_slot = slot("shape") if "shape" in signature.parameters else None
        optional_shape = shape_slot is not None and shape_slot.default is None
        batch_fn = batch if callable(batch) else None
        if batch_fn is not None:
            batch_slots = [slot(a) for a in inspect.signature(batch_fn).parameters]
        elif batch is not None:
            batch_slots = [slot(a) for a in batch]

        @functools.wraps(body)
        def sampler(*args, **kwargs):
            args = list(args)
            key_slot.set(args, kwargs, _check_key(name, key_slot.get(args, kwargs)))
            if dtype_slot is not None:
                dtype_slot.set(args, kwargs, _resolve_dtype(
                    name, dtype_slot.get(args, kwargs), dtype, kind))
            if shape_slot is not None:
                if batch is None:
                    batch_shapes = None
                else:
                    values = [s.get(args, kwargs) for s in batch_slots]
                    batch_shapes = (batch_fn(*values) if batch_fn is not None
                                    else [_shape_of(v) for v in values])
                shape_slot.set(args, kwargs, _resolve_shape(
                    name, shape_slot.get(args, kwargs), batch_shapes, optional_shape))
            return body(*args, **kwargs)
        return sampler
    return decorate
