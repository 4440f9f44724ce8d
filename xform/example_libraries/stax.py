"""``xform.example_libraries.stax`` (as ``jax.example_libraries.stax``): a small library of
neural-network layers.

A layer is a pair ``(init_fun, apply_fun)``:

* ``init_fun(rng, input_shape) -> (output_shape, params)`` draws the parameters from the
  PRNG key ``rng`` and says what shape the layer produces;
* ``apply_fun(params, inputs, **kwargs) -> outputs`` runs it; a layer that needs
  randomness (``Dropout``) takes it as ``rng=key``.

Layer constructors are CamelCase (``Dense``, ``Conv``, ``Relu``); the combinators
``serial``, ``parallel`` and ``shape_dependent`` build layers out of layers. For the same
key the parameters equal JAX's stax (the initializers are ``xform.nn.initializers``, whose
samplers reproduce ``jax.random``'s bits).

This is an example library, as in JAX; full network libraries are separate projects.
"""
from __future__ import annotations

import math
import numbers

from .. import lax
from .. import numpy as jnp
from .. import random
from ..nn import (elu, gelu, leaky_relu, log_softmax, relu, selu, sigmoid, softmax,  # noqa: F401
                  softplus, standardize)
from ..nn.initializers import glorot_normal, normal, ones, zeros

__all__ = ["Dense", "GeneralConv", "Conv", "GeneralConvTranspose", "Conv1DTranspose",
           "ConvTranspose", "BatchNorm", "elementwise", "Tanh", "Relu", "Exp", "LogSoftmax",
           "Softmax", "Softplus", "Sigmoid", "Elu", "LeakyRelu", "Selu", "Gelu", "MaxPool",
           "SumPool", "AvgPool", "Flatten", "Identity", "FanOut", "FanInSum", "FanInConcat",
           "Dropout", "serial", "parallel", "shape_dependent", "glorot", "randn",
           "logsoftmax", "glorot_normal", "normal", "ones", "zeros", "relu", "log_softmax",
           "softmax", "softplus", "sigmoid", "elu", "leaky_relu", "selu", "gelu",
           "standardize"]

# the older names JAX's stax keeps
glorot = glorot_normal
randn = normal
logsoftmax = log_softmax

_PADDING_NAMES = ("SAME", "SAME_LOWER", "VALID")


def _check_padding(where, padding, n_spatial, explicit_ok=True):
    """``padding`` is a padding name or (if ``explicit_ok``) ``n_spatial`` (low, high)
    pairs; anything else is an error naming the layer."""
    if isinstance(padding, str):
        if padding.upper() in _PADDING_NAMES:
            return padding.upper()
    elif explicit_ok:
        try:
            pairs = [tuple(int(p) for p in pair) for pair in padding]
        except (TypeError, ValueError):
            pairs = None
        if pairs is not None and len(pairs) == n_spatial and all(len(p) == 2 for p in pairs):
            return pairs
    allowed = ("'SAME', 'SAME_LOWER', 'VALID' or a sequence of "
               f"{n_spatial} (low, high) pairs" if explicit_ok
               else "'SAME', 'SAME_LOWER' or 'VALID'")
    raise ValueError(f"{where}: padding must be {allowed}, got {padding!r}")


# -- parameterized layers ------------------------------------------------------------------

def Dense(out_dim, W_init=glorot_normal(), b_init=normal()):
    """A fully connected layer: ``inputs @ W + b``, ``W`` of shape ``(in_dim, out_dim)``."""
    def init_fun(rng, input_shape):
        k_w, k_b = random.split(rng)
        params = W_init(k_w, (input_shape[-1], out_dim)), b_init(k_b, (out_dim,))
        return tuple(input_shape[:-1]) + (out_dim,), params

    def apply_fun(params, inputs, **kwargs):
        W, b = params
        return jnp.dot(inputs, W) + b
    return init_fun, apply_fun


