"""What the tests and the benchmarks both use: the place between `tests/` and `bench/`.

Neither imports the other; both import this. It holds the real-process harness
(`livegateway`: `modemgate simulate` and `modemgate serve` as subprocesses), throw-away
PostgreSQL schemas (`pgschema`), the fault matrix (`faultmatrix`), recorded modem
transcripts (`at_transcripts`) and the seeded message corpus (`corpus`).

Not product code: it is left out of the wheel (pyproject's package list) and imported
from the repository's root, where pytest and `python -m bench.<name>` both run.
Helpers only the tests use are in `tests/support/`.
"""
