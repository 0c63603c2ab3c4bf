"""Check every model endpoint now: reachable or not, latency, version, protocol, the
endpoint chosen and the parameter layout.

    python manage.py webui_status [--endpoint NAME] [--save] [--json]

Exits 1 when an enabled endpoint is unreachable (for monitoring), 0 otherwise.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor

from django.core.management.base import BaseCommand

from questionbank import webui
from questionbank.models import ModelEndpoint
from questionbank.services.endpoints import client_endpoint, endpoint_record_check

# Health checks wait on the network, not the CPU; a few at once keep one slow server from
# holding up the rest (each check is capped at a minute by the client).
MAX_PARALLEL_CHECKS = 8


def _check(target: webui.Endpoint) -> webui.Health:
    return webui.Client(target).health()


class Command(BaseCommand):
    help = ("Check the model endpoints now and list their health, server version, protocol, "
            "chosen endpoint and parameter layout. Exits 1 when an enabled endpoint is "
            "unreachable.")

    def add_arguments(self, parser):
        parser.add_argument("--endpoint", metavar="NAME", help="Check only this endpoint.")
        parser.add_argument("--save", action="store_true",
                            help="Store the discovered layout, version and health on each "
                            "endpoint.")
        parser.add_argument("--json", action="store_true",
                            help="Print one JSON document (for machines) instead of a table.")

    def handle(self, *args, **options):
        endpoints = list(ModelEndpoint.objects.order_by("name"))
        if options["endpoint"]:
            endpoints = [e for e in endpoints if e.name == options["endpoint"]]
            if not endpoints:
                self.stderr.write(f"No model endpoint is named {options['endpoint']!r}.")
                sys.exit(1)
        if not endpoints:
            if options["json"]:
                self.stdout.write("[]")
            else:
                self.stdout.write("No model endpoints are configured: add one in the admin "
                                  "(Model endpoints) or run `manage.py seed_demo`.")
            return
        # The network calls run in threads with no database access; saving happens here.
        targets = [client_endpoint(e) for e in endpoints]
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_CHECKS, len(targets))) as pool:
            healths = list(pool.map(_check, targets))
        if options["save"]:
            for endpoint, health in zip(endpoints, healths, strict=True):
                endpoint_record_check(endpoint=endpoint, health=health)
        rows = [self._row(e, h) for e, h in zip(endpoints, healths, strict=True)]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
        else:
            self._table(rows, saved=options["save"])
        if any(r["enabled"] and not r["reachable"] for r in rows):
            sys.exit(1)

    @staticmethod
    def _row(endpoint: ModelEndpoint, health: webui.Health) -> dict:
        if not health.reachable:
            status = "unreachable"
        elif health.error:
            status = "error"
        else:
            status = "ok"
        return {
            "name": endpoint.name,
            "enabled": endpoint.enabled,
            "is_standin": endpoint.is_standin,
            "base_url": endpoint.base_url,
            "status": status,
            "reachable": health.reachable,
            "latency_ms": round(health.latency_s * 1000) if health.reachable else None,
            "version": health.version,
            "protocol": health.protocol or endpoint.protocol,
            "api_name": health.api_name,
            "streaming": health.streaming,
            "models": list(health.models),
            "layout": dict(health.layout),
            "error": health.error,
        }

    def _table(self, rows: list[dict], *, saved: bool) -> None:
        headers = ("NAME", "STATUS", "LATENCY", "VERSION", "PROTOCOL", "ENDPOINT", "URL")
        cells = []
        for r in rows:
            standin = r["is_standin"] and "stand-in" not in r["name"].lower()
            name = r["name"] + (" [stand-in]" if standin else "")
            status = r["status"] + ("" if r["enabled"] else " (disabled)")
            cells.append((
                name, status,
                "-" if r["latency_ms"] is None else f"{r['latency_ms']} ms",
                r["version"] or "-", r["protocol"],
                r["api_name"] or (", ".join(r["models"][:2]) if r["models"] else "-"),
                r["base_url"],
            ))
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]

        def line(values) -> str:
            return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

        self.stdout.write(line(headers))
        self.stdout.write(line("-" * w for w in widths))
        for c in cells:
            self.stdout.write(line(c))
        for r in rows:
            self.stdout.write("")
            self.stdout.write(f"{r['name']}:")
            if r["error"]:
                self.stdout.write(f"  problem: {r['error']}")
            if r["models"]:
                self.stdout.write(f"  models served: {', '.join(r['models'])}")
            if r["layout"]:
                field_width = max(len(k) for k in r["layout"])
                self.stdout.write("  parameter layout (our field -> server parameter):")
                for ours, theirs in r["layout"].items():
                    self.stdout.write(f"    {ours.ljust(field_width)}  ->  {theirs}")
            elif not r["error"]:
                self.stdout.write("  parameter layout: none reported")
        if saved:
            self.stdout.write("")
            self.stdout.write(f"Saved the health of {len(rows)} endpoint(s) and the layout of "
                              f"{sum(1 for r in rows if r['status'] == 'ok')}.")