def _conv_layer(where, shape_rule, apply_rule, dimension_numbers, out_chan, filter_shape,
                strides, padding, W_init, b_init):
    """A convolution layer (forward or transposed): ``shape_rule`` gives its output shape
    and ``apply_rule(inputs, W, strides, padding, dimension_numbers)`` applies it."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    n = len(filter_shape)
    strides = strides or (1,) * n
    padding = _check_padding(where, padding, n)
    W_init = W_init or glorot_normal(rhs_spec.index("I"), rhs_spec.index("O"))

    def init_fun(rng, input_shape):
        spatial = iter(filter_shape)
        kernel_shape = [out_chan if c == "O" else input_shape[lhs_spec.index("C")] if c == "I"
                        else next(spatial) for c in rhs_spec]
        output_shape = shape_rule(input_shape, kernel_shape, strides, padding,
                                  dimension_numbers)
        bias_shape = [out_chan if c == "C" else 1 for c in out_spec]
        k_w, k_b = random.split(rng)
        return output_shape, (W_init(k_w, kernel_shape), b_init(k_b, bias_shape))

    def apply_fun(params, inputs, **kwargs):
        W, b = params
        return apply_rule(inputs, W, strides, padding, dimension_numbers) + b
    return init_fun, apply_fun


def _conv_forward(inputs, W, strides, padding, dimension_numbers):
    one = (1,) * len(strides)
    return lax.conv_general_dilated(inputs, W, strides, padding, one, one,
                                    dimension_numbers=dimension_numbers)


def _conv_backward(inputs, W, strides, padding, dimension_numbers):
    return lax.conv_transpose(inputs, W, strides, padding,
                              dimension_numbers=dimension_numbers)


def GeneralConv(dimension_numbers, out_chan, filter_shape, strides=None, padding="VALID",
                W_init=None, b_init=normal(1e-6)):
    """A convolution layer with ``out_chan`` output channels and a ``filter_shape``
    spatial window; ``dimension_numbers`` is ``(lhs_spec, rhs_spec, out_spec)`` as layout
    strings (e.g. ``('NHWC', 'HWIO', 'NHWC')``). ``W_init`` defaults to Glorot normal over
    the kernel's I and O axes; the bias has the output's rank, ``out_chan`` on C."""
    return _conv_layer("GeneralConv", lax.conv_general_shape_tuple, _conv_forward,
                       dimension_numbers, out_chan, filter_shape, strides, padding, W_init,
                       b_init)


def Conv(out_chan, filter_shape, strides=None, padding="VALID", W_init=None,
         b_init=normal(1e-6)):
    """``GeneralConv`` with layouts ``('NHWC', 'HWIO', 'NHWC')``."""
    return _conv_layer("Conv", lax.conv_general_shape_tuple, _conv_forward,
                       ("NHWC", "HWIO", "NHWC"), out_chan, filter_shape, strides, padding,
                       W_init, b_init)


def GeneralConvTranspose(dimension_numbers, out_chan, filter_shape, strides=None,
                         padding="VALID", W_init=None, b_init=normal(1e-6)):
    """A transposed-convolution layer (``lax.conv_transpose``); arguments as for
    ``GeneralConv``."""
    return _conv_layer("GeneralConvTranspose", lax.conv_transpose_shape_tuple,
                       _conv_backward, dimension_numbers, out_chan, filter_shape, strides,
                       padding, W_init, b_init)


def Conv1DTranspose(out_chan, filter_shape, strides=None, padding="VALID", W_init=None,
                    b_init=normal(1e-6)):
    """``GeneralConvTranspose`` with layouts ``('NHC', 'HIO', 'NHC')``."""
    return _conv_layer("Conv1DTranspose", lax.conv_transpose_shape_tuple, _conv_backward,
                       ("NHC", "HIO", "NHC"), out_chan, filter_shape, strides, padding,
                       W_init, b_init)


def ConvTranspose(out_chan, filter_shape, strides=None, padding="VALID", W_init=None,
                  b_init=normal(1e-6)):
    """``GeneralConvTranspose`` with layouts ``('NHWC', 'HWIO', 'NHWC')``."""
    return _conv_layer("ConvTranspose", lax.conv_transpose_shape_tuple, _conv_backward,
                       ("NHWC", "HWIO", "NHWC"), out_chan, filter_shape, strides, padding,
                       W_init, b_init)


def BatchNorm(axis=(0, 1, 2), epsilon=1e-5, center=True, scale=True, beta_init=zeros,
              gamma_init=ones):
    """Normalize over ``axis`` (the batch statistics of each call; no running averages),
    then scale by ``gamma`` (if ``scale``) and shift by ``beta`` (if ``center``), both of
    the shape of the axes not normalized. A disabled parameter is ``()``."""
    axis = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)

    def kept(ndim):
        normalized = {a % ndim for a in axis}
        return [d for d in range(ndim) if d not in normalized]

    def init_fun(rng, input_shape):
        shape = tuple(input_shape[d] for d in kept(len(input_shape)))
        k_beta, k_gamma = random.split(rng)
        beta = beta_init(k_beta, shape) if center else ()
        gamma = gamma_init(k_gamma, shape) if scale else ()
        return input_shape, (beta, gamma)

    def apply_fun(params, x, **kwargs):
        beta, gamma = params
        ndim = jnp.ndim(x)
        keep = set(kept(ndim))
        # view a parameter over the kept axes as an array of x's rank
        expand = tuple(slice(None) if d in keep else None for d in range(ndim))
        z = standardize(x, axis, epsilon=epsilon)
        if scale:
            z = gamma[expand] * z
        if center:
            z = z + beta[expand]
        return z
    return init_fun, apply_fun


# -- elementwise layers --------------------------------------------------------------------

def elementwise(fun, **fun_kwargs):
    """A parameterless layer applying ``fun(inputs, **fun_kwargs)``."""
    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        return fun(inputs, **fun_kwargs)
    return init_fun, apply_fun


Tanh = elementwise(jnp.tanh)
Relu = elementwise(relu)
Exp = elementwise(jnp.exp)
LogSoftmax = elementwise(log_softmax, axis=-1)
Softmax = elementwise(softmax, axis=-1)
Softplus = elementwise(softplus)
Sigmoid = elementwise(sigmoid)
Elu = elementwise(elu)
LeakyRelu = elementwise(leaky_relu)
Selu = elementwise(selu)
Gelu = elementwise(gelu)


# -- pooling -------------------------------------------------------------------------------

def _non_spatial_axes(spec, ndim):
    """The batch and channel axes: given by ``spec`` (e.g. ``'NCHW'``), else first and
    last."""
    if spec is None:
        return 0, ndim - 1
    return spec.index("N"), spec.index("C")


def _with_unit_axes(dims, axes):
    """``dims`` (spatial) with a 1 inserted at each of ``axes`` (in increasing order)."""
    dims = tuple(dims)
    for a in sorted(axes):
        dims = dims[:a] + (1,) + dims[a:]
    return dims


def _window_counts(window_shape, strides, padding):
    """Divide a window sum by the number of input elements in each window (padding not
    counted), as ``AvgPool`` does."""
    def rescale(outputs, inputs, spec):
        non_spatial = _non_spatial_axes(spec, inputs.ndim)
        spatial = tuple(n for d, n in enumerate(inputs.shape) if d not in non_spatial)
        counts = lax.reduce_window(jnp.ones(spatial, inputs.dtype), 0., lax.add,
                                   window_shape, strides, padding)
        for a in sorted(non_spatial):
            counts = jnp.expand_dims(counts, a)
        return outputs / counts
    return rescale


def _pooling_layer(name, reducer, init_val, rescaler=None):
    def PoolingLayer(window_shape, strides=None, padding="VALID", spec=None):
        """A pooling layer over a ``window_shape`` spatial window (batch and channel axes
        from ``spec``, default first and last) with ``strides`` and ``padding``."""
        window_shape = tuple(window_shape)
        strides = tuple(strides) if strides else (1,) * len(window_shape)
        padding = _check_padding(name, padding, len(window_shape), explicit_ok=False)
        rescale = rescaler(window_shape, strides, padding) if rescaler else None
        non_spatial = _non_spatial_axes(spec, len(window_shape) + 2)
        full_window = _with_unit_axes(window_shape, non_spatial)
        full_strides = _with_unit_axes(strides, non_spatial)

        def init_fun(rng, input_shape):
            pads = lax.padtype_to_pads(input_shape, full_window, full_strides, padding)
            ones_ = (1,) * len(full_window)
            out_shape = lax.reduce_window_shape_tuple(input_shape, full_window, full_strides,
                                                      pads, ones_, ones_)
            return tuple(out_shape), ()

        def apply_fun(params, inputs, **kwargs):
            out = lax.reduce_window(inputs, init_val, reducer, full_window, full_strides,
                                    padding)
            return rescale(out, inputs, spec) if rescale else out
        return init_fun, apply_fun
    PoolingLayer.__name__ = PoolingLayer.__qualname__ = name
    return PoolingLayer


MaxPool = _pooling_layer("MaxPool", lax.max, -jnp.inf)
SumPool = _pooling_layer("SumPool", lax.add, 0.)
AvgPool = _pooling_layer("AvgPool", lax.add, 0., _window_counts)


# -- shape and plumbing layers -------------------------------------------------------------

def _flatten():
    """Flatten every axis but the leading (batch) one."""
    def init_fun(rng, input_shape):
        return (input_shape[0], math.prod(input_shape[1:])), ()

    def apply_fun(params, inputs, **kwargs):
        return jnp.reshape(inputs, (inputs.shape[0], -1))
    return init_fun, apply_fun


Flatten = _flatten()


def _identity():
    """Return the inputs unchanged."""
    return elementwise(lambda x: x)


Identity = _identity()


def FanOut(num):
    """Send the input to ``num`` branches: the output is a list of ``num`` copies."""
    def init_fun(rng, input_shape):
        return [input_shape] * num, ()

    def apply_fun(params, inputs, **kwargs):
        return [inputs] * num
    return init_fun, apply_fun


def _fan_in_sum():
    """Add the branches' outputs."""
    def init_fun(rng, input_shape):
        return input_shape[0], ()

    def apply_fun(params, inputs, **kwargs):
        return sum(inputs)
    return init_fun, apply_fun


