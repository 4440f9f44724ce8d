"""``xform.example_libraries.optimizers`` (as ``jax.example_libraries.optimizers``).

Example first-order optimizers, each an ``Optimizer`` triple of plain functions:

* ``init_fn(params) -> opt_state`` builds the state from a pytree of parameters;
* ``update_fn(step, grads, opt_state) -> opt_state`` takes one step, ``grads`` having
  the structure of the parameters;
* ``get_params(opt_state) -> params`` reads the parameters back, so that
  ``get_params(init_fn(params))`` equals ``params``.

Every optimizer here is written for one array at a time and lifted to pytrees by the
``optimizer`` decorator. Its state is an ``OptimizerState``: the flattened per-leaf states
(the data, so the state passes through ``jit``, ``grad`` and ``vmap``) plus the parameter
tree's structure and each per-leaf state's structure (static data). A step size is a
scalar or a schedule ``step -> step size``; ``constant``, ``exponential_decay``,
``inverse_time_decay``, ``polynomial_decay`` and ``piecewise_constant`` make schedules.

These are examples, as in JAX; a full optimizer library is a separate project.
"""
from __future__ import annotations

import functools
import numbers
from collections import namedtuple
from typing import Any, Callable, NamedTuple

import numpy as np

from .. import numpy as jnp
from .. import tree_util

__all__ = ["OptimizerState", "Optimizer", "optimizer", "sgd", "momentum", "nesterov",
           "adagrad", "rmsprop", "rmsprop_momentum", "adam", "adamax", "sm3", "constant",
           "exponential_decay", "inverse_time_decay", "polynomial_decay",
           "piecewise_constant", "make_schedule", "l2_norm", "clip_grads", "JoinPoint",
           "unpack_optimizer_state", "pack_optimizer_state"]

# The state of a lifted optimizer: ``packed_state`` holds, for each parameter leaf (in
# flattening order), the leaves of that leaf's own state; ``tree_def`` is the parameter
# tree's structure and ``subtree_defs`` the structure of each leaf's state. Only
# ``packed_state`` is pytree data; the two structures are the node's static part.
OptimizerState = namedtuple("OptimizerState", ["packed_state", "tree_def", "subtree_defs"])


def _flatten_state(state):
    return (state.packed_state,), (state.tree_def, state.subtree_defs)


def _unflatten_state(static, children):
    (packed,) = children
    return OptimizerState(packed, static[0], static[1])


tree_util.register_pytree_node(OptimizerState, _flatten_state, _unflatten_state)

Array = Any
Params = Any      # a pytree of arrays
State = Any       # the state of one leaf, as an array optimizer builds it
Updates = Params  # gradients: the parameters' structure
Step = int
InitFn = Callable[[Params], OptimizerState]
UpdateFn = Callable[[Step, Updates, OptimizerState], OptimizerState]
ParamsFn = Callable[[OptimizerState], Params]
Schedule = Callable[[Step], float]


class Optimizer(NamedTuple):
    init_fn: InitFn
    update_fn: UpdateFn
    params_fn: ParamsFn


def _check_state(where, opt_state):
    """Unpack an ``OptimizerState`` (or a 3-tuple shaped like one), or say what is wrong."""
    if not (isinstance(opt_state, tuple) and len(opt_state) == 3
            and isinstance(opt_state[1], tree_util.PyTreeDef)):
        raise TypeError(f"{where}: opt_state must be an OptimizerState made by the "
                        f"optimizer's init_fn, got {type(opt_state).__name__}")
    packed, treedef, subtree_defs = opt_state
    if not (len(packed) == len(subtree_defs) == treedef.num_leaves):
        raise ValueError(f"{where}: opt_state is inconsistent: {len(packed)} packed leaf "
                         f"states and {len(subtree_defs)} state structures for a parameter "
                         f"tree of {treedef.num_leaves} leaves {treedef}")
    return packed, treedef, subtree_defs


def _flatten_all(trees):
    """Flatten each tree; return (the lists of leaves, the structures), as tuples."""
    flat = [tree_util.tree_flatten(t) for t in trees]
    return tuple(leaves for leaves, _ in flat), tuple(td for _, td in flat)


def _unflatten_all(treedefs, leaf_lists):
    return [tree_util.tree_unflatten(td, leaves)
            for td, leaves in zip(treedefs, leaf_lists, strict=True)]


