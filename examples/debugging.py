"""Seeing inside compiled code: debug.print in a jitted gradient through a scan, and
debug_nans naming the line that made a NaN.

    python examples/debugging.py

A damped pendulum is integrated with a `lax.scan` of semi-implicit Euler steps; the
gradient of the final angle with respect to the damping is taken under `jit`.  The
`debug.print` in the step runs once per step, in order, with the forward values, even
though the program is compiled and differentiated.  Then a loss with a bug (the log of
a value that can go negative) is run with `debug_nans` on: the error names `log` and the
line below that calls it.
"""
import xform
import xform.numpy as jnp
from xform import lax

DT = 0.1


def final_angle(damping, theta0=1.0, steps=5):
    def step(state, i):
        theta, omega = state
        xform.debug.print("step {i}: theta={t:.4f} omega={w:.4f}", i=i, t=theta, w=omega,
                          ordered=True)
        omega = omega - DT * (jnp.sin(theta) + damping * omega)
        return (theta + DT * omega, omega), None
    (theta, _), _ = lax.scan(step, (theta0, 0.0), jnp.arange(steps))
    return theta


def buggy_loss(damping):
    theta = final_angle(damping, theta0=3.0, steps=2)
    return jnp.log(theta - 2.999)        # negative: the pendulum has already swung back


def main():
    g = xform.jit(xform.grad(final_angle))(0.5)
    print(f"d(final angle)/d(damping) = {float(g):.6f}")

    with xform.debug_nans(True):
        try:
            xform.jit(buggy_loss)(0.5)
        except FloatingPointError as e:
            print("debug_nans caught it:", str(e).splitlines()[0])


if __name__ == "__main__":
    main()
