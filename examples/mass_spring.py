"""Recover the mass, stiffness and damping of a driven mass-spring system from a noisy
observed trajectory, by gradient descent through a differentiable simulation.

    m x'' + c x' + k x = F0 cos(omega_d t)

The simulation is one ``lax.scan`` of RK4 steps (the time grid is the scanned input), so
``jit(value_and_grad(loss))`` compiles one loop and its reverse, whatever the number of
steps.  The "observed" positions come from the true parameters plus Gaussian noise drawn
with ``xform.random``; Adam (written out below) fits the log-parameters.  The known
driving force is what makes the mass identifiable: a free oscillation only reveals k/m
and c/m.

    python examples/mass_spring.py                 # ~300 Adam steps, saves mass_spring.png
    python examples/mass_spring.py --steps 120 --plot none

The plot (observed vs fitted trajectory, and the loss curve) needs matplotlib, an optional
dependency: ``pip install -e ".[examples]"``.
"""
import argparse
import time

import numpy as np

import xform
import xform.numpy as jnp
from xform import lax

TRUE = {"stiffness": 4.0, "damping": 0.5, "mass": 1.3}
GUESS = {"stiffness": 2.0, "damping": 1.5, "mass": 0.8}
NAMES = tuple(TRUE)
DT, N_STEPS = 0.05, 400            # 20 s of simulated time
F0, OMEGA_D = 1.0, 1.3             # the known driving force
NOISE = 0.02                       # std of the observation noise


def simulate(log_params, x0=1.0, v0=0.0):
    """Positions at t = DT, 2 DT, ..., N_STEPS DT (one RK4 step per scan iteration)."""
    k, c, m = jnp.exp(log_params[0]), jnp.exp(log_params[1]), jnp.exp(log_params[2])

    def accel(x, v, t):
        return (F0 * jnp.cos(OMEGA_D * t) - c * v - k * x) / m

    def rk4_step(state, t):
        x, v = state
        a1 = accel(x, v, t)
        x2, v2 = x + 0.5 * DT * v, v + 0.5 * DT * a1
        a2 = accel(x2, v2, t + 0.5 * DT)
        x3, v3 = x + 0.5 * DT * v2, v + 0.5 * DT * a2
        a3 = accel(x3, v3, t + 0.5 * DT)
        x4, v4 = x + DT * v3, v + DT * a3
        a4 = accel(x4, v4, t + DT)
        x = x + DT / 6.0 * (v + 2.0 * v2 + 2.0 * v3 + v4)
        v = v + DT / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
        return (x, v), x

    times = jnp.arange(N_STEPS, dtype=jnp.float32) * DT
    _, xs = lax.scan(rk4_step, (jnp.asarray(x0, jnp.float32), jnp.asarray(v0, jnp.float32)),
                     times)
    return xs


def loss(log_params, observed):
    return jnp.mean((simulate(log_params) - observed) ** 2)


def adam(grad_fn, params, steps, lr=0.05, b1=0.9, b2=0.999, eps=1e-8, report=None):
    """Plain Adam; ``grad_fn(params) -> (loss, grad)``.  Returns (params, loss history)."""
    mom, vel, history = jnp.zeros_like(params), jnp.zeros_like(params), []
    for i in range(1, steps + 1):
        value, g = grad_fn(params)
        mom = b1 * mom + (1 - b1) * g
        vel = b2 * vel + (1 - b2) * g * g
        params = params - lr * (mom / (1 - b1 ** i)) / (jnp.sqrt(vel / (1 - b2 ** i)) + eps)
        history.append(float(value))
        if report is not None:
            report(i, history[-1], params)
    return params, history


def _fmt(values) -> str:
    return "  ".join(f"{n}={float(v):.4f}" for n, v in zip(NAMES, values))


def save_plot(path, observed, fitted, history):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"note: matplotlib is not installed, so no plot was saved to {path} "
              f"(pip install -e \".[examples]\")")
        return
    t = np.arange(1, N_STEPS + 1) * DT
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax1.plot(t, observed, ".", ms=3, color="0.5", label="observed (noisy)")
    ax1.plot(t, fitted, "-", color="C3", label="fitted model")
    ax1.set(xlabel="time [s]", ylabel="position", title="driven mass-spring system")
    ax1.legend()
    ax2.semilogy(np.arange(1, len(history) + 1), history)
    ax2.set(xlabel="Adam step", ylabel="mean squared error", title="loss")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"saved {path}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300, help="Adam steps (default 300)")
    ap.add_argument("--lr", type=float, default=0.05, help="Adam learning rate")
    ap.add_argument("--plot", default="mass_spring.png",
                    help="where to save the PNG, or 'none' (default mass_spring.png)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the observation noise")
    args = ap.parse_args(argv)

    true = np.log(np.array([TRUE[n] for n in NAMES], np.float32))
    clean = simulate(jnp.asarray(true))
    noise = NOISE * xform.random.normal(xform.random.PRNGKey(args.seed), clean.shape)
    observed = clean + noise
    print(f"observed {N_STEPS} positions (RK4, dt={DT}) with noise std {NOISE}")

    value_and_grad = xform.jit(xform.value_and_grad(loss))
    params = jnp.asarray(np.log(np.array([GUESS[n] for n in NAMES], np.float32)))
    t0 = time.perf_counter()
    value_and_grad(params, observed)[0].block_until_ready()
    print(f"trace + differentiate + compile jit(value_and_grad(loss)): "
          f"{time.perf_counter() - t0:.2f} s")

    every = max(1, args.steps // 10)

    def report(i, value, p):
        if i == 1 or i % every == 0 or i == args.steps:
            print(f"step {i:4d}  loss {value:.3e}  {_fmt(np.exp(np.asarray(p)))}", flush=True)

    t0 = time.perf_counter()
    params, history = adam(lambda p: value_and_grad(p, observed), params, args.steps,
                           lr=args.lr, report=report)
    print(f"{args.steps} Adam steps in {time.perf_counter() - t0:.2f} s")
    fitted = np.exp(np.asarray(params))
    print(f"true    {_fmt(TRUE.values())}")
    print(f"fitted  {_fmt(fitted)}")
    if args.plot != "none":
        save_plot(args.plot, np.asarray(observed), np.asarray(simulate(params)), history)
    return fitted


if __name__ == "__main__":
    main()
