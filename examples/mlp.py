"""Train a small MLP classifier on two interleaved spirals, with xform only.

Shows ``xform.random`` (data and initialisation), ``xform.nn`` (activations,
``log_softmax``, initializers), ``value_and_grad`` and ``jit`` on a hand-written Adam
step.  Prints one line per epoch and the final training accuracy; saves the decision
boundary as a PNG when matplotlib is installed (``pip install xform[examples]``).

    python examples/mlp.py [--epochs N] [--png PATH]
"""
import argparse
import time

import numpy as np

import xform
import xform.numpy as jnp
from xform import nn, random


def spirals(key, n_per_class=500, noise=0.15):
    """Two interleaved spirals in the plane: points (2n, 2) and labels (2n,) in {0, 1}."""
    k_radius, k_noise = random.split(key)
    t = jnp.sqrt(random.uniform(k_radius, (n_per_class,))) * 3 * jnp.pi
    arm = jnp.stack([t * jnp.cos(t), t * jnp.sin(t)], axis=1) / (3 * jnp.pi)
    points = jnp.concatenate([arm, -arm]) + noise * random.normal(k_noise, (2 * n_per_class, 2)) / 3
    labels = jnp.concatenate([jnp.zeros(n_per_class, jnp.int32), jnp.ones(n_per_class, jnp.int32)])
    return points, labels


def init_params(key, sizes):
    """One (weights, bias) pair per layer: He-normal weights, zero biases."""
    init = nn.initializers.he_normal()
    keys = random.split(key, len(sizes) - 1)
    return [(init(k, (m, n)), jnp.zeros(n)) for k, m, n in zip(keys, sizes[:-1], sizes[1:])]


def logits(params, x):
    for w, b in params[:-1]:
        x = nn.gelu(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def loss_fn(params, x, y):
    """Mean cross-entropy of the labels under the softmax of the logits."""
    log_p = nn.log_softmax(logits(params, x))
    return -jnp.mean(jnp.take_along_axis(log_p, y[:, None], axis=1))


def adam(lr=3e-3, b1=0.9, b2=0.999, eps=1e-8):
    """A hand-written Adam: ``init(params) -> state``, ``update(grads, state, params)``."""
    def init(params):
        zeros = xform.tree_util.tree_map(jnp.zeros_like, params)
        return 0, zeros, zeros

    def update(grads, state, params):
        step, m, v = state
        step = step + 1
        m = xform.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = xform.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        scale = lr * jnp.sqrt(1 - b2 ** step) / (1 - b1 ** step)
        params = xform.tree_util.tree_map(
            lambda p, m, v: p - scale * m / (jnp.sqrt(v) + eps), params, m, v)
        return params, (step, m, v)
    return init, update


def train(epochs=40, batch_size=100, hidden=64, seed=0):
    key = random.PRNGKey(seed)
    k_data, k_init, k_shuffle = random.split(key, 3)
    x, y = spirals(k_data)
    params = init_params(k_init, [2, hidden, hidden, 2])
    opt_init, opt_update = adam()
    opt_state = opt_init(params)

    @xform.jit
    def step(params, opt_state, xb, yb):
        loss, grads = xform.value_and_grad(loss_fn)(params, xb, yb)
        params, opt_state = opt_update(grads, opt_state, params)
        return params, opt_state, loss

    @xform.jit
    def accuracy(params, x, y):
        return jnp.mean(jnp.argmax(logits(params, x), axis=1) == y)

    n = x.shape[0]
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        k_shuffle, k_epoch = random.split(k_shuffle)
        order = random.permutation(k_epoch, n)
        losses = []
        for i in range(0, n, batch_size):
            batch = order[i:i + batch_size]
            params, opt_state, loss = step(params, opt_state, x[batch], y[batch])
            losses.append(loss)
        acc = float(accuracy(params, x, y))
        print(f"epoch {epoch:3d}  loss {float(jnp.mean(jnp.stack(losses))):.4f}  "
              f"train accuracy {acc:.3f}  ({time.perf_counter() - start:.2f} s)", flush=True)
    return params, x, y, acc


def save_decision_boundary(params, x, y, path):
    """Plot the predicted class over a grid, with the training points, to ``path``."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install xform[examples]): no plot saved")
        return
    grid = np.linspace(-1.4, 1.4, 200, dtype=np.float32)
    gx, gy = np.meshgrid(grid, grid)
    pts = jnp.asarray(np.stack([gx.ravel(), gy.ravel()], axis=1))
    prob = np.asarray(nn.softmax(logits(params, pts))[:, 1]).reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(gx, gy, prob, levels=20, cmap="RdBu", alpha=0.6)
    xs, ys = np.asarray(x), np.asarray(y)
    ax.scatter(xs[:, 0], xs[:, 1], c=ys, cmap="RdBu", s=6, edgecolors="k", linewidths=0.2)
    ax.set_title("xform MLP: decision boundary")
    ax.set_aspect("equal")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"saved the decision boundary to {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--png", default="mlp_decision_boundary.png")
    args = parser.parse_args()
    params, x, y, acc = train(args.epochs)
    print(f"final training accuracy: {acc:.3f}")
    save_decision_boundary(params, x, y, args.png)


if __name__ == "__main__":
    main()