FanInSum = _fan_in_sum()


def FanInConcat(axis=-1):
    """Concatenate the branches' outputs along ``axis``."""
    def init_fun(rng, input_shape):
        first = tuple(input_shape[0])
        ax = axis % len(first)
        total = sum(shape[ax] for shape in input_shape)
        return first[:ax] + (total,) + first[ax + 1:], ()

    def apply_fun(params, inputs, **kwargs):
        return jnp.concatenate(inputs, axis)
    return init_fun, apply_fun


def Dropout(rate, mode="train"):
    """Dropout that keeps each input with probability ``rate`` (as in JAX's stax, ``rate``
    is the keep rate) and divides the kept ones by it; any ``mode`` but ``'train'`` is the
    identity. Training needs the key: ``apply_fun(params, inputs, rng=key)``."""
    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        if mode != "train":
            return inputs
        rng = kwargs.get("rng")
        if rng is None:
            raise ValueError("Dropout: apply_fun needs a PRNG key in training mode: call "
                             "apply_fun(params, inputs, rng=key) with a key from "
                             "xform.random.key or xform.random.PRNGKey")
        keep = random.bernoulli(rng, rate, inputs.shape)
        return jnp.where(keep, inputs / rate, 0)
    return init_fun, apply_fun


# -- combinators ---------------------------------------------------------------------------

