"""Worker processes for the full oracle sweep: a check that hangs (JAX's `exp1` loops forever
on some vectors; an xform loop may too) cannot stop the run.

Each worker (a spawned process) takes tasks ``(key, dtype, checks)``, runs `sweep_run.run_spec`
and streams back ``("at", check, side)`` before each library call and ``("part", check,
report)`` after each check.  A check that runs past the timeout gets its worker killed and
replaced: a hang on JAX's side is recorded as a jax_error, on xform's as a failure ("timeout"),
and the name's remaining checks in that dtype are skipped (the same inputs would hang again;
noted as a jax_error).  A worker that dies (a crash in XLA) is treated the same way.
"""
import collections
import multiprocessing as mp
import multiprocessing.connection as mpc
import time


def _worker(conn):
    import jax  # noqa: F401  (xform before tests/ is on sys.path: see sweep_run)
    import xform  # noqa: F401
    from oracle import sweep_run, sweep_table
    specs = {s.key: s for s in sweep_table.specs()}
    mode = None
    while True:
        task = conn.recv()
        if task is None:
            return
        key, dtype, checks, quick = task
        if mode != dtype:      # x64 stays as the last task left it: tasks come by dtype
            on = dtype == "f64"
            xform.config.update("jax_enable_x64", on)
            jax.config.update("jax_enable_x64", on)
            mode = dtype
        try:
            sweep_run.run_spec(specs[key], dtype, checks, quick,
                               on_check=lambda c, r: conn.send(("part", c, r)),
                               on_stage=lambda c, side: conn.send(("at", c, side)))
            conn.send(("done",))
        except Exception as e:     # the sweep's own bug
            conn.send(("error", sweep_run._short(e)))


class _Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        self.task = None

    def give(self, task, timeout):
        self.task, self.stage, self.done = task, None, []
        self.rep = None
        self.started = time.perf_counter()
        self.deadline = self.started + timeout
        self.conn.send(task)

    def kill(self):
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()


def run_pool(specs, dtypes, checks, quick, jobs, timeout, progress=None):
    from oracle import sweep_run
    Report, Failure = sweep_run.Report, sweep_run.Failure
    by_key = {s.key: s for s in specs}
    ctx = mp.get_context("spawn")
    tasks = collections.deque((s.key, d, tuple(checks), quick) for d in dtypes for s in specs)
    total = Report()
    pending = {}          # (key, dtype) -> the name's report so far (finished when done)
    workers = [_Worker(ctx) for _ in range(max(1, min(jobs, len(tasks))))]

    def close(w, rep):
        key, dtype = w.task[0], w.task[1]
        acc = pending.setdefault((key, dtype), Report())
        acc.merge(rep)
        w.task = None
        if not any(t[0] == key and t[1] == dtype for t in tasks):
            r = sweep_run.finish(by_key[key], pending.pop((key, dtype)))
            if progress:
                progress(by_key[key], dtype, r, time.perf_counter() - w.started)
            total.merge(r)

    def lost(w, why):
        """The worker hung or died in its current check: record it, requeue the rest."""
        key, dtype, todo, q = w.task
        check, side = w.stage or (todo[0], "jax")
        rep = w.rep or Report()
        if side == "jax":
            rep.jax_errors.append((key, check, dtype, "all", f"JAX {why}"))
        else:
            rep.failures.append(Failure(key, check, dtype, "all", why, f"xform {why}", "a value"))
        rest = todo[todo.index(check) + 1:]
        if rest:    # the same inputs would most likely hang again: note the checks skipped
            rep.jax_errors.append((key, ",".join(rest), dtype, "all",
                                   f"not run: {side} {why} in {check}"))
        close(w, rep)

    try:
        while tasks or any(w.task for w in workers):
            for i, w in enumerate(workers):
                if w.task is None and tasks:
                    if not w.proc.is_alive():
                        workers[i] = w = _Worker(ctx)
                    w.give(tasks.popleft(), timeout)
            busy = [w for w in workers if w.task is not None]
            now = time.perf_counter()
            ready = mpc.wait([w.conn for w in busy],
                             timeout=max(0.0, min(w.deadline for w in busy) - now))
            for w in busy:
                if w.conn in ready:
                    try:
                        while w.conn.poll():
                            msg = w.conn.recv()
                            if msg[0] == "at":
                                w.stage = (msg[1], msg[2])
                            elif msg[0] == "part":
                                w.rep = w.rep or Report()
                                w.rep.merge(msg[2])
                                w.deadline = time.perf_counter() + timeout
                            elif msg[0] == "done":
                                close(w, w.rep or Report())
                                break
                            elif msg[0] == "error":
                                rep = w.rep or Report()
                                rep.unclassified.append((w.task[0], f"sweep error: {msg[1]}"))
                                close(w, rep)
                                break
                    except (EOFError, OSError):
                        w.kill()
                        lost(w, "crash")
                elif time.perf_counter() > w.deadline:
                    w.kill()
                    lost(w, "timeout")
    finally:
        for w in workers:
            if w.proc.is_alive():
                try:
                    w.conn.send(None)
                except OSError:
                    pass
                w.proc.join(5)
                if w.proc.is_alive():
                    w.kill()
    return total
