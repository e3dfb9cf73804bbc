"""Prometheus metrics, one registry per running bot (no module globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_handled = Counter(
            "liaison_events_handled", "Room events handled", ["outcome"], registry=r
        )
        self.commands = Counter(
            "liaison_commands", "Commands by family and outcome", ["family", "outcome"], registry=r
        )
        self.relayed = Counter(
            "liaison_relayed_messages", "Relayed copies sent", ["kind"], registry=r
        )
        self.translations = Counter(
            "liaison_translation_calls",
            "Translation calls by engine and result",
            ["engine", "result"],
            registry=r,
        )
        self.late_events = Counter(
            "liaison_late_key_events",
            "Encrypted events whose key came late: waiting, decrypted, dropped unread",
            ["outcome"],
            registry=r,
        )
        self.send_retries = Counter("liaison_send_retries", "Send retries", registry=r)
        self.rate_limited = Counter("liaison_send_rate_limited", "HTTP 429 answers", registry=r)
        self.sync_lag = Gauge(
            "liaison_sync_lag_seconds", "Seconds since the last good sync", registry=r
        )
        self.scheduler_jobs = Gauge("liaison_scheduler_jobs", "Jobs in the scheduler", registry=r)
        self.handle_seconds = Histogram(
            "liaison_event_handle_seconds", "Time to handle one event", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
