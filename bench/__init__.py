"""Benchmarks and the longer bounded runs (fuzzing, crash soak, the fault matrix at scale).

Each is a module, run from the repository's root: `python -m bench.dispatch --help`. Not
shipped in the wheel and never imported by `tests/`; what the two share is in `harness/`.
"""
