"""Logistic regression by Newton's method, started at w = 0.

    python examples/newton_logreg.py [--check-jax]

Each step solves H(w) dw = -g(w) with the exact Hessian from `xform.hessian`. At w = 0
every logit is 0, which is where `softplus` (the loss's log(1 + e^z)) has its tie between
the two terms of logaddexp: its second derivative there must be 1/4, or the Hessian is
wrong at the very first step. With `--check-jax` the same iterates are computed with JAX
and compared step by step.
"""
import argparse
import sys

import numpy as np

import xform
import xform.numpy as jnp


def make_data(n=200, d=3, seed=0):
    """A separable-ish problem with known weights (and an intercept column)."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(size=(n, d)), np.ones((n, 1))], axis=1).astype(np.float32)
    w_true = np.array([1.5, -2.0, 0.5, 0.25], np.float32)[: d + 1]
    p = 1 / (1 + np.exp(-x @ w_true))
    y = (rng.uniform(size=n) < p).astype(np.float32)
    return x, y, w_true


def newton(m, x, y, steps=8, ridge=1e-3):
    """Newton iterates of the ridge-regularised logistic loss, written over a library `m`
    (xform or jax): returns the list of iterates w_0 = 0, w_1, ..."""
    np_ = m.numpy

    def loss(w):
        z = x @ w
        # -log p(y | x) = softplus(z) - y z
        return np_.mean(m.nn.softplus(z) - y * z) + 0.5 * ridge * np_.sum(w * w)

    @m.jit
    def step(w):
        g = m.grad(loss)(w)
        h = m.hessian(loss)(w)
        return w - np_.linalg.solve(h, g), loss(w)

    w = np_.zeros(x.shape[1], np_.float32)
    ws, losses = [w], []
    for _ in range(steps):
        w, value = step(w)
        ws.append(w)
        losses.append(float(value))
    return ws, losses


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--check-jax", action="store_true",
                    help="run the same iterates with JAX and compare them")
    a = ap.parse_args(argv)
    x, y, w_true = make_data()
    ws, losses = newton(xform, jnp.asarray(x), jnp.asarray(y), a.steps)
    for i, (w, value) in enumerate(zip(ws[1:], losses), 1):
        print(f"step {i:2d}  loss {value:.6f}  w = "
              + " ".join(f"{v:+.4f}" for v in np.asarray(w)))
    print("true weights          w = " + " ".join(f"{v:+.4f}" for v in w_true))
    if a.check_jax:
        import jax
        import jax.numpy as jjnp
        jws, _ = newton(jax, jjnp.asarray(x), jjnp.asarray(y), a.steps)
        worst = max(float(np.max(np.abs(np.asarray(u) - np.asarray(v)))) for u, v in zip(ws, jws))
        print(f"largest difference from JAX's iterates: {worst:.2e}")
        if worst > 1e-4:
            print("the iterates differ from JAX's", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
