"""Train -> checkpoint -> export -> serve in another process.

    python examples/train_export_serve.py [--steps 300] [--dir DIR]

1. Trains a small MLP regressor on y = sin(3x) * x with `jit(value_and_grad)` and SGD.
2. Saves the parameters with `xform.serialization.save` (a plain .npz; atomic) and
   restores them, checking shapes and dtypes against the live ones.
3. Exports `predict` with `xform.export` for any batch size (a symbolic dimension `b`): a
   StableHLO artifact with the trained weights inside, serialized to `model.xfexp` (with
   its VJP, so the server can differentiate it).
4. Starts a separate Python process that imports only `xform.export` and NumPy (not this
   file, not the model code), loads the artifact and serves predictions for inputs it is
   sent, whatever their number, and the input sensitivity dy/dx through the exported VJP;
   this process checks its answers against the in-process model.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import xform
import xform.numpy as jnp
from xform import export, serialization

SIZES = (1, 32, 32, 1)


def init(key):
    params = []
    for i, (m, n) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        k = xform.random.fold_in(key, i)
        params.append({"w": xform.random.normal(k, (m, n)) * np.sqrt(1.0 / m),
                       "b": jnp.zeros(n)})
    return params


def predict(params, x):
    h = x
    for layer in params[:-1]:
        h = jnp.tanh(h @ layer["w"] + layer["b"])
    return h @ params[-1]["w"] + params[-1]["b"]


def loss(params, x, y):
    return jnp.mean((predict(params, x) - y) ** 2)


@xform.jit
def step(params, x, y, lr=0.1):
    value, grads = xform.value_and_grad(loss)(params, x, y)
    return xform.tree.map(lambda p, g: p - lr * g, params, grads), value


SERVER = r"""
import json, sys
import numpy as np
from xform import export                      # no model code: only the artifact
exp = export.deserialize(open(sys.argv[1], "rb").read())
assert "train_export_serve" not in sys.modules
print(json.dumps({"ready": str(exp)}), flush=True)
for line in sys.stdin:
    x = np.array(json.loads(line), np.float32).reshape(-1, 1)
    y = exp.call(x)
    # the input sensitivity through the exported VJP: d(sum y)/dx
    (dx,) = exp.vjp().call(x, np.ones_like(y))
    print(json.dumps({"y": np.asarray(y).ravel().tolist(),
                      "dy_dx": np.asarray(dx).ravel().tolist()}), flush=True)
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--dir", default=None, help="where to write the files (default: a temp dir)")
    args = ap.parse_args(argv)
    out_dir = args.dir or tempfile.mkdtemp(prefix="xform-serve-")

    # 1. train
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (256, 1)).astype(np.float32)
    y = (np.sin(3 * x) * x).astype(np.float32)
    params = init(xform.random.key(0))
    first = None
    for i in range(args.steps):
        params, value = step(params, x, y)
        first = float(value) if first is None else first
    final = float(loss(params, x, y))
    print(f"trained {args.steps} steps: loss {first:.4f} -> {final:.4f}")

    # 2. checkpoint, and restore against the live structure
    ckpt = os.path.join(out_dir, "params.npz")
    serialization.save(ckpt, params)
    params = serialization.restore(ckpt, target=params)
    print(f"checkpoint: {ckpt} ({os.path.getsize(ckpt)} bytes)")

    # 3. export predict with the trained weights closed over, for any batch size b
    def serve(x):
        return predict(params, x)
    spec = xform.ShapeDtypeStruct(export.symbolic_shape("b, 1"), np.float32)
    exp = export.export(xform.jit(serve))(spec)
    artifact = os.path.join(out_dir, "model.xfexp")
    with open(artifact, "wb") as f:
        f.write(exp.serialize(vjp_order=1))
    print(f"exported: {exp} -> {artifact} ({os.path.getsize(artifact)} bytes)")

    # 4. serve from another process
    queries = [np.linspace(-1, 1, 8, dtype=np.float32),
               rng.uniform(-1, 1, 5).astype(np.float32)]
    server = subprocess.Popen([sys.executable, "-c", SERVER, artifact], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=out_dir)
    try:
        print(f"server: {json.loads(server.stdout.readline())['ready']}")
        for q in queries:
            server.stdin.write(json.dumps(q.tolist()) + "\n")
            server.stdin.flush()
            answer = json.loads(server.stdout.readline())
            want = np.asarray(predict(params, q.reshape(-1, 1))).ravel()
            want_dx = np.asarray(xform.grad(lambda q: jnp.sum(predict(params, q)))(
                q.reshape(-1, 1))).ravel()
            np.testing.assert_allclose(answer["y"], want, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(answer["dy_dx"], want_dx, rtol=1e-4, atol=1e-5)
            print("  x     " + " ".join(f"{v:7.3f}" for v in q))
            print("  y     " + " ".join(f"{v:7.3f}" for v in answer["y"]))
            print("  dy/dx " + " ".join(f"{v:7.3f}" for v in answer["dy_dx"]))
    finally:
        server.stdin.close()
        server.wait(timeout=60)
    if server.returncode != 0:
        raise SystemExit(f"the server failed (exit {server.returncode})")
    print("served predictions and gradients equal the training process's")


if __name__ == "__main__":
    main()
