"""Helpers shared by the tests, imported as a package: `from tests.support.api import Api`.

One module per concern: a running API (`api`), campaigns (`campaigns`), wall clocks
(`clock`), the driver against the simulator (`driver`), an in-memory outbox (`memstore`),
a webhook receiver (`receiver`), stored rows (`rows`), the security checks' inputs
(`security`) and the sans-IO simulator (`simulator`). What the benchmarks use as well is in
`harness/`, not here: the benchmarks never import the tests.
"""
