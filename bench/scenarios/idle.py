"""4. Dispatch runs with nothing due, in each mode (batch per transaction, one transaction)."""

from .. import measure


def run(clinic):
    runs = []
    for autocommit in (True, False):
        figures = []
        for _ in range(max(clinic.args.idle_runs, 1)):
            figures.append(measure.dispatch(clinic, autocommit=autocommit))
        runs.append(figures)
    clinic.results["idle"] = runs
