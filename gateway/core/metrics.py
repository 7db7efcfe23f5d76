"""Prometheus metrics: per-modem counters and signal read from the workers at scrape time,
queue depth from the database, and a histogram of AT+CMGS round trips."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import col

from gateway.core.errors import StorageUnavailable
from gateway.core.models import Message

__all__ = ["GatewayMetrics"]

_STATES = ("starting", "ready", "faulty", "disabled", "draining", "capped", "stopped")


class GatewayMetrics:
    def __init__(self, engine: Engine, workers: Callable[[], Mapping[str, Any]]) -> None:
        self.registry = CollectorRegistry()
        self.send_latency = Histogram(
            "modemgate_send_seconds",
            "Time from AT+CMGS to +CMGS: <mr>, per part",
            ["modem"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.registry.register(_Collector(engine, workers))

    def observe_send(self, modem_id: str, seconds: float) -> None:
        self.send_latency.labels(modem_id).observe(seconds)


class _Collector(Collector):
    def __init__(self, engine: Engine, workers: Callable[[], Mapping[str, Any]]) -> None:
        self._engine = engine
        self._workers = workers

    def collect(self) -> Iterable[Any]:
        sent = CounterMetricFamily("modemgate_parts_sent", "Parts accepted by the network (+CMGS)", labels=["modem"])
        failed = CounterMetricFamily(
            "modemgate_messages_failed", "Messages failed permanently on this modem", labels=["modem"]
        )
        retried = CounterMetricFamily(
            "modemgate_messages_retried", "Send attempts that will be retried", labels=["modem"]
        )
        faults = CounterMetricFamily(
            "modemgate_modem_faults", "Times the modem was taken out of service", labels=["modem"]
        )
        signal = GaugeMetricFamily("modemgate_modem_signal_rssi", "Signal, AT+CSQ rssi 0-31", labels=["modem"])
        state = GaugeMetricFamily("modemgate_modem_state", "1 for the modem's current state", labels=["modem", "state"])
        tokens = GaugeMetricFamily("modemgate_modem_rate_per_minute", "Effective sends per minute", labels=["modem"])
        steps = CounterMetricFamily(
            "modemgate_modem_recovery_steps",
            "Recovery steps taken after failed reopens (reopen, soft_reset, operator_command)",
            labels=["modem", "step"],
        )
        attempts = GaugeMetricFamily(
            "modemgate_modem_recovery_attempts", "Failed reopens in a row (0 when the modem is open)", labels=["modem"]
        )
        for modem_id, worker in self._workers().items():
            st = worker.status
            sent.add_metric([modem_id], st.sent_parts)
            failed.add_metric([modem_id], st.failed)
            retried.add_metric([modem_id], st.retried)
            faults.add_metric([modem_id], st.faults)
            if st.health is not None and st.health.rssi is not None:
                signal.add_metric([modem_id], st.health.rssi)
            for name in _STATES:
                state.add_metric([modem_id, name], 1.0 if st.state == name else 0.0)
            tokens.add_metric([modem_id], worker.pacer.effective_per_minute)
            recovery = getattr(worker, "recovery", None)
            if recovery is not None:
                for step, n in recovery.status.steps.items():
                    steps.add_metric([modem_id, step], n)
                attempts.add_metric([modem_id], recovery.status.attempts)
        yield from (sent, failed, retried, faults, signal, state, tokens, steps, attempts)
        depth = GaugeMetricFamily("modemgate_queue_depth", "Messages waiting or being sent", labels=["status"])
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(
                    sa.select(col(Message.status), sa.func.count())
                    .where(col(Message.status).in_(("queued", "sending")))
                    .group_by(Message.status)
                ).all()
        except (sa.exc.SQLAlchemyError, StorageUnavailable):
            rows = []
        counts = dict(rows)
        for status in ("queued", "sending"):
            depth.add_metric([status], counts.get(status, 0))
        yield depth
