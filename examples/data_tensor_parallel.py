"""Train an MLP data-parallel x tensor-parallel on 8 (virtual CPU) devices, with xform.

The 8 devices form a 2 x 4 mesh with axes ("data", "model"):

* the batch is split over "data": each row of the mesh sees half of the examples;
* the hidden layer is split over "model", Megatron style: the first weight matrix by
  columns and the second by rows, so each device computes a quarter of the hidden units
  and XLA adds the partial outputs of the second matmul across "model".

The training step is an ordinary ``xform.jit`` of plain SGD; ``in_shardings`` and
``out_shardings`` say how its arguments and results are laid out, and XLA's SPMD
partitioner inserts the communication.  The parameters come back with the shardings
they went in with, so step after step nothing moves but the batch.

The script checks that every step's loss equals the loss of the same training on one
device (same initial parameters, same data), and prints which device holds which piece
of each parameter.

    python examples/data_tensor_parallel.py [--steps N]

On a machine without 8 accelerators the devices are virtual: the script asks XLA's CPU
backend for 8 of them (``--xla_force_host_platform_device_count=8``) before xform starts.
"""
import os

# XLA reads this once, when the first device is made: it must be set before xform starts.
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_force_host_platform_device_count=8").strip()

import argparse

import numpy as np

import xform
import xform.numpy as jnp
from xform import nn, random
from xform.sharding import NamedSharding, P

D_IN, HIDDEN, D_OUT, BATCH = 16, 64, 4, 32


def init_params(key):
    """{"w1": (16, 64), "b1": (64,), "w2": (64, 4), "b2": (4,)}: He-normal weights."""
    k1, k2 = random.split(key)
    init = nn.initializers.he_normal()
    return {"w1": init(k1, (D_IN, HIDDEN)), "b1": jnp.zeros(HIDDEN),
            "w2": init(k2, (HIDDEN, D_OUT)), "b2": jnp.zeros(D_OUT)}


def synthetic_batches(key, steps):
    """``steps`` regression batches (x, y) with y a fixed smooth function of x plus noise."""
    k_true, k_x, k_noise = random.split(key, 3)
    w_true = random.normal(k_true, (D_IN, D_OUT)) / jnp.sqrt(D_IN)
    x = random.normal(k_x, (steps, BATCH, D_IN))
    y = jnp.sin(x @ w_true) + 0.05 * random.normal(k_noise, (steps, BATCH, D_OUT))
    return [(x[i], y[i]) for i in range(steps)]


def loss_fn(params, x, y):
    """Mean squared error of a one-hidden-layer tanh MLP."""
    h = jnp.tanh(x @ params["w1"] + params["b1"])
    pred = h @ params["w2"] + params["b2"]
    return jnp.mean((pred - y) ** 2)


def sgd_step(params, x, y, lr=0.1):
    loss, grads = xform.value_and_grad(loss_fn)(params, x, y)
    params = xform.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return params, loss


def shardings(mesh):
    """How each parameter and each batch array is laid out over the mesh."""
    def ns(*spec):
        return NamedSharding(mesh, P(*spec))
    params = {"w1": ns(None, "model"),    # columns split: each device has 16 of the 64 units
              "b1": ns("model"),          # ... and their biases
              "w2": ns("model", None),    # rows split: the same 16 hidden units
              "b2": ns()}                 # replicated on all 8 devices
    batch = ns("data", None)              # examples split over the "data" axis
    return params, batch


def train_sharded(params, batches, mesh):
    param_sh, batch_sh = shardings(mesh)
    step = xform.jit(sgd_step,
                     in_shardings=(param_sh, batch_sh, batch_sh),
                     out_shardings=(param_sh, NamedSharding(mesh, P())))
    params = xform.device_put(params, param_sh)
    losses = []
    for x, y in batches:
        params, loss = step(params, xform.device_put(x, batch_sh), xform.device_put(y, batch_sh))
        losses.append(float(loss))
    # the parameters kept their layout through every step
    for name, p in params.items():
        assert p.sharding == param_sh[name], (name, p.sharding)
    return params, losses


def train_one_device(params, batches):
    step = xform.jit(sgd_step)
    losses = []
    for x, y in batches:
        params, loss = step(params, x, y)
        losses.append(float(loss))
    return params, losses


def fmt_index(index):
    """(slice(0, 16), slice(None)) -> '[0:16, :]'."""
    parts = []
    for s in index:
        parts.append(":" if s.start is None and s.stop is None else f"{s.start or 0}:{s.stop}")
    return "[" + ", ".join(parts) + "]"


def print_shard_table(params, mesh):
    """One row per device: its place in the mesh and the slice of each parameter it holds."""
    names = ["w1", "b1", "w2", "b2"]
    place = {d.id: tuple(int(i) for i in pos) for pos, d in np.ndenumerate(mesh.devices)}
    by_device = {n: {s.device.id: s.index for s in params[n].addressable_shards} for n in names}
    print("\nwhich device holds which piece of each parameter:")
    print(f"{'device':>6}  {'(data, model)':>13}  "
          + "  ".join(f"{n + str(tuple(params[n].shape)):>12}" for n in names))
    for dev in sorted(place):
        print(f"{dev:>6}  {str(place[dev]):>13}  "
              + "  ".join(f"{fmt_index(by_device[n][dev]):>12}" for n in names))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()

    n_dev = len(xform.devices())
    if n_dev < 8:
        raise SystemExit(f"this example needs 8 devices, found {n_dev}; run it in a fresh "
                         f"process with XLA_FLAGS=--xla_force_host_platform_device_count=8")
    mesh = xform.make_mesh((2, 4), ("data", "model"))
    print(f"{n_dev} devices; mesh {dict(mesh.shape)}")

    k_init, k_data = random.split(random.PRNGKey(0))
    params0 = init_params(k_init)
    batches = synthetic_batches(k_data, args.steps)

    params, losses = train_sharded(params0, batches, mesh)
    _, reference = train_one_device(params0, batches)

    print(f"\n{'step':>4}  {'loss (2x4 mesh)':>16}  {'loss (1 device)':>16}")
    for i, (mine, ref) in enumerate(zip(losses, reference), 1):
        print(f"{i:>4}  {mine:16.6f}  {ref:16.6f}")
    np.testing.assert_allclose(losses, reference, rtol=1e-5)
    print(f"the losses of all {args.steps} steps equal single-device training (rtol 1e-5)")

    print_shard_table(params, mesh)


if __name__ == "__main__":
    main()
