"""Run test code in a subprocess that sees 8 virtual CPU devices.

The main test process keeps one device (``XLA_FLAGS`` is read once, when the CPU client
starts), so multi-device checks run in a worker started with
``--xla_force_host_platform_device_count=8``.  One worker serves a whole test module
(start-up and imports cost seconds); each test sends it a snippet and gets back what
the snippet printed, or the worker's traceback as the test's failure.

    from multidevice import devices8   # the fixture (tests/ is on sys.path)

    def test_psum(devices8):
        devices8('''
            mesh = make_mesh((2, 4), ("x", "y"))
            ...
            assert ...
        ''')

Snippets run in one namespace that already holds ``np``, ``jax``, ``jnp``, ``xf`` (xform),
``xnp`` (xform.numpy) and ``close`` (tests.oracle.close); names a snippet defines stay
for the next one of the same module.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_WORKER = r'''
import json, sys, traceback, io, contextlib
ns = {}
exec("""
import numpy as np
import jax, jax.numpy as jnp
import xform as xf
import xform.numpy as xnp
from tests.oracle import close
""", ns)
for line in sys.stdin:
    code = json.loads(line)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "<snippet>", "exec"), ns)
        reply = {"ok": True, "out": out.getvalue()}
    except BaseException:
        reply = {"ok": False, "out": out.getvalue(), "tb": traceback.format_exc()}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
'''


class Worker:
    """A subprocess with ``n`` virtual CPU devices that runs snippets on request."""

    def __init__(self, n: int = 8, timeout: float = 300):
        env = dict(os.environ)
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                            f" --xla_force_host_platform_device_count={n}").strip()
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        env.setdefault("JAX_PLATFORMS", "cpu")
        self.timeout = timeout
        self.n = n
        self.proc = subprocess.Popen([sys.executable, "-u", "-c", _WORKER], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def __call__(self, code: str) -> str:
        import select
        if self.proc.poll() is not None:
            raise RuntimeError(f"multi-device worker exited: {self.proc.stderr.read()[-3000:]}")
        self.proc.stdin.write(json.dumps(textwrap.dedent(code)) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        if not ready:
            self.close()
            raise TimeoutError(f"multi-device snippet ran over {self.timeout} s:\n{code}")
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read()[-3000:]
            raise RuntimeError(f"multi-device worker died running:\n{code}\n--- stderr ---\n{err}")
        reply = json.loads(line)
        if not reply["ok"]:
            pytest.fail(f"in the {self.n}-device worker:\n{reply['tb']}\n--- printed ---\n"
                        f"{reply['out']}", pytrace=False)
        return reply["out"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module")
def devices8():
    w = Worker(8)
    try:
        yield w
    finally:
        w.close()
