"""Sharding (issue 14): a data-parallel MLP training step on 8 devices, xform vs JAX.

``python -m bench`` runs with one device (``XLA_FLAGS`` is read once, when the CPU
client starts), so each benchmark here starts a worker process with
``--xla_force_host_platform_device_count=8`` that runs :func:`worker` (this module, via
``python -c``) and prints its results as JSON.  The worker times both libraries in the
same process with the harness's own :class:`Timer` (samples alternate x j, j x, ...),
after checking that both compute the same losses over a few steps.

The harness's ``kind="ratio"`` times thunks in *this* process, so these are
``kind="time"`` rows:

* steady state: the value is the ratio ``median(xform) / median(JAX)`` of the seconds
  per step (unit ``×``, target 1.0); the two medians are in the note and details;
* compile: the value is the median seconds of a first call of a fresh ``jit`` (trace,
  lower, SPMD-partition, compile, run once) for xform, with JAX's alongside and the
  ratio in the ratio column; informational.

The step: ``value_and_grad`` of softmax cross-entropy of a 64-256-256-10 tanh MLP and a
plain SGD update; the batch (512) is split over a 1-D mesh of 8 devices ("data"), the
parameters are replicated; ``jit(step, in_shardings=(params, batch, batch),
out_shardings=(params, replicated))``, so the gradients are all-reduced inside the step.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from .harness import Case, Context, Measurement, Pair, benchmark

N_DEVICES = 8
SIZES = (64, 256, 256, 10)
BATCH = 512
LR = 1e-3
_MARK = "BENCH_SHARDING_JSON "
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- the worker (runs in the 8-device subprocess) ----------------------------------------


def _make_step(lib, np_mod):
    """A fresh SGD step function (new object on every call: nothing can reuse a trace)."""
    def loss(params, x, y):
        *hidden, (w_out, b_out) = params
        for w, b in hidden:
            x = np_mod.tanh(x @ w + b)
        logits = x @ w_out + b_out
        return -np_mod.mean(np_mod.sum(y * lib.nn.log_softmax(logits), axis=1))

    def step(params, x, y):
        value, grads = lib.value_and_grad(loss)(params, x, y)
        params = lib.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)
        return params, value
    return step


def _host_data():
    import numpy as np
    rng = np.random.default_rng(14)
    params = [((rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32),
               (rng.standard_normal(n) * 0.1).astype(np.float32))
              for m, n in zip(SIZES[:-1], SIZES[1:])]
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], BATCH)]
    return params, x, y


def _setup(lib, np_mod, mesh, named, spec):
    """Sharded params and batch, and the jitted step factory for one library."""
    rep, data = named(mesh, spec()), named(mesh, spec("data"))
    params, x, y = _host_data()
    params = lib.device_put(params, rep)
    x, y = lib.device_put(x, data), lib.device_put(y, data)
    param_sh = [(rep, rep) for _ in params]

    def jitted(fn):
        return lib.jit(fn, in_shardings=(param_sh, data, data), out_shardings=(param_sh, rep))
    return params, x, y, jitted


def worker(what: str, quick: bool) -> dict:
    import numpy as np
    import jax
    import jax.numpy as jnp
    from jax.sharding import Mesh as JMesh, NamedSharding as JNS, PartitionSpec as JP

    import xform
    import xform.numpy as xnp
    from xform.sharding import NamedSharding, P

    assert len(xform.devices()) == N_DEVICES and len(jax.devices()) == N_DEVICES
    x_mesh = xform.make_mesh((N_DEVICES,), ("data",))
    j_mesh = JMesh(np.array(jax.devices()), ("data",))
    xp, xx, xy, xjit = _setup(xform, xnp, x_mesh, NamedSharding, P)
    jp, jx, jy, jjit = _setup(jax, jnp, j_mesh, JNS, JP)

    # the same losses over a few steps, and the parameters keep their layout
    xstep, jstep = xjit(_make_step(xform, xnp)), jjit(_make_step(jax, jnp))
    a, b, xl, jl = xp, jp, [], []
    for _ in range(5):
        a, la = xstep(a, xx, xy)
        b, lb = jstep(b, jx, jy)
        xl.append(float(la))
        jl.append(float(lb))
    np.testing.assert_allclose(xl, jl, rtol=1e-5, err_msg="xform and JAX losses differ")
    assert all(p.sharding == NamedSharding(x_mesh, P()) for p in xform.tree_util.tree_leaves(a))
    assert len(xx.addressable_shards) == N_DEVICES

    ctx = Context(quick=quick)
    out = {"losses_xform": xl, "losses_jax": jl}
    if what == "steady":
        xs, js = [xp], [jp]

        def run_x():
            xs[0], loss = xstep(xs[0], xx, xy)
            return xs[0], loss

        def run_j():
            js[0], loss = jstep(js[0], jx, jy)
            return js[0], loss
        ctx.repeats = 5 if quick else 21        # 2 cores: noisy, take many samples
        sx, sj = ctx.compare(Pair(xform=run_x, jax=run_j))
    elif what == "compile":
        ctx.repeats = 3 if quick else 9
        sx, sj = ctx.compare(Pair(
            xform=Case(lambda f: xjit(f)(xp, xx, xy), setup=lambda: _make_step(xform, xnp),
                       cold=True),
            jax=Case(lambda f: jjit(f)(jp, jx, jy), setup=lambda: _make_step(jax, jnp),
                     cold=True)))
    else:
        raise ValueError(what)
    out.update(xform=sx.median, jax=sj.median, xform_stats=sx.to_json(),
               jax_stats=sj.to_json(), ratio=sx.median / sj.median,
               ratio_of_mins=min(sx.samples) / min(sj.samples))
    return out


def _run_worker(what: str, ctx: Context) -> dict:
    """Run :func:`worker` in a process with 8 virtual CPU devices; its JSON result."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                        f" --xla_force_host_platform_device_count={N_DEVICES}").strip()
    env["PYTHONPATH"] = _ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("JAX_PLATFORMS", "cpu")
    code = ("import json, sys; from bench.bench_sharding import worker, _MARK; "
            f"print(_MARK + json.dumps(worker({what!r}, {ctx.quick!r})))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=_ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"the 8-device worker failed:\n{proc.stderr[-4000:]}")
    for line in proc.stdout.splitlines():
        if line.startswith(_MARK):
            return json.loads(line[len(_MARK):])
    raise RuntimeError(f"no result from the 8-device worker:\n{proc.stdout[-2000:]}")


def _ms(s):
    return f"{s * 1e3:.3g} ms"


@benchmark(f"data-parallel MLP step, batch {BATCH} over {N_DEVICES} devices, steady "
           "(xform / JAX)", target=1.0, kind="time", unit="×")
def dp_step_steady(ctx):
    """jit(SGD step, in/out_shardings), batch sharded, params replicated: time per step."""
    r = _run_worker("steady", ctx)
    return Measurement(r["ratio"], "×", details=r,
                       note=f"ratio of median seconds per step: xform {_ms(r['xform'])}, "
                            f"JAX {_ms(r['jax'])} (ratio of mins {r['ratio_of_mins']:.2f}); "
                            f"measured in an 8-device subprocess")


@benchmark(f"data-parallel MLP step, batch {BATCH} over {N_DEVICES} devices, compile "
           "(first call of a fresh jit)", kind="time", unit="s")
def dp_step_compile(ctx):
    """A fresh step function per sample: trace, lower, partition, compile and run once."""
    r = _run_worker("compile", ctx)
    return Measurement(r["xform"], "s", r["jax"], details=r,
                       note="seconds of the first call of a fresh sharded jit (median); "
                            "measured in an 8-device subprocess")
