"""examples/train_export_serve.py runs as a user runs it: it trains, checkpoints, exports,
and a second process that imports only xform.export serves the same predictions and
input gradients (the script checks them and fails otherwise)."""
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_train_export_serve_example(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "train_export_serve.py"),
                           "--steps", "150", "--dir", str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = proc.stdout
    first, last = map(float, re.search(r"loss ([\d.]+) -> ([\d.]+)", out).groups())
    assert last < first / 5, out                          # it learns
    assert "Exported(serve: (f32[b,1]) -> (f32[b,1])" in out, out     # any batch size
    assert out.count("dy/dx") == 2 and "equal the training process's" in out, out
    assert (tmp_path / "model.xfexp").stat().st_size > 0
    assert (tmp_path / "params.npz").stat().st_size > 0
