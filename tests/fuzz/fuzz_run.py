"""The differential fuzzer's runner: execute a case against xform and JAX and compare.

What runs is the case's reproducer script itself (`fuzz_gen.render`), compiled once and
executed here with JAX and with xform, so a failure's printed script reproduces exactly
what failed.  Outcomes:

- ``ok``: same structure, and per leaf the same shape, dtype, weak type and values (within
  a tolerance growing with the order of derivative for floats; exact otherwise);
- ``mismatch``: the results differ (a bug);
- ``xform_error``: xform raised where JAX did not (a bug);
- ``jax_error``: JAX raised where xform did not (noted, not a failure: xform accepts
  some programs JAX rejects, e.g. reverse mode through `while_loop(max_steps=)`);
- ``both_error``: both raised (noted: the generator should not draw such programs).

Command line (`make fuzz N=5000` runs the same seeds through pytest on all workers):

    python tests/fuzz/fuzz_run.py --seed 0 --n 500     # a range of seeds, a summary
    python tests/fuzz/fuzz_run.py --show 1234          # print one seed's reproducer
"""
import argparse
import linecache
import os
import sys
import time
import traceback

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("XFORM_CHECK_IR", "1")

import jax  # noqa: E402

import xform  # noqa: E402

import fuzz_gen  # noqa: E402


class Result:
    def __init__(self, case, status, detail="", seconds=0.0):
        self.case, self.status, self.detail, self.seconds = case, status, detail, seconds

    @property
    def failed(self):
        return self.status in ("mismatch", "xform_error")

    def report(self):
        """What a failing seed prints: the outcome, and the standalone reproducer."""
        c = self.case
        return (f"fuzz seed {c.seed}: {self.status} under {c.stack} "
                f"(families: {', '.join(c.families)})\n{self.detail}\n"
                f"--- reproducer (python repro.py; or python tests/fuzz/fuzz_run.py --show "
                f"{c.seed}) ---\n{fuzz_gen.render(c)}")


def _load(case):
    """The case's reproducer script, executed as a module (not as __main__)."""
    src = fuzz_gen.render(case)
    filename = f"<fuzz seed {case.seed}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    ns = {"__name__": "fuzz_case"}
    exec(compile(src, filename, "exec"), ns)
    return ns


def _call(ns, m):
    try:
        return ns["run"](m), None
    except Exception as e:  # what each library raises is the result to compare
        return None, e


def _short(e):
    tb = traceback.format_exception(type(e), e, e.__traceback__)
    return "".join(tb[-6:])[-3000:]


def run_case(case):
    t0 = time.perf_counter()
    ns = _load(case)
    want, jax_err = _call(ns, jax)
    got, x_err = _call(ns, xform)
    dt = time.perf_counter() - t0
    if jax_err is not None and x_err is not None:
        return Result(case, "both_error", f"jax: {type(jax_err).__name__}: {jax_err}"[:500]
                      + f"\nxform: {type(x_err).__name__}: {x_err}"[:500], dt)
    if x_err is not None:
        return Result(case, "xform_error", _short(x_err), dt)
    if jax_err is not None:
        return Result(case, "jax_error", f"{type(jax_err).__name__}: {jax_err}"[:500], dt)
    try:
        ns["check"](got, want, order=case.order)
    except AssertionError as e:
        return Result(case, "mismatch", str(e)[:3000], time.perf_counter() - t0)
    return Result(case, "ok", "", time.perf_counter() - t0)


def run_seed(seed):
    return run_case(fuzz_gen.generate(seed))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--n", type=int, default=100, help="how many seeds")
    ap.add_argument("--show", type=int, help="print this seed's reproducer and stop")
    ap.add_argument("--out", default="fuzz-failures",
                    help="folder for failing seeds' reproducers (seed_N.py)")
    a = ap.parse_args(argv)
    if a.show is not None:
        print(fuzz_gen.render(fuzz_gen.generate(a.show)))
        return 0
    counts, failed, t0 = {}, [], time.perf_counter()
    for seed in range(a.seed, a.seed + a.n):
        r = run_seed(seed)
        counts[r.status] = counts.get(r.status, 0) + 1
        if r.status != "ok":
            print(f"seed {seed}: {r.status} under {r.case.stack}: "
                  f"{r.detail.strip().splitlines()[-1] if r.detail.strip() else ''}"[:300],
                  flush=True)
        if r.failed:
            failed.append(seed)
            os.makedirs(a.out, exist_ok=True)
            with open(os.path.join(a.out, f"seed_{seed}.py"), "w") as f:
                f.write(fuzz_gen.render(r.case))
    print(f"{a.n} seeds from {a.seed} in {time.perf_counter() - t0:.0f} s: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if failed:
        print(f"failing seeds {failed}: reproducers in {a.out}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
