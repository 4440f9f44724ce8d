"""examples/data_tensor_parallel.py runs as a user runs it (a subprocess with no XLA_FLAGS:
the script asks for its 8 virtual devices itself), matches single-device training step by
step, and prints the Megatron layout of the parameters over the 2 x 4 mesh."""
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_data_tensor_parallel_example(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("XLA_FLAGS", None)
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "data_tensor_parallel.py"),
                           "--steps", "12"], capture_output=True, text=True, env=env,
                          timeout=180, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "8 devices; mesh {'data': 2, 'model': 4}" in out, out
    rows = re.findall(r"^ +(\d+) +([\d.]+) +([\d.]+)$", out, re.M)
    assert [int(s) for s, _, _ in rows] == list(range(1, 13)), out
    sharded = [float(a) for _, a, _ in rows]
    one = [float(b) for _, _, b in rows]
    for a, b in zip(sharded, one):
        assert abs(a - b) <= 2e-6 + 1e-5 * abs(b), (sharded, one)
    assert sharded[-1] < sharded[0] / 2, sharded      # it learns
    assert "equal single-device training (rtol 1e-5)" in out
    # the shard table: w1 split by columns, b1 and w2 (rows) over "model", b2 replicated;
    # the two rows of the mesh hold the same pieces
    for dev in range(8):
        data, model = divmod(dev, 4)
        lo, hi = 16 * model, 16 * model + 16
        cells = [rf"\({data}, {model}\)", rf"\[:, {lo}:{hi}\]", rf"\[{lo}:{hi}\]",
                 rf"\[{lo}:{hi}, :\]", r"\[:\]"]
        assert re.search(rf"^ +{dev} +" + " +".join(cells) + "$", out, re.M), (dev, out)