def _layer_keys(rng, n):
    """One key per sublayer for apply_fun (``None`` for each when there is no key)."""
    return random.split(rng, n) if rng is not None else (None,) * n


def serial(*layers):
    """Compose ``layers`` (``(init_fun, apply_fun)`` pairs) one after the other; the
    parameters are a list with one entry per layer. A key given to apply_fun is split
    into one per layer."""
    n = len(layers)
    init_funs, apply_funs = zip(*layers)

    def init_fun(rng, input_shape):
        params = []
        shape = input_shape
        for init in init_funs:
            rng, layer_rng = random.split(rng)
            shape, p = init(layer_rng, shape)
            params.append(p)
        return shape, params

    def apply_fun(params, inputs, **kwargs):
        keys = _layer_keys(kwargs.pop("rng", None), n)
        for apply, p, key in zip(apply_funs, params, keys):
            inputs = apply(p, inputs, rng=key, **kwargs)
        return inputs
    return init_fun, apply_fun


def parallel(*layers):
    """Apply ``layers`` side by side: the i-th to the i-th of a sequence of inputs (with
    ``FanOut`` before and ``FanInSum``/``FanInConcat`` after, a branching block)."""
    n = len(layers)
    init_funs, apply_funs = zip(*layers)

    def init_fun(rng, input_shape):
        keys = random.split(rng, n)
        results = [init(key, shape) for init, key, shape in zip(init_funs, keys, input_shape)]
        return tuple(zip(*results))

    def apply_fun(params, inputs, **kwargs):
        keys = _layer_keys(kwargs.pop("rng", None), n)
        return [apply(p, x, rng=key, **kwargs)
                for apply, p, x, key in zip(apply_funs, params, inputs, keys)]
    return init_fun, apply_fun


def shape_dependent(make_layer):
    """A layer built by ``make_layer(input_shape)`` once the input shape is known (at
    init and at every apply)."""
    def init_fun(rng, input_shape):
        return make_layer(input_shape)[0](rng, input_shape)

    def apply_fun(params, inputs, **kwargs):
        return make_layer(inputs.shape)[1](params, inputs, **kwargs)
    return init_fun, apply_fun
