"""examples/mlp.py runs end to end and learns the spirals (a subprocess, as a user runs it)."""
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_mlp_example_trains(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    png = tmp_path / "boundary.png"
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "mlp.py"), "--epochs", "25",
                           "--png", str(png)], capture_output=True, text=True, env=env,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    epochs = re.findall(r"^epoch +(\d+) +loss ([\d.]+) +train accuracy ([\d.]+)", proc.stdout, re.M)
    assert [int(e) for e, _, _ in epochs] == list(range(1, 26)), proc.stdout[-2000:]
    losses = [float(l) for _, l, _ in epochs]
    assert losses[-1] < losses[0] / 3, losses
    final = float(re.search(r"final training accuracy: ([\d.]+)", proc.stdout).group(1))
    assert final > 0.93, proc.stdout[-2000:]
    try:
        import matplotlib  # noqa: F401
        assert png.exists() and png.stat().st_size > 0
    except ImportError:
        assert "matplotlib is not installed" in proc.stdout
