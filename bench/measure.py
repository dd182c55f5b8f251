"""Measuring: wall time and SQL queries (all cursors, ``odoo.sql_db.sql_counter``) of a block, of
each call of a method, and of one ``_cron_dispatch()`` run batch by batch; the process's peak
memory."""

import contextlib
import itertools
import resource
import sys
import time


def queries_now():
    import odoo.sql_db

    return odoo.sql_db.sql_counter


def peak_memory_mb():
    """The process's peak resident memory so far, in MB: Linux's ``VmHWM``, which starts again
    with each program (``ru_maxrss`` would also count the parent that started it), else
    ``ru_maxrss``."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class Meter:
    """Wall time and number of SQL queries (all cursors) of a block; adds up over several blocks."""

    def __init__(self):
        self.seconds = 0.0
        self.queries = 0

    @contextlib.contextmanager
    def measure(self):
        q0 = queries_now()
        t0 = time.perf_counter()
        try:
            yield self
        finally:
            self.seconds += time.perf_counter() - t0
            self.queries += queries_now() - q0


@contextlib.contextmanager
def timed_method(cls, name):
    """Wall time of every call of method ``name`` on class ``cls`` within the block (a list)."""
    original = getattr(cls, name)
    shadowed = name in cls.__dict__
    durations = []

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            durations.append(time.perf_counter() - t0)

    setattr(cls, name, timed)
    try:
        yield durations
    finally:
        if shadowed:
            setattr(cls, name, original)
        else:
            delattr(cls, name)


@contextlib.contextmanager
def traced_batches(model_class):
    """``(mark, queries, time, size)`` at the start and the end of each ``_dispatch_batch`` call
    within the block (a list)."""
    original = model_class._dispatch_batch
    shadowed = "_dispatch_batch" in model_class.__dict__
    marks = []

    def traced(records, now):
        marks.append(("start", queries_now(), time.perf_counter(), len(records)))
        try:
            return original(records, now)
        finally:
            marks.append(("end", queries_now(), time.perf_counter(), len(records)))

    model_class._dispatch_batch = traced
    try:
        yield marks
    finally:
        if shadowed:
            model_class._dispatch_batch = original
        else:
            del model_class._dispatch_batch


def dispatch(clinic, autocommit):
    """One ``_cron_dispatch()`` run, batch per transaction (``autocommit``, as the cron) or in one
    transaction; its seconds, queries, messages done and per-batch figures."""
    from odoo.addons.clinic_sms import constants

    env = clinic.env
    Message = env["clinic.sms.message"]
    with traced_batches(type(Message)) as marks:
        clinic.commit()
        env.invalidate_all()
        if autocommit:
            Message = Message.with_context(clinic_sms_autocommit=True)
        q0, t0 = queries_now(), time.perf_counter()
        done = Message._cron_dispatch()
        if not autocommit:
            env.flush_all()
            clinic.commit()
        q1, t1 = queries_now(), time.perf_counter()
    starts = [m for m in marks if m[0] == "start"]
    ends = [m for m in marks if m[0] == "end"]
    inside = [e[1] - s[1] for s, e in zip(starts, ends, strict=True)]
    # a cycle: from the start of one batch to the start of the next; what follows the start of the
    # last batch is that batch plus the run's end (the empty SELECT that ends the loop, the final
    # flush and commit, the trigger of the notes job): counted once per run, reported apart
    points = [s[1] for s in starts]
    cycles = [b - a for a, b in itertools.pairwise(points)]
    run_end = (q1 - ends[-1][1]) if ends else 0
    sizes = [s[3] for s in starts]
    full = [i for i, size in enumerate(sizes) if size == constants.BATCH_SIZE]
    return {
        "seconds": t1 - t0,
        "queries": q1 - q0,
        "done": done,
        "batches": len(starts),
        "sizes": sizes,
        "inside": inside,
        "cycles": cycles,
        "full_inside": [inside[i] for i in full],
        "full_cycles": [cycles[i] for i in full if i < len(cycles)],
        "run_end": run_end,
        "before_first": (starts[0][1] - q0) if starts else q1 - q0,
        "batch_seconds": [e[2] - s[2] for s, e in zip(starts, ends, strict=True)],
    }
