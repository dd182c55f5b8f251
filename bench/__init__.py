"""Benchmarks of clinic_sms: ``make bench`` (bench/run.py) and ``make bench-scale`` (bench/scale.py).

Layout: :mod:`.database` (the bench's own database), :mod:`.clinic` (the clinic it sets up and the
helpers the scenarios share), :mod:`.measure` (time, queries, memory), :mod:`.scenarios` (one module
per scenario), :mod:`.report` (what is printed), :mod:`.table` (the one table printer),
:mod:`.targets` (every target and its check), :mod:`.scale` and :mod:`.scale_log` (the scale runs).
"""
