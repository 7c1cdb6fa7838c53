"""``trust bench``: the pipeline timed against a floor (one DuckDB query per product) and a batch-copy peer.

Modules: ``reference`` (district conformance from the reference seeds, shared by floor and peer), ``floor``,
``peer``, ``measure`` (wall time and peak memory of a process tree), ``worker`` (what each timed subprocess runs),
``data`` (the bench homes), ``report`` (machine, tables, docs/benchmarks.md) and ``cli``.
"""
