"""The house rules of docs/design.md, checked: layers import only downward (import-linter
contracts in pyproject.toml, function-local imports included), and no module grows past
~800 lines unless design.md says why."""
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("primitives", "lowering", "xform")
MAX_LINES = 850   # "~800": a little slack before a module must be split or justified


def _lint_imports() -> pathlib.Path:
    exe = pathlib.Path(sys.executable).parent / "lint-imports"
    assert exe.exists(), "import-linter is a test dependency: pip install -e '.[test]'"
    return exe


def test_import_contracts_hold():
    r = subprocess.run([str(_lint_imports()), "--no-cache"], cwd=ROOT, capture_output=True,
                       text=True, timeout=600, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "BROKEN" not in r.stdout and " KEPT" in r.stdout


def test_an_upward_import_breaks_a_contract(tmp_path):
    """The contracts can fail: in a copy of the tree, a lax module that imports the numpy
    surface inside a function is reported."""
    import shutil
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "xform" / "lax" / "_contract_probe.py").write_text(
        "def f():\n    from .. import numpy  # an upward, function-local import\n")
    r = subprocess.run([str(_lint_imports()), "--no-cache"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600, env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert r.returncode != 0
    assert "xform.lax._contract_probe -> xform.numpy" in r.stdout, r.stdout[-3000:]


def _long_module_reasons() -> set:
    """Modules design.md lists (by path, in backticks) under 'Long modules'."""
    text = (ROOT / "docs" / "design.md").read_text()
    m = re.search(r"^## Long modules\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    return set(re.findall(r"`([\w/]+\.py)`", m.group(1))) if m else set()


def test_modules_are_short_or_explained():
    allowed = _long_module_reasons()
    long = []
    for pkg in PACKAGES:
        for p in sorted((ROOT / pkg).rglob("*.py")):
            rel = p.relative_to(ROOT).as_posix()
            n = sum(1 for _ in p.open())
            if n > MAX_LINES and rel not in allowed:
                long.append(f"{rel}: {n} lines")
    assert not long, ("modules over ~800 lines with no reason under 'Long modules' in "
                      "docs/design.md:\n  " + "\n  ".join(long))


def test_readme_counts_the_meta_operators():
    """README states how many meta-operator families (and variants) everything is built
    from; the number is the registry's, so adding one means saying so."""
    from primitives import ops
    import xform  # noqa: F401 - registers every family (higher_order modules included)
    fams = ops.families()
    text = (ROOT / "README.md").read_text()
    m = re.search(r"\*\*(\d+) meta-operator families\*\* \((\d+) variants\)", text)
    assert m, "README.md: the sentence '**N meta-operator families** (M variants)' is gone"
    assert (int(m.group(1)), int(m.group(2))) == \
        (len(fams), sum(len(v) for v in fams.values())), sorted(fams)
