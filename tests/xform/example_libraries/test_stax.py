"""example_libraries.stax against jax.example_libraries.stax: the same networks, built
from the same PRNG key, have the same output shapes and parameters, give the same outputs
(op by op and under jit, dropout in both modes) and parameter gradients; a small MLP
trained with stax + adam follows JAX's losses; and bad input is named."""
import numpy as np
import pytest

import jax
import jax.numpy as jjnp
from jax.example_libraries import optimizers as jopt
from jax.example_libraries import stax as jstax

import xform
import xform.numpy as xnp
from xform.example_libraries import optimizers as xopt
from xform.example_libraries import stax as xstax

RTOL = 1e-5
rng = np.random.default_rng(0)


# Every layer has 2 channels and 2-wide windows, so that the random parameters come in
# few shapes: JAX compiles each of its samplers once per shape, and those compilations
# (not ours) would dominate this file's time.

def _cnn(s, mode="train"):
    """NHWC convolutions with the default initializers, pools, a branching head."""
    return s.serial(
        s.Conv(2, (2, 2), padding="SAME"), s.BatchNorm(), s.Relu,
        s.MaxPool((2, 2), strides=(2, 2)), s.ConvTranspose(2, (2, 2), strides=(2, 2)),
        s.AvgPool((2, 2), padding="SAME"), s.SumPool((2, 2)), s.FanOut(2),
        s.parallel(s.Dense(2), s.serial(s.Dense(2), s.Tanh)), s.FanInConcat(), s.Flatten,
        s.Dropout(0.7, mode=mode), s.LogSoftmax)


def _nchw(s):
    """Channels-first layouts, explicit padding, pools with a spec, test-mode dropout."""
    return s.serial(
        s.GeneralConv(("NCHW", "OIHW", "NCHW"), 2, (2, 2), strides=(2, 1),
                      padding=[(1, 0), (0, 1)], b_init=s.zeros),
        s.BatchNorm(axis=(0, 2, 3), center=False),
        s.MaxPool((2, 2), spec="NCHW"),
        s.AvgPool((2, 2), strides=(1, 1), padding="SAME", spec="NCHW"),
        s.SumPool((1, 2), spec="NCHW"),
        s.GeneralConvTranspose(("NCHW", "OIHW", "NCHW"), 2, (2, 2), strides=(2, 2),
                               padding="SAME", W_init=s.randn(0.5), b_init=s.zeros),
        s.Elu, s.Dropout(0.5, mode="test"), s.Flatten, s.FanOut(3),
        s.parallel(s.Relu, s.Sigmoid, s.Identity), s.FanInSum, s.Softmax)


def _sequence(s):
    """A 1-D transposed convolution, BatchNorm variants, every activation in parallel."""
    acts = (s.Tanh, s.Relu, s.Exp, s.LogSoftmax, s.Softmax, s.Softplus, s.Sigmoid, s.Elu,
            s.LeakyRelu, s.Selu, s.Gelu)
    return s.serial(
        s.Conv1DTranspose(2, (2,), strides=(2,), b_init=s.zeros), s.Gelu,
        s.BatchNorm(axis=(0, 1), center=False, scale=False), s.BatchNorm(axis=0, scale=False),
        s.shape_dependent(lambda shape: s.Dense(shape[-1], W_init=s.glorot())),
        s.FanOut(len(acts)), s.parallel(*acts), s.FanInConcat(axis=1), s.Dropout(0.8),
        s.Dense(2))


def _mixed(s):
    """The two above side by side: a list of two inputs, a list of two outputs."""
    return s.parallel(_nchw(s), _sequence(s))


NETS = {  # name: (network builder, input shape)
    "cnn": (_cnn, (2, 6, 6, 2)),
    "mixed": (_mixed, [(2, 2, 7, 6), (3, 5, 2)]),
}


def _ints(shape):
    """An output shape (a tuple of ints, or a sequence of them) with plain ints."""
    if isinstance(shape[0], (tuple, list)):
        return tuple(_ints(s) for s in shape)
    return tuple(int(d) for d in shape)


def _assert_trees_close(got, want, what="", rtol=RTOL, atol=1e-6):
    got_leaves, got_def = jax.tree.flatten(got)
    want_leaves, want_def = jax.tree.flatten(want)
    assert str(got_def) == str(want_def), what
    for g, w in zip(got_leaves, want_leaves):
        assert np.shape(g) == np.shape(w), what
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=atol,
                                   err_msg=what)


def _loss_and_output(apply, xp):
    def loss(params, x, key):
        out = apply(params, x, rng=key)
        return sum(xp.sum(o ** 2 + o) for o in out), out   # out: a list of arrays
    return loss


def _inputs(in_shape):
    if isinstance(in_shape, list):
        return [rng.normal(size=shape).astype(np.float32) for shape in in_shape]
    return rng.normal(size=in_shape).astype(np.float32)


@pytest.fixture(scope="module")
def jax_nets():
    """name -> (input, output shape, params, results) from JAX's stax: init on PRNGKey(3),
    then, jitted with dropout key 5, the output of "cnn" and a value_and_grad of a loss of
    "mixed" (a gradient of each takes more compiling than this file can afford)."""
    out = {}
    for name, (build, in_shape) in NETS.items():
        x = _inputs(in_shape)
        init, apply = build(jstax)
        shape, params = init(jax.random.PRNGKey(3), in_shape)
        if name == "cnn":
            results = jax.jit(apply)(params, x, rng=jax.random.PRNGKey(5))
        else:
            results = jax.jit(jax.value_and_grad(_loss_and_output(apply, jjnp),
                                                 has_aux=True))(params, x, jax.random.PRNGKey(5))
        out[name] = x, shape, params, results
    return out


