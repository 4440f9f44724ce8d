"""The examples run as scripts (in a subprocess, as a user would run them) and do what they
say: examples/mass_spring.py recovers the physical parameters it was generated with."""
import importlib.util
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_example(name, *args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", name), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _params(line_name, out):
    m = re.search(rf"^{line_name}\s+(.*)$", out, re.M)
    assert m, f"no '{line_name}' line in the output:\n{out}"
    return {k: float(v) for k, v in re.findall(r"(\w+)=([-\d.]+)", m.group(1))}


def test_mass_spring_recovers_the_parameters(tmp_path):
    png = tmp_path / "fit.png"
    out = run_example("mass_spring.py", "--steps", "160", "--plot", str(png), cwd=tmp_path)
    assert re.search(r"^step\s+160\s+loss", out, re.M), out      # progress is printed
    true, fitted = _params("true", out), _params("fitted", out)
    assert set(true) == set(fitted) == {"stiffness", "damping", "mass"}
    for name in true:
        assert abs(fitted[name] - true[name]) <= 0.03 * true[name], (name, true, fitted)
    if importlib.util.find_spec("matplotlib") is None:
        assert "matplotlib is not installed" in out and not png.exists()
    else:
        assert png.exists() and png.stat().st_size > 0


def test_debugging_prints_each_step_and_names_the_nan_line(tmp_path):
    out = run_example("debugging.py", cwd=tmp_path)
    steps = re.findall(r"^step (\d+): theta=", out, re.M)
    assert steps[:5] == ["0", "1", "2", "3", "4"], out   # once per step, in order, under grad
    assert re.search(r"^d\(final angle\)/d\(damping\) = 0\.0154", out, re.M), out
    assert re.search(r"debug_nans caught it: .* in log: .*debugging\.py:\d+ \(buggy_loss\)",
                     out), out


def test_newton_logistic_regression_matches_jax_from_zero(tmp_path):
    """Newton's method from w = 0 needs softplus''(0) = 1/4 (issue 19): the iterates equal
    JAX's, and the loss falls to its minimum."""
    out = run_example("newton_logreg.py", "--check-jax", cwd=tmp_path)
    losses = [float(v) for v in re.findall(r"^step\s+\d+\s+loss\s+([\d.]+)", out, re.M)]
    assert len(losses) == 8 and losses[0] > losses[-1] and abs(losses[-1] - losses[-2]) < 1e-6
    assert "largest difference from JAX's iterates" in out, out
