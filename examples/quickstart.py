"""xform in one minute: NumPy-style code, its IR, grad, vmap and jit."""
import xform
import xform.numpy as jnp


def predict(w, b, x):
    return jnp.tanh(x @ w + b)


def loss(w, b, x, y):
    return jnp.mean((predict(w, b, x) - y) ** 2)


x = jnp.reshape(jnp.linspace(-1.0, 1.0, 12), (4, 3))
w = jnp.ones((3, 2)) * 0.5
b = jnp.zeros(2)
y = jnp.ones((4, 2))

print("eager loss:", loss(w, b, x, y))
print("\nthe IR of loss (a jaxpr):")
print(xform.make_jaxpr(loss)(w, b, x, y))

grad_w = xform.grad(loss)(w, b, x, y)
print("\nd loss / d w:\n", grad_w)

per_example = xform.vmap(loss, in_axes=(None, None, 0, 0))(w, b, x[:, None], y[:, None])
print("\nper-example losses (vmap):", per_example)

fast_step = xform.jit(lambda w: w - 0.1 * xform.grad(loss)(w, b, x, y))
print("\none jitted gradient step:\n", fast_step(w))
print("\nStableHLO handed to XLA (first lines):")
print("\n".join(xform.jit(loss).lower(w, b, x, y).as_text().splitlines()[:4]))

try:
    jnp.ones((3, 4)) @ jnp.ones((5, 6))
except TypeError as err:
    print("\na deliberate mistake gives:", err)
