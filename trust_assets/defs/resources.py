"""Resources shared by every stage: where the trust's storage is, and the source versions a run is pinned to."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.sources import SOURCE_TABLES, SourceTable
from trust_assets.lib.sources.delta_pins import SourcePin, pin
from trust_assets.lib.transform.engine import Engine, EngineError


def resolve_storage() -> TrustPaths:
    """Resolve ``$TRUST_HOME`` once for a resource and export it, so the dbt process this run starts (whose
    profile reads ``TRUST_HOME``) uses the same root even when the UI was started without the variable."""
    paths = TrustPaths.from_env().ensure()
    os.environ["TRUST_HOME"] = str(paths.root)
    return paths


class TrustStorage(dg.ConfigurableResource):
    """The trust's storage root, ``$TRUST_HOME``, resolved when a run (or sensor tick) first asks, never at import.

    One variable rather than resource config, because dbt's profile and the sharing server read the same root.
    """

    _paths: TrustPaths | None = PrivateAttr(default=None)

    def paths(self) -> TrustPaths:
        if self._paths is None:
            self._paths = resolve_storage()
        return self._paths


class TransformEngine(dg.ConfigurableResource):
    """The engine dbt runs on (lib/transform/engine.py): DuckDB by default, or a Spark Connect server.

    Empty fields mean "the environment's setting" (``TRUST_ENGINE``, ``TRUST_SPARK_REMOTE``), read when a run asks:
    ``trust run --engine``, ``trust ui --engine`` and the daemon's sensor runs share that one setting.
    """

    name: str = ""
    spark_remote: str = ""

    def engine(self) -> Engine:
        try:
            return Engine.choose(self.name or None, self.spark_remote or None)
        except EngineError as exc:
            raise dg.Failure(str(exc)) from None


class SourcePins(dg.ConfigurableResource):
    """Pins one Delta version per department table for the whole run.

    With the in-process executor a run initialises resources once, so every step of a run reads the same versions
    even if a department commits mid-run. ``versions`` pins explicitly (the sensor and ``--reproduce`` set it);
    a table left out is pinned at its latest version when the run first asks.
    """

    versions: dict[str, int] = Field(default_factory=dict)
    #: Read the department tables through Delta Sharing with this profile file instead of direct paths.
    share_profile: str = ""
    #: ``dept/table`` -> ``share.schema.table`` where a share is not named ``<dept>.default.<table>``.
    share_tables: dict[str, str] = Field(default_factory=dict)
    _pins: dict[str, SourcePin] = PrivateAttr(default_factory=dict)
    _paths: TrustPaths | None = PrivateAttr(default=None)

    def paths(self) -> TrustPaths:
        if self._paths is None:
            self._paths = resolve_storage()
        return self._paths

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[SourcePins]:
        """Hold the home's run lock (lib/run_lock.py) for the whole run: every stage uses this resource and the
        in-process executor starts it once, before the first step, so a run launched from the UI, a sensor or a
        schedule and a ``trust run`` never build or publish at the same time (``trust run``'s own Dagster run
        finds its command already holding the lock)."""
        from trust_assets.lib.run_lock import home_lock

        run_id = context.dagster_run.run_id if context.dagster_run is not None else "outside a run"
        log = context.log.info if context.log is not None else print
        with home_lock(self.paths(), f"Dagster run {run_id}", on_wait=log):
            yield self

    def pins(self) -> dict[str, SourcePin]:
        """Every source, pinned on first use and then the same for the rest of the run."""
        unknown = sorted(set(self.versions) - {t.key for t in SOURCE_TABLES})
        if unknown:
            raise dg.Failure(f"cannot pin unknown source tables {unknown}")
        return {t.key: self.pin(t) for t in SOURCE_TABLES}

    def pin(self, table: SourceTable) -> SourcePin:
        """One source's pin (raises SourceError / SourceSchemaError naming the table)."""
        if table.key not in self._pins:
            self._pins[table.key] = self._pin(table)
        return self._pins[table.key]

    def _pin(self, table: SourceTable) -> SourcePin:
        return self.pin_at(table, self.versions.get(table.key))

    def pin_at(self, table: SourceTable, version: int | None) -> SourcePin:
        """``table`` at another version (e.g. the one the last release read), not this run's pin."""
        if self.share_profile:
            from trust_assets.lib.sources.share_pins import default_share_table, pin_shared

            share_table = self.share_tables.get(table.key, default_share_table(table))
            return pin_shared(table, self.share_profile, share_table, version)
        return pin(table, str(self.paths().source_table(table.dept, table.table)), version)

    def summary(self) -> dict[str, Any]:
        return {key: p.version for key, p in self.pins().items()}