def _init_matches_jax(name, jax_nets):
    """Our init of network ``name`` on the same key: the same shape and parameters."""
    x, j_shape, j_params, _ = jax_nets[name]
    init, apply = NETS[name][0](xstax)
    x_shape, x_params = init(xform.random.PRNGKey(3), NETS[name][1])
    assert _ints(x_shape) == _ints(j_shape)
    assert len(jax.tree.leaves(j_params)) > 0
    _assert_trees_close(x_params, j_params, f"{name}: params")
    return x_shape, x_params, apply


def test_mixed_network_and_its_gradient_match_jax_under_jit(jax_nets):
    x_shape, x_params, apply = _init_matches_jax("mixed", jax_nets)
    x, _, _, ((j_loss, j_out), j_grads) = jax_nets["mixed"]
    (x_loss, x_out), x_grads = xform.jit(xform.value_and_grad(
        _loss_and_output(apply, xnp), has_aux=True))(x_params, x, xform.random.PRNGKey(5))
    assert [o.shape for o in x_out] == list(_ints(x_shape))
    _assert_trees_close(x_out, j_out, "mixed: outputs")
    _assert_trees_close(x_loss, j_loss, "mixed: loss", atol=1e-5)
    _assert_trees_close(x_grads, j_grads, "mixed: grads", rtol=1e-4, atol=1e-5)


def test_cnn_matches_jax_eagerly_in_both_dropout_modes(jax_nets):
    x_shape, x_params, apply = _init_matches_jax("cnn", jax_nets)
    x, _, _, want = jax_nets["cnn"]
    train = apply(x_params, x, rng=xform.random.PRNGKey(5))          # op by op
    assert train.shape == _ints(x_shape)
    _assert_trees_close(train, want, "cnn: outputs")
    test = _cnn(xstax, mode="test")[1](x_params, x)   # no key needed (JAX's asks for one)
    assert test.shape == train.shape and not np.allclose(np.asarray(train), np.asarray(test))
    # dropout alone: it keeps a `rate` fraction, scaled by 1/rate, as JAX's does
    ones = np.ones((64,), np.float32)
    dropped = np.asarray(xstax.Dropout(0.5)[1]((), ones, rng=xform.random.PRNGKey(1)))
    assert set(np.unique(dropped)) == {0.0, 2.0}
    np.testing.assert_array_equal(
        dropped, np.asarray(jstax.Dropout(0.5)[1]((), ones, rng=jax.random.PRNGKey(1))))
    np.testing.assert_array_equal(
        np.asarray(xstax.Dropout(0.5, mode="test")[1]((), ones)), ones)


def test_mlp_training_with_adam_matches_jax():
    # 4 features, 4 hidden units, 4 classes: one weight shape, one bias shape
    x = rng.normal(size=(16, 4)).astype(np.float32)
    labels = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=16)]

    def train(stax, opt, np_, jit, key):
        init, apply = stax.serial(stax.Dense(4), stax.Relu, stax.Dense(4), stax.Tanh,
                                  stax.Dense(4), stax.LogSoftmax)
        _, params = init(key, (-1, 4))
        opt_init, opt_update, get_params = opt.adam(1e-2)

        def loss(p):
            return -np_.mean(np_.sum(apply(p, x) * labels, axis=1))

        @jit
        def step(i, state):
            value, grads = (jax if np_ is jjnp else xform).value_and_grad(loss)(
                get_params(state))
            return value, opt_update(i, grads, state)
        state, losses = opt_init(params), []
        for i in range(20):
            value, state = step(i, state)
            losses.append(float(value))
        return np.array(losses), get_params(state)

    want, j_params = train(jstax, jopt, jjnp, jax.jit, jax.random.PRNGKey(0))
    got, x_params = train(xstax, xopt, xnp, xform.jit, xform.random.PRNGKey(0))
    assert want[-1] < want[0] - 0.1                      # it trains
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    _assert_trees_close(x_params, j_params, "trained params", rtol=1e-4, atol=1e-4)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"Conv: padding must be 'SAME', 'SAME_LOWER', "
                                         r"'VALID' or a sequence of 2 \(low, high\) pairs"):
        xstax.Conv(3, (3, 3), padding="HALF")
    with pytest.raises(ValueError, match=r"GeneralConv: padding .* got \[\(1, 1\)\]"):
        xstax.GeneralConv(("NCHW", "OIHW", "NCHW"), 3, (3, 3), padding=[(1, 1)])
    with pytest.raises(ValueError, match=r"ConvTranspose: padding"):
        xstax.ConvTranspose(3, (3, 3), padding=None)
    with pytest.raises(ValueError, match=r"MaxPool: padding must be 'SAME', 'SAME_LOWER' "
                                         r"or 'VALID', got 'full'"):
        xstax.MaxPool((2, 2), padding="full")
    with pytest.raises(ValueError, match=r"AvgPool: padding"):
        xstax.AvgPool((2, 2), padding=[(0, 1), (0, 1)])
    init, apply = xstax.serial(xstax.Dense(2), xstax.Dropout(0.5))
    _, params = init(xform.random.PRNGKey(0), (1, 3))
    with pytest.raises(ValueError, match=r"Dropout: apply_fun needs a PRNG key"):
        apply(params, np.ones((1, 3), np.float32))
