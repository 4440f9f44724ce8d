"""The benchmark harness: a registry, a timer, and the report (Markdown table + JSON).

A benchmark module is any ``bench/bench_*.py`` file; it is imported by
``python -m bench`` and registers functions with :func:`benchmark`::

    from bench.harness import Pair, Case, Measurement, benchmark

    @benchmark("jit dispatch x*y+z (8,) f32", target=1.3)
    def jit_dispatch(ctx):
        ...                       # build inputs, compile, check results agree
        return Pair(xform=lambda: xf(a, b, c), jax=lambda: jf(a_, b_, c_))

Two kinds:

* ``kind="ratio"`` (default): the function returns a :class:`Pair` of thunks, one
  per library.  The harness times both in the same process (alternating the
  samples so that drift in machine load hits both alike) and the row passes when
  ``median(xform) / median(jax) <= target``.
* ``kind="time"``: the function measures something about xform alone (it may use
  ``ctx.timeit``) and returns a :class:`Measurement`; the row passes when
  ``value <= target`` (in the measurement's own unit).

Each thunk's result is passed to ``block_until_ready`` (any pytree of arrays of
either library), so asynchronous dispatch never hides work.
"""
from __future__ import annotations

import dataclasses
import datetime
import gc
import importlib
import json
import math
import os
import pkgutil
import platform
import statistics
import subprocess
import sys
import time
import traceback
from typing import Any, Callable

# --- the registry ---------------------------------------------------------------------------


@dataclasses.dataclass
class Benchmark:
    name: str
    fn: Callable
    target: float | None
    kind: str          # "ratio" | "time"
    unit: str | None   # for kind="time": the unit of the target
    module: str
    description: str


REGISTRY: list[Benchmark] = []


def benchmark(name: str, *, target: float | None = None, kind: str = "ratio",
              unit: str | None = None):
    """Register ``fn(ctx)`` as a benchmark.

    ``target`` is an upper bound: on ``xform / JAX`` for ``kind="ratio"``, on the
    measured value (in ``unit``) for ``kind="time"``.  ``None`` means informational.
    """
    if kind not in ("ratio", "time"):
        raise ValueError(f"benchmark {name!r}: kind must be 'ratio' or 'time', got {kind!r}")

    def register(fn):
        if any(b.name == name for b in REGISTRY):
            raise ValueError(f"benchmark {name!r} is registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        REGISTRY.append(Benchmark(name, fn, target, kind, unit, fn.__module__,
                                  doc[0] if doc else ""))
        return fn
    return register


def discover() -> list[Benchmark]:
    """Import every ``bench/bench_*.py`` module (which registers its benchmarks)."""
    pkg_dir = os.path.dirname(os.path.abspath(__file__))
    for info in sorted(pkgutil.iter_modules([pkg_dir]), key=lambda m: m.name):
        if info.name.startswith("bench_"):
            importlib.import_module(f"bench.{info.name}")
    return REGISTRY


# --- what a benchmark returns ----------------------------------------------------------------


@dataclasses.dataclass
class Case:
    """One library's side of a comparison.

    ``fn`` is called once per timed iteration.  If ``setup`` is given it is called
    before each iteration *outside* the timed region and its result is passed to
    ``fn`` (use it to make a fresh function object for cold-compile timings).
    ``cold=True`` skips the warm-up call (every call is meant to be a first call;
    slow calls naturally get an inner-loop count of 1).
    """
    fn: Callable
    setup: Callable | None = None
    cold: bool = False


@dataclasses.dataclass
class Pair:
    xform: Case | Callable
    jax: Case | Callable
    note: str = ""
    details: dict = dataclasses.field(default_factory=dict)
    repeats: int | None = None   # cap on the samples per side (slow cold-compile benchmarks)


@dataclasses.dataclass
class Measurement:
    value: float                 # compared against the benchmark's target
    unit: str
    jax_value: float | None = None   # the same quantity for JAX, if meaningful (informational)
    details: dict = dataclasses.field(default_factory=dict)
    note: str = ""


