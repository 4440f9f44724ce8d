"""example_libraries.optimizers against jax.example_libraries.optimizers: every optimizer
takes the same steps (eagerly and under jit, with a scalar step size or a schedule), the
schedules give the same step sizes, the utilities and the (un)packing agree, and bad
input is named."""
import numpy as np
import pytest

import jax
import jax.numpy as jjnp
from jax.example_libraries import optimizers as jopt

import xform
import xform.numpy as xnp
from xform.example_libraries import optimizers as xopt

RTOL = 1e-5
rng = np.random.default_rng(0)
PARAMS = {"w": rng.normal(size=(3, 2)).astype(np.float32), "s": np.float32(0.7)}


def _schedules(lib, np_):
    """Step sizes by name, each built with ``lib`` (JAX's module or ours)."""
    return {
        "scalar": 0.05,
        "constant": lib.constant(0.05),
        "exponential": lib.exponential_decay(0.1, 3, 0.5),
        "inverse_time": lib.inverse_time_decay(0.1, 2, 0.5),
        "inverse_time_staircase": lib.inverse_time_decay(0.1, 2, 0.5, staircase=True),
        "polynomial": lib.polynomial_decay(0.1, 3, 0.01, power=2.0),
        "piecewise": lib.piecewise_constant([1, 3], [0.1, 0.05, 0.02]),
        "callable": lambda i: 0.1 / (1 + i),
    }


# each optimizer with its extra arguments and the schedule its step size comes from
CASES = [
    ("sgd", (), "scalar"),
    ("momentum", (0.9,), "exponential"),
    ("nesterov", (0.8,), "inverse_time"),
    ("adagrad", (), "inverse_time_staircase"),
    ("rmsprop", (), "polynomial"),
    ("rmsprop_momentum", (), "piecewise"),
    ("adam", (), "callable"),
    ("adamax", (0.8, 0.99), "constant"),
    ("sm3", (), "polynomial"),
]


def _run_all(lib, np_, jit, steps=5, names=None):
    """``steps`` updates of every optimizer in CASES from PARAMS, with gradient
    ``tanh(p) + 0.1 * p**2`` (computed with ``np_``, so under ``jit`` it is traced too);
    one step function updates all the optimizers, so each library compiles once. Returns
    the final parameters by optimizer name. The parameters are read outside the step:
    sm3's state holds the parameter's shape as leaves, which ``jit`` traces (in JAX too),
    so its get_params cannot run inside."""
    opts = {name: getattr(lib, name)(_schedules(lib, np_)[schedule], *args)
            for name, args, schedule in CASES if names is None or name in names}

    def step(i, params, states):
        return {name: update(i, {k: np_.tanh(p) + 0.1 * p ** 2 for k, p in params[name].items()},
                             states[name])
                for name, (_, update, _) in opts.items()}
    if jit is not None:
        step = jit(step)
    start = {k: np_.asarray(v) for k, v in PARAMS.items()}
    states = {name: init(start) for name, (init, _, _) in opts.items()}
    for i in range(steps):
        states = step(i, {n: opts[n].params_fn(s) for n, s in states.items()}, states)
    return {n: opts[n].params_fn(s) for n, s in states.items()}


def _assert_trees_close(got, want, rtol=RTOL, atol=1e-7, what=""):
    got_leaves, got_def = jax.tree.flatten(got)
    want_leaves, want_def = jax.tree.flatten(want)
    assert got_def == want_def, what
    for g, w in zip(got_leaves, want_leaves):
        assert np.shape(g) == np.shape(w), what
        assert np.asarray(g).dtype == np.asarray(w).dtype, what
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=atol,
                                   err_msg=what)


@pytest.fixture(scope="module")
def jax_steps():
    return _run_all(jopt, jjnp, jax.jit)


def test_optimizer_steps_match_jax(jax_steps):
    want = jax_steps
    got = _run_all(xopt, xnp, xform.jit)
    for name, _, schedule in CASES:
        assert not np.allclose(np.asarray(want[name]["w"]), PARAMS["w"])  # the steps moved
        _assert_trees_close(got[name], want[name], what=f"{name} with {schedule} step size")


def test_optimizer_steps_eagerly_match_jax(jax_steps):
    """Op-by-op dispatch of the same steps, for the optimizer with the most kinds of
    operations (indexing with None, reductions over axis tuples, reshapes)."""
    want = jax_steps
    got = _run_all(xopt, xnp, None, names=("sm3",))
    for name, schedule in (("sm3", "polynomial"),):
        _assert_trees_close(got[name], want[name], what=f"{name} with {schedule} step size")


def test_schedules_match_jax():
    steps = np.arange(12)
    jax_fns, our_fns = _schedules(jopt, jjnp), _schedules(xopt, xnp)
    del jax_fns["scalar"], our_fns["scalar"]
    for key in jax_fns:                                   # Python int step numbers
        want = np.array([float(jax_fns[key](int(i))) for i in steps])
        got = np.array([float(our_fns[key](int(i))) for i in steps])
        np.testing.assert_allclose(got, want, rtol=RTOL, err_msg=key)
    # traced int32 step numbers: every schedule in one vmapped, jitted call
    traced = xform.jit(xform.vmap(lambda i: {k: 0. + f(i) for k, f in our_fns.items()}))
    got = traced(steps.astype(np.int32))
    want = jax.jit(jax.vmap(lambda i: {k: 0. + f(i) for k, f in jax_fns.items()}))(steps)
    _assert_trees_close(got, want)
    assert xopt.make_schedule(0.3)(7) == 0.3
    f = lambda i: i  # noqa: E731
    assert xopt.make_schedule(f) is f