def optimizer(opt_maker: Callable[..., tuple]) -> Callable[..., Optimizer]:
    """Lift an optimizer written for single arrays to one over pytrees of arrays.

    ``opt_maker(*args, **kwargs)`` returns ``(init, update, get_params)`` where ``init``
    maps one array to its state (any pytree of arrays), ``update(step, g, state)`` returns
    the next state of the same structure, and ``get_params(state)`` reads the array back.
    The decorated maker returns an ``Optimizer`` whose functions apply those to every leaf
    of a parameter pytree and keep the result in an ``OptimizerState``.
    """
    name = getattr(opt_maker, "__name__", "optimizer")

    @functools.wraps(opt_maker)
    def make_tree_optimizer(*args, **kwargs):
        init, update, get_params = opt_maker(*args, **kwargs)

        @functools.wraps(init)
        def tree_init(x0_tree):
            x0_leaves, treedef = tree_util.tree_flatten(x0_tree)
            packed, subtree_defs = _flatten_all([init(x0) for x0 in x0_leaves])
            return OptimizerState(packed, treedef, subtree_defs)

        @functools.wraps(update)
        def tree_update(i, grad_tree, opt_state):
            where = f"{name} update_fn"
            packed, treedef, subtree_defs = _check_state(where, opt_state)
            grad_leaves, grad_def = tree_util.tree_flatten(grad_tree)
            if grad_def != treedef:
                raise TypeError(f"{where}: grads must have the structure of the parameters "
                                f"the optimizer state was initialized with: parameters "
                                f"{treedef}, grads {grad_def}")
            states = _unflatten_all(subtree_defs, packed)
            new_states = [update(i, g, s) for g, s in zip(grad_leaves, states, strict=True)]
            new_packed, new_defs = _flatten_all(new_states)
            for k, (old, new) in enumerate(zip(subtree_defs, new_defs, strict=True)):
                if old != new:
                    raise TypeError(f"{where}: the update of leaf {k} returned a state of "
                                    f"structure {new}, not its input structure {old}")
            return OptimizerState(new_packed, treedef, subtree_defs)

        @functools.wraps(get_params)
        def tree_get_params(opt_state):
            packed, treedef, subtree_defs = _check_state(f"{name} get_params", opt_state)
            states = _unflatten_all(subtree_defs, packed)
            return tree_util.tree_unflatten(treedef, [get_params(s) for s in states])

        return Optimizer(tree_init, tree_update, tree_get_params)

    return make_tree_optimizer


def _first(state):
    return state[0]


# -- optimizers ---------------------------------------------------------------------------

@optimizer
def sgd(step_size):
    """Stochastic gradient descent: ``x <- x - step_size(i) * g``.

    ``step_size`` is a scalar or a schedule ``step -> step size``.
    """
    lr = _schedule("sgd", step_size)

    def init(x0):
        return x0

    def update(i, g, x):
        return x - lr(i) * g

    def get_params(x):
        return x

    return Optimizer(init, update, get_params)


def _zeros_init(n):
    """An ``init`` pairing the parameter with ``n`` zero buffers of its shape and dtype."""
    def init(x0):
        return (x0,) + tuple(jnp.zeros_like(x0) for _ in range(n))
    return init


def _heavy_ball(name, step_size, mass, lookahead):
    """Momentum ``v <- mass * v + g``; the step is along ``v``, or with ``lookahead``
    (Nesterov) along ``mass * v + g``."""
    lr = _schedule(name, step_size)

    def update(i, g, state):
        x, v = state
        v = mass * v + g
        return x - lr(i) * (mass * v + g if lookahead else v), v

    return _zeros_init(1), update, _first


@optimizer
def momentum(step_size: Schedule, mass: float):
    """Gradient descent with heavy-ball momentum ``mass``:
    ``v <- mass * v + g; x <- x - step_size(i) * v``."""
    return _heavy_ball("momentum", step_size, mass, lookahead=False)


@optimizer
def nesterov(step_size: Schedule, mass: float):
    """Gradient descent with Nesterov momentum ``mass``: the step looks ahead along the
    updated velocity, ``x <- x - step_size(i) * (mass * v + g)``."""
    return _heavy_ball("nesterov", step_size, mass, lookahead=True)


def _inv_sqrt_or_zero(acc):
    """``1/sqrt(acc)`` where ``acc > 0``, else 0 (a coordinate that never saw a gradient)."""
    return jnp.where(acc > 0, 1. / jnp.sqrt(acc), 0.0)


@optimizer
def adagrad(step_size, momentum=0.9):
    """Adagrad (Duchi, Hazan & Singer, JMLR 2011) with momentum on the scaled gradient:
    the gradient is divided by the root of the running sum of its squares."""
    lr = _schedule("adagrad", step_size)

    def update(i, g, state):
        x, g_sq, m = state
        g_sq = g_sq + jnp.square(g)
        m = (1. - momentum) * (g * _inv_sqrt_or_zero(g_sq)) + momentum * m
        return x - lr(i) * m, g_sq, m

    return _zeros_init(2), update, _first