@dataclasses.dataclass
class Stats:
    median: float                # seconds per call
    samples: list                # seconds per call, one per sample
    number: int                  # calls per sample

    @property
    def spread(self) -> float:
        """(max - min) / median of the samples: a rough stability indicator."""
        return (max(self.samples) - min(self.samples)) / self.median if self.median else 0.0

    def to_json(self) -> dict:
        return {"median_s": self.median, "min_s": min(self.samples), "samples_s": self.samples, "number": self.number,
                "spread": round(self.spread, 4)}


# --- timing ------------------------------------------------------------------------------------


def block(x):
    """``block_until_ready`` on every leaf of a (tuple/list/dict) result of either library."""
    if x is None:
        return x
    if isinstance(x, (list, tuple)):
        for y in x:
            block(y)
    elif isinstance(x, dict):
        for y in x.values():
            block(y)
    else:
        b = getattr(x, "block_until_ready", None)
        if b is not None:
            b()
    return x


def _as_case(c) -> Case:
    return c if isinstance(c, Case) else Case(c)


def _run(case: Case, number: int) -> float:
    """Total seconds of ``number`` timed calls."""
    fn, setup = case.fn, case.setup
    perf = time.perf_counter
    if setup is None:
        t0 = perf()
        for _ in range(number):
            block(fn())
        return perf() - t0
    total = 0.0
    for _ in range(number):
        arg = setup()
        t0 = perf()
        block(fn(arg))
        total += perf() - t0
    return total


class Timer:
    """Calibrates an inner-loop count to ``sample_time`` seconds, then takes samples."""

    def __init__(self, case, sample_time: float, max_number: int = 1_000_000):
        self.case = _as_case(case)
        self.sample_time = sample_time
        self.max_number = max_number
        self.number = None
        self.samples: list[float] = []

    def calibrate(self):
        case = self.case
        if not case.cold:
            _run(case, 1)                         # warm-up: compile, fill caches
        number = 1
        while True:
            t = _run(case, number)
            if t >= self.sample_time * 0.2 or number >= self.max_number:
                break
            # grow geometrically but aim straight for the budget once a reading is usable
            guess = int(number * self.sample_time / t) if t > 1e-4 else number * 10
            number = min(max(number * 2, guess), self.max_number)
        per_call = t / number
        self.number = max(1, min(self.max_number, int(round(self.sample_time / per_call))))
        return self

    def sample(self):
        gc.collect()
        t = _run(self.case, self.number)
        self.samples.append(t / self.number)

    def stats(self) -> Stats:
        return Stats(statistics.median(self.samples), list(self.samples), self.number)


class Context:
    """Passed to every benchmark function."""

    def __init__(self, quick: bool = False):
        self.quick = quick
        self.sample_time = 0.05 if quick else 0.2
        self.repeats = 3 if quick else 7

    def timeit(self, case, repeats: int | None = None, sample_time: float | None = None) -> Stats:
        tm = Timer(case, self.sample_time if sample_time is None else sample_time).calibrate()
        for _ in range(repeats or self.repeats):
            tm.sample()
        return tm.stats()

    def compare(self, pair: Pair) -> tuple[Stats, Stats]:
        """Time both sides with interleaved samples (x j, j x, x j, ...).

        Interleaving makes drift in machine load hit both libraries alike; swapping
        the order every round cancels any advantage of going first or second.
        """
        tx = Timer(pair.xform, self.sample_time).calibrate()
        tj = Timer(pair.jax, self.sample_time).calibrate()
        repeats = min(self.repeats, pair.repeats) if pair.repeats else self.repeats
        for i in range(repeats):
            first, second = (tx, tj) if i % 2 == 0 else (tj, tx)
            first.sample()
            second.sample()
        return tx.stats(), tj.stats()


# --- machine info ------------------------------------------------------------------------------


def _git_commit() -> str | None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here,
                             capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _device_str(dev) -> str:
    kind = getattr(dev, "device_kind", "")
    return f"{dev.platform}:{dev.id}" + (f" ({kind})" if kind else "")


