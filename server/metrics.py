"""Prometheus metrics for one node, in a registry of its own (several apps may share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class Metrics:
    """Counters and gauges served at `/metrics`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "twinrooms_http_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.sockets = Gauge(
            "twinrooms_sockets", "Connected Socket.IO clients", registry=self.registry
        )
        self.rooms_online = Gauge(
            "twinrooms_rooms_online", "Rooms with at least one user online", registry=self.registry
        )
        self.events = Counter(
            "twinrooms_socket_events",
            "Socket.IO client events by name and outcome",
            ["event", "outcome"],
            registry=self.registry,
        )

        self.bus_rejected = Counter(
            "twinrooms_bus_rejected",
            "Cluster bus messages dropped before any effect, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.bus_dropped = Counter(
            "twinrooms_bus_dropped",
            "Cluster bus messages never published (outbox full, or Redis away too long)",
            registry=self.registry,
        )
        self.ratelimit_fallback = Counter(
            "twinrooms_ratelimit_local",
            "Rate-limit checks made on this node alone because Redis failed",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
