"""Recover the parameters of a damped oscillator from an observed trajectory.

    x'' + 2 zeta omega x' + omega^2 x = 0

integrated with (semi-implicit) Euler steps in a plain, unrolled Python loop.  The
loss is the squared distance to the observed positions; xform.jit(xform.grad(loss))
differentiates through every step (JVP, partial evaluation, transposition: the
whole reverse pass is one jaxpr compiled by XLA), and gradient descent fits
log(omega) and log(zeta).  (A long unrolled scalar loop is slow for XLA to
compile; lax.scan is the tool for long simulations.)
"""
import time

import numpy as np

import xform
import xform.numpy as jnp

STEPS, DT = 50, 0.12


def simulate(params, x0=1.0, v0=0.0):
    omega, zeta = jnp.exp(params[0]), jnp.exp(params[1])
    stiffness, damping = omega ** 2, 2.0 * zeta * omega
    x, v = jnp.asarray(x0), jnp.asarray(v0)
    xs = []
    for _ in range(STEPS):            # unrolled: one Euler step per iteration
        v = v - DT * (stiffness * x + damping * v)
        x = x + DT * v
        xs.append(x)
    return jnp.stack(xs)


def loss(params, observed):
    return jnp.mean((simulate(params) - observed) ** 2)


def main():
    true = np.log(np.array([2.0, 0.15], np.float32))
    observed = simulate(jnp.asarray(true))
    params = jnp.asarray(np.log(np.array([1.6, 0.4], np.float32)))

    value_and_grad = xform.jit(xform.value_and_grad(loss))
    t0 = time.perf_counter()
    value_and_grad(params, observed)[0].block_until_ready()
    print(f"trace + differentiate + compile: {time.perf_counter() - t0:.2f} s "
          f"({len(xform.make_jaxpr(xform.grad(loss))(params, observed).eqns)} equations)")
    lr = 0.25
    for step in range(151):
        value, g = value_and_grad(params, observed)
        params = params - lr * g
        if step % 25 == 0:
            omega, zeta = np.exp(np.asarray(params))
            print(f"step {step:3d}  loss {float(value):.3e}  omega {omega:.4f}  zeta {zeta:.4f}")
    omega, zeta = np.exp(np.asarray(params))
    print(f"fitted omega={omega:.4f} zeta={zeta:.4f}  (true omega=2.0000 zeta=0.1500)")


if __name__ == "__main__":
    main()