def machine_info() -> dict:
    import numpy as np
    import jax
    import jaxlib
    import xform

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    jax_dev = jax.devices()[0]
    xform_dev = xform.devices()[0]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "xform": getattr(xform, "__version__", "?"),
        "git_commit": _git_commit(),
        "xform_backend": xform.default_backend(),
        "xform_device": _device_str(xform_dev),
        "jax_backend": jax.default_backend(),
        "jax_device": _device_str(jax_dev),
        "loadavg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "env": {k: os.environ[k] for k in ("XFORM_PLATFORMS", "JAX_PLATFORMS",
                                           "XLA_FLAGS", "OMP_NUM_THREADS") if k in os.environ},
    }


# --- formatting --------------------------------------------------------------------------------


def fmt_time(s: float | None) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "—"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.3g} µs"
    return f"{s * 1e9:.3g} ns"


def fmt_value(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "s":
        return fmt_time(v)
    if unit == "×":
        return f"{v:.2f} ×"
    return f"{v:.3g} {unit}".rstrip()


def fmt_target(b: Benchmark) -> str:
    if b.target is None:
        return "—"
    if b.kind == "ratio":
        return f"≤ {b.target:g}"
    return f"≤ {b.target:g} {b.unit or ''}".rstrip()


def _fmt_ratio(r: float, target: float | None) -> str:
    """Two decimals, or three where two would hide which side of the target it is on."""
    s = f"{r:.2f}"
    if target is not None and float(s) == target and r != target:
        s = f"{r:.3f}"
    return s


def markdown_table(rows: list[dict]) -> str:
    lines = ["| benchmark | xform | JAX | ratio | target | ok |",
             "|---|---:|---:|---:|---:|:---:|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['xform_str']} | {r['jax_str']} | {r['ratio_str']} "
                     f"| {r['target_str']} | {r['ok_str']} |")
    return "\n".join(lines)


# --- running -----------------------------------------------------------------------------------


def run_one(b: Benchmark, ctx: Context) -> dict:
    row: dict[str, Any] = {"name": b.name, "module": b.module, "kind": b.kind,
                           "target": b.target, "description": b.description}
    t0 = time.perf_counter()
    try:
        out = b.fn(ctx)
        if b.kind == "ratio":
            if not isinstance(out, Pair):
                raise TypeError(f"a kind='ratio' benchmark must return a Pair, got "
                                f"{type(out).__name__}")
            sx, sj = ctx.compare(out)
            ratio = sx.median / sj.median
            row.update(unit="s", xform=sx.median, jax=sj.median, ratio=ratio,
                       ratio_of_mins=min(sx.samples) / min(sj.samples),
                       xform_stats=sx.to_json(), jax_stats=sj.to_json(), note=out.note,
                       details=out.details,
                       xform_str=fmt_time(sx.median), jax_str=fmt_time(sj.median),
                       ratio_str=_fmt_ratio(ratio, b.target))
            value = ratio
        else:
            if not isinstance(out, Measurement):
                raise TypeError(f"a kind='time' benchmark must return a Measurement, got "
                                f"{type(out).__name__}")
            ratio = (out.value / out.jax_value) if out.jax_value else None
            row.update(unit=out.unit, xform=out.value, jax=out.jax_value, ratio=ratio,
                       details=out.details, note=out.note,
                       xform_str=fmt_value(out.value, out.unit),
                       jax_str=fmt_value(out.jax_value, out.unit),
                       ratio_str="—" if ratio is None else f"{ratio:.2f}")
            value = out.value
        ok = None if b.target is None else bool(value <= b.target)
        row.update(ok=ok, error=None)
    except Exception as e:  # one broken benchmark must not hide the others
        row.update(xform=None, jax=None, ratio=None, ok=False, error=f"{type(e).__name__}: {e}",
                   traceback=traceback.format_exc(), xform_str="error", jax_str="—",
                   ratio_str="—", note="")
    row["target_str"] = fmt_target(b)
    row["ok_str"] = {True: "✅", False: "❌", None: "—"}[row["ok"]]
    row["wall_s"] = round(time.perf_counter() - t0, 3)
    return row


def write_json(path: str, info: dict, rows: list[dict], args: dict) -> None:
    keep = ("name", "module", "kind", "description", "unit", "xform", "jax", "ratio",
            "ratio_of_mins", "target",
            "ok", "xform_stats", "jax_stats", "details", "note", "error", "wall_s")
    doc = {
        "machine": info,
        "options": args,
        "summary": {"total": len(rows), "passed": sum(r["ok"] is True for r in rows),
                    "failed": sum(r["ok"] is False for r in rows)},
        "benchmarks": [{k: r.get(k) for k in keep} | {"pass": r["ok"]} for r in rows],
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2, default=float)
        f.write("\n")
    os.replace(tmp, path)


def main(argv=None) -> int:
    import argparse

    default_json = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json")
    p = argparse.ArgumentParser(prog="python -m bench",
                                description="xform vs JAX benchmarks (ratio = xform / JAX time).")
    p.add_argument("-k", dest="pattern", action="append", default=[],
                   help="run only benchmarks whose name or module contains this substring "
                        "(case-insensitive; repeatable)")
    p.add_argument("--quick", action="store_true",
                   help="fewer, shorter samples (3 x 0.05 s) and smaller programs: a smoke test")
    p.add_argument("--json", dest="json_path", default=None,
                   help="where to write results (default: bench/results.json for a full "
                        "run, none with -k, which would replace the full run's file with "
                        "a few rows; '-' for none)")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument("--strict", action="store_true",
                   help="exit with status 1 if any benchmark misses its target")
    args = p.parse_args(argv)

    benches = discover()
    pats = [s.lower() for s in args.pattern]
    if pats:
        benches = [b for b in benches
                   if any(s in b.name.lower() or s in b.module.lower() for s in pats)]
    if args.list:
        for b in benches:
            print(f"{b.module:24s} {b.name}  (target {fmt_target(b)})")
        return 0
    if not benches:
        print(f"no benchmark matches {args.pattern}", file=sys.stderr)
        return 2

    info = machine_info()
    print(f"# xform vs JAX — {info['date']}")
    print(f"{info['platform']}, {info['cpu']}, {info['cpu_count']} CPUs "
          f"({info['cpu_affinity']} usable); python {info['python']}, jax {info['jax']}, "
          f"jaxlib {info['jaxlib']}, xform {info['xform']} ({info['git_commit']})")
    print(f"xform on {info['xform_device']}; JAX on {info['jax_device']}"
          + (f"; env {info['env']}" if info["env"] else ""))
    if info["loadavg_1m"] and info["loadavg_1m"] > 0.5 * (info["cpu_affinity"] or 1):
        print(f"warning: load average {info['loadavg_1m']} on {info['cpu_affinity']} CPUs; "
              f"other processes are competing, timings will be noisy")
    print(f"{'quick mode: ' if args.quick else ''}median of "
          f"{3 if args.quick else 7} samples of ~{0.05 if args.quick else 0.2} s; "
          f"ratio = xform / JAX, lower is better\n", flush=True)

    ctx = Context(quick=args.quick)
    rows = []
    for b in benches:
        sys.stdout.flush()
        print(f"  running {b.name} ...", end="", flush=True, file=sys.stderr)
        row = run_one(b, ctx)
        rows.append(row)
        status = row["error"] or f"{row['xform_str']} vs {row['jax_str']} ({row['ok_str']})"
        print(f" {status}  [{row['wall_s']:.1f} s]", file=sys.stderr, flush=True)

    sys.stderr.flush()
    print()
    print(markdown_table(rows))
    notes = [(r["name"], r["note"]) for r in rows if r.get("note")]
    errors = [(r["name"], r["traceback"]) for r in rows if r.get("error")]
    if notes:
        print()
        for name, note in notes:
            print(f"- {name}: {note}")
    for name, tb in errors:
        print(f"\n{name} failed:\n{tb}", file=sys.stderr)
    passed = sum(r["ok"] is True for r in rows)
    failed = sum(r["ok"] is False for r in rows)
    print(f"\n{passed} passed, {failed} failed, {len(rows) - passed - failed} informational")

    if args.json_path is None and not args.pattern:
        args.json_path = default_json
    if args.json_path and args.json_path != "-":
        write_json(args.json_path, info, rows, {"quick": args.quick, "k": args.pattern})
        print(f"wrote {os.path.relpath(args.json_path)}")
    return 1 if (args.strict and failed) else 0