@optimizer
def rmsprop(step_size, gamma=0.9, eps=1e-8):
    """RMSProp: the gradient divided by the root of a decaying (rate ``gamma``) average of
    its squares, ``eps`` inside the root."""
    lr = _schedule("rmsprop", step_size)

    def update(i, g, state):
        x, avg_sq = state
        avg_sq = avg_sq * gamma + jnp.square(g) * (1. - gamma)
        return x - lr(i) * g / jnp.sqrt(avg_sq + eps), avg_sq

    return _zeros_init(1), update, _first


@optimizer
def rmsprop_momentum(step_size, gamma=0.9, eps=1e-8, momentum=0.9):
    """RMSProp whose scaled steps accumulate in a momentum buffer (coefficient
    ``momentum``); the state carries that buffer as a third entry."""
    lr = _schedule("rmsprop_momentum", step_size)

    def update(i, g, state):
        x, avg_sq, mom = state
        avg_sq = avg_sq * gamma + jnp.square(g) * (1. - gamma)
        mom = momentum * mom + lr(i) * g / jnp.sqrt(avg_sq + eps)
        return x - mom, avg_sq, mom

    return _zeros_init(2), update, _first


def _bias_correction(beta, like, i):
    """``1 - beta ** (i + 1)`` with ``beta`` in the dtype of ``like``."""
    return 1 - jnp.asarray(beta, like.dtype) ** (i + 1)


@optimizer
def adam(step_size, b1=0.9, b2=0.999, eps=1e-8):
    """Adam (Kingma & Ba): decaying first (``b1``) and second (``b2``) moment estimates of
    the gradient, bias-corrected; ``eps`` is added to the root of the second moment."""
    lr = _schedule("adam", step_size)

    def update(i, g, state):
        x, m, v = state
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * jnp.square(g) + b2 * v
        m_hat = m / _bias_correction(b1, m, i)
        v_hat = v / _bias_correction(b2, m, i)
        return x - lr(i) * m_hat / (jnp.sqrt(v_hat) + eps), m, v

    return _zeros_init(2), update, _first


@optimizer
def adamax(step_size, b1=0.9, b2=0.999, eps=1e-8):
    """AdaMax, Adam's infinity-norm variant: the second moment is replaced by a decaying
    (``b2``) maximum of the gradient's magnitude."""
    lr = _schedule("adamax", step_size)

    def update(i, g, state):
        x, m, u = state
        m = (1 - b1) * g + b1 * m
        u = jnp.maximum(b2 * u, jnp.abs(g))
        x = x - (lr(i) / _bias_correction(b1, m, i)) * m / (u + eps)
        return x, m, u

    return _zeros_init(2), update, _first


@optimizer
def sm3(step_size, momentum=0.9):
    """SM3 (Anil, Gupta, Koren & Singer, 2019): Adagrad whose accumulator is covered by one
    vector per axis (memory ``sum(shape)``, not ``prod(shape)``), with momentum. A scalar
    parameter is kept as a 1-vector; the state remembers the original shape."""
    lr = _schedule("sm3", step_size)

    def along(ndim, v, axis):
        """View the vector ``v`` as an ``ndim``-array that varies only along ``axis``."""
        return v[tuple(slice(None) if d == axis else None for d in range(ndim))]

    def init(x0):
        shape = x0.shape
        x0 = jnp.atleast_1d(x0)
        accumulators = [jnp.zeros(n, dtype=x0.dtype) for n in x0.shape]
        return x0, jnp.zeros_like(x0), accumulators, shape

    def update(i, g, state):
        x, m, vs, shape = state
        cover = functools.reduce(jnp.minimum, [along(g.ndim, v, a) for a, v in enumerate(vs)])
        acc = cover + jnp.square(g)
        m = (1. - momentum) * (g * _inv_sqrt_or_zero(acc)) + momentum * m
        x = x - lr(i) * m
        vs = [acc.max(axis=tuple(d for d in range(x.ndim) if d != a)) for a in range(x.ndim)]
        return x, m, vs, shape

    def get_params(state):
        x, _, _, shape = state
        return x.reshape(shape)

    return init, update, get_params


# -- step-size schedules ------------------------------------------------------------------

def constant(step_size) -> Schedule:
    """The schedule that is ``step_size`` at every step."""
    def schedule(i):
        return step_size
    return schedule


def exponential_decay(step_size, decay_steps, decay_rate):
    """``step_size * decay_rate ** (i / decay_steps)``."""
    def schedule(i):
        return step_size * decay_rate ** (i / decay_steps)
    return schedule