def test_optimizer_state_is_a_pytree_that_jit_carries():
    init, update, get_params = xopt.momentum(0.1, 0.9)
    state = init(PARAMS)
    assert isinstance(state, xopt.OptimizerState)
    leaves, treedef = xform.tree_util.tree_flatten(state)
    assert len(leaves) == 4                        # (x, velocity) for each of 2 leaves
    rebuilt = xform.tree_util.tree_unflatten(treedef, leaves)
    assert isinstance(rebuilt, xopt.OptimizerState)
    assert rebuilt.tree_def == state.tree_def and rebuilt.subtree_defs == state.subtree_defs
    doubled = xform.tree_util.tree_map(lambda x: 2 * x, state)
    np.testing.assert_allclose(np.asarray(get_params(doubled)["w"]), 2 * PARAMS["w"])
    out = xform.jit(lambda s: s)(state)
    assert isinstance(out, xopt.OptimizerState) and out.tree_def == state.tree_def
    _assert_trees_close(get_params(out), PARAMS)
    assert set(xopt.Optimizer._fields) == {"init_fn", "update_fn", "params_fn"}


def test_l2_norm_and_clip_grads_match_jax():
    tree = {"a": PARAMS["w"][0], "b": [PARAMS["w"][1], PARAMS["w"][2]]}
    np.testing.assert_allclose(float(xopt.l2_norm(tree)), float(jopt.l2_norm(tree)),
                               rtol=RTOL)
    for max_norm in (0.5, 100.0):                   # clipped, untouched
        _assert_trees_close(xopt.clip_grads(tree, max_norm), jopt.clip_grads(tree, max_norm))


def test_pack_unpack_round_trip_and_match_jax():
    xs = xopt.adam(0.1)[0](PARAMS)
    js = jopt.adam(0.1)[0](PARAMS)
    marked = xopt.unpack_optimizer_state(xs)
    jmarked = jopt.unpack_optimizer_state(js)
    assert sorted(marked) == sorted(jmarked)
    for k in marked:
        assert isinstance(marked[k], xopt.JoinPoint)
        _assert_trees_close(marked[k].subtree, jmarked[k].subtree)
        assert list(marked[k]) == [marked[k].subtree]
    back = xopt.pack_optimizer_state(marked)
    assert isinstance(back, xopt.OptimizerState)
    assert back.tree_def == xs.tree_def and back.subtree_defs == xs.subtree_defs
    _assert_trees_close(back.packed_state, xs.packed_state)


def test_custom_optimizer_decorator():
    @xopt.optimizer
    def halve():
        return (lambda x: (x, 0 * x)), (lambda i, g, s: (s[0] / 2 - g, s[1] + 1)), \
            (lambda s: s[0])
    init, update, get_params = halve()
    state = update(0, {"a": xnp.ones(2)}, init({"a": xnp.full(2, 4.0)}))
    np.testing.assert_allclose(np.asarray(get_params(state)["a"]), [1.0, 1.0])
    assert halve.__name__ == "halve"


def test_bad_input_is_named():
    with pytest.raises(TypeError, match=r"adam: step_size must be a scalar or a callable"):
        xopt.adam(np.ones(3))
    with pytest.raises(TypeError, match=r"make_schedule: scalar_or_schedule .*'fast'"):
        xopt.make_schedule("fast")
    init, update, get_params = xopt.adam(0.1)
    state = init(PARAMS)
    with pytest.raises(TypeError, match=r"adam update_fn: grads must have the structure"):
        update(0, {"w": PARAMS["w"]}, state)
    with pytest.raises(TypeError, match=r"adam update_fn: opt_state must be an Optimizer"):
        update(0, PARAMS, PARAMS)
    with pytest.raises(TypeError, match=r"adam get_params: opt_state must be"):
        get_params([1, 2, 3])
    broken = xopt.OptimizerState(state.packed_state[:1], state.tree_def, state.subtree_defs)
    with pytest.raises(ValueError, match=r"adam update_fn: opt_state is inconsistent"):
        update(0, PARAMS, broken)

    @xopt.optimizer
    def grows():
        return (lambda x: (x,)), (lambda i, g, s: (s[0], g)), (lambda s: s[0])
    with pytest.raises(TypeError, match=r"grows update_fn: the update of leaf 0 returned"):
        grows()[1](0, [1.0], grows()[0]([1.0]))
    with pytest.raises(TypeError, match=r"pack_optimizer_state: marked_pytree .* leaf 1"):
        xopt.pack_optimizer_state([xopt.JoinPoint((1.0,)), 2.0])
    with pytest.raises(ValueError, match=r"piecewise_constant: values must have one more"):
        xopt.piecewise_constant([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"piecewise_constant: boundaries and values"):
        xopt.piecewise_constant(1, [0.1, 0.2])