def inverse_time_decay(step_size, decay_steps, decay_rate, staircase=False):
    """``step_size / (1 + decay_rate * i / decay_steps)``; with ``staircase`` the quotient
    ``i / decay_steps`` is floored, so the step size drops every ``decay_steps`` steps."""
    if staircase:
        def schedule(i):
            return step_size / (1 + decay_rate * jnp.floor(i / decay_steps))
    else:
        def schedule(i):
            return step_size / (1 + decay_rate * i / decay_steps)
    return schedule


def polynomial_decay(step_size, decay_steps, final_step_size, power=1.0):
    """From ``step_size`` to ``final_step_size`` over ``decay_steps`` steps along
    ``(1 - t) ** power`` (``t`` the fraction of the decay done), then constant."""
    def schedule(step_num):
        t = jnp.minimum(step_num, decay_steps) / decay_steps
        return (1 - t) ** power * (step_size - final_step_size) + final_step_size
    return schedule


def piecewise_constant(boundaries: Any, values: Any):
    """``values[k]`` on the steps ``i`` with exactly ``k`` boundaries below ``i``
    (``boundaries[k-1] < i <= boundaries[k]``); ``values`` has one more entry than
    ``boundaries``."""
    boundaries = jnp.array(boundaries)
    values = jnp.array(values)
    if boundaries.ndim != 1 or values.ndim != 1:
        raise ValueError(f"piecewise_constant: boundaries and values must be 1-D sequences, "
                         f"got shapes {boundaries.shape} and {values.shape}")
    if boundaries.shape[0] != values.shape[0] - 1:
        raise ValueError(f"piecewise_constant: values must have one more entry than "
                         f"boundaries, got {values.shape[0]} values and "
                         f"{boundaries.shape[0]} boundaries")

    def schedule(i):
        return values[jnp.sum(i > boundaries)]
    return schedule


def _is_scalar(x):
    if isinstance(x, (numbers.Number, np.generic)):
        return True
    return getattr(x, "ndim", None) == 0 and hasattr(x, "dtype")


def _schedule(where, value, arg="step_size"):
    """``value`` as a schedule: itself if callable, ``constant(value)`` if a scalar."""
    if callable(value):
        return value
    if _is_scalar(value):
        return constant(value)
    shape = getattr(value, "shape", None)
    got = f"an array of shape {shape}" if shape is not None else repr(value)
    raise TypeError(f"{where}: {arg} must be a scalar or a callable schedule "
                    f"step -> step size, got {got} ({type(value).__name__})")


def make_schedule(scalar_or_schedule: float | Schedule) -> Schedule:
    """A schedule from a scalar (constant) or a schedule (returned as is)."""
    return _schedule("make_schedule", scalar_or_schedule, "scalar_or_schedule")


# -- utilities ----------------------------------------------------------------------------

def l2_norm(tree):
    """The l2 norm of all the leaves of a pytree of arrays taken together."""
    leaves = tree_util.tree_leaves(tree)
    return jnp.sqrt(sum(jnp.vdot(x, x) for x in leaves))


def clip_grads(grad_tree, max_norm):
    """Scale ``grad_tree`` down so that its ``l2_norm`` is at most ``max_norm``."""
    norm = l2_norm(grad_tree)

    def clip(g):
        return jnp.where(norm < max_norm, g, g * (max_norm / norm))
    return tree_util.tree_map(clip, grad_tree)


# -- (de)serialization --------------------------------------------------------------------

class JoinPoint:
    """A leaf of the outer (parameter) tree that holds the inner tree of that leaf's
    state. It iterates over its one subtree, as containers do."""

    def __init__(self, subtree):
        self.subtree = subtree

    def __iter__(self):
        yield self.subtree


def unpack_optimizer_state(opt_state):
    """An ``OptimizerState`` as a nested pytree (for serialization): the parameter tree
    with each leaf replaced by a ``JoinPoint`` holding that leaf's state."""
    packed, treedef, subtree_defs = _check_state("unpack_optimizer_state", opt_state)
    joins = [JoinPoint(s) for s in _unflatten_all(subtree_defs, packed)]
    return tree_util.tree_unflatten(treedef, joins)


def pack_optimizer_state(marked_pytree):
    """The inverse of ``unpack_optimizer_state``: the ``OptimizerState`` of a pytree whose
    leaves are ``JoinPoint``s."""
    joins, treedef = tree_util.tree_flatten(marked_pytree)
    for k, j in enumerate(joins):
        if not isinstance(j, JoinPoint):
            raise TypeError(f"pack_optimizer_state: marked_pytree must have JoinPoint "
                            f"leaves (from unpack_optimizer_state); leaf {k} is a "
                            f"{type(j).__name__}")
    packed, subtree_defs = _flatten_all([j.subtree for j in joins])
    return OptimizerState(packed, treedef, subtree_defs)
