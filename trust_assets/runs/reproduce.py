"""Rebuild a past publication from its pinned source versions and say whether it is identical.

The rebuild runs the same Dagster job as any run, but stops before publication (the published assets are left
out of the selection), so reproducing never changes what analysts read. Identity is the content hash of the
rebuilt candidate against the one recorded in the published commit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from trust_assets.lib.months import parse_month
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.storage import delta_table, is_delta_table
from trust_assets.runs.execute import failure_message, quiet_run_config
from trust_assets.runs.instance import prepare_instance
from trust_assets.runs.lock import run_lock


class ReproduceError(Exception):
    """The publication to reproduce does not exist or cannot be reproduced; the message says which."""


def parse_target(spec: str) -> tuple[str, int | None]:
    """``product@version`` or ``product`` (the latest publication)."""
    name, sep, version = spec.partition("@")
    if sep and not version.isdigit():
        raise ReproduceError(f"{spec!r} is not PRODUCT@VERSION")
    return name, int(version) if sep else None


def publication_entry(paths: TrustPaths, product_name: str, version: int | None) -> dict[str, Any]:
    """The commit metadata of a published version (default: latest), with a clear error if absent."""
    from trust_assets.lib.registry.products import product

    try:
        product(product_name)
    except KeyError as exc:
        raise ReproduceError(str(exc.args[0])) from None
    uri = str(paths.published_product(product_name))
    if not is_delta_table(uri):
        raise ReproduceError(f"{product_name} has never been published (no Delta table at {uri})")
    table = delta_table(uri)
    history = table.history()
    if version is None:  # the latest publication (a maintenance commit carries no provenance)
        published = [e for e in history if "trust.run_id" in e]
        if not published:
            raise ReproduceError(f"{product_name} has no version with trust provenance")
        return max(published, key=lambda e: int(e["version"]))
    for entry in history:
        if int(entry["version"]) == version:
            if "trust.run_id" not in entry:
                raise ReproduceError(f"{product_name} v{version} carries no trust provenance")
            return entry
    raise ReproduceError(f"{product_name} has no version {version} (latest is {table.version()})")


def reproduce_publication(paths: TrustPaths, spec: str, echo: Callable[[str], None] = print,
                          quiet: bool = False) -> bool:
    """``product@version``: rebuild and compare; True when the content hash is identical.

    The target and the source versions it was built from are checked before anything runs (ReproduceError).
    """
    from trust_assets.definitions import defs
    from trust_assets.defs.jobs import MONTHLY_JOB
    from trust_assets.defs.partitions import register_months
    from trust_assets.defs.publish.assets import published_key
    from trust_assets.lib.registry.products import PRODUCTS
    from trust_assets.lib.sources.available import check_pins
    from trust_assets.lib.sources.delta_pins import SourceError
    from trust_assets.runs.execute import warnings_hidden
    from trust_assets.runs.progress import captured_output

    name, version = parse_target(spec)
    entry = publication_entry(paths, name, version)
    months = [parse_month(m) for m in json.loads(entry["trust.months"])]
    sources = json.loads(entry["trust.sources"])
    try:
        check_pins(paths, sources)
    except SourceError as exc:
        raise ReproduceError(f"cannot rebuild {name} v{entry['version']}: {exc}") from None
    echo(f"[reproduce] {name} v{entry['version']}: months {months[0]}..{months[-1]} from "
         + ", ".join(f"{k}@v{v}" for k, v in sources.items()))
    from trust_assets.defs.partitions import partition_range_tags

    instance = prepare_instance(paths)
    register_months(instance, months)  # published months are partitions already, unless the instance is new
    with warnings_hidden(quiet):  # building the definitions is where Dagster's beta warnings are raised
        job = defs().resolve_job_def(MONTHLY_JOB)
    published = {published_key(p) for p in PRODUCTS}
    selection = [k for k in job.asset_layer.executable_asset_keys if k not in published]
    run_id = str(uuid.uuid4())  # Dagster's run ids are uuid4s; known up front for the log and progress
    with run_lock(paths, echo), warnings_hidden(quiet), \
            captured_output(paths.run_logs / f"{run_id}.log", quiet):
        result = job.execute_in_process(
            instance=instance, asset_selection=selection, raise_on_error=False, run_id=run_id,
            run_config=quiet_run_config(sources, "CRITICAL" if quiet else "WARNING"),
            # The audit protects the rebuild against the ledger as it stood before that release, as it did then.
            tags={**partition_range_tags(months), "trust/reproduce": spec,
                  "trust/reproduce_release": entry["trust.run_id"]},
        )
    if not result.success:
        echo(f"[reproduce] rebuild run {result.run_id} {failure_message(instance, result.run_id)}")
        return False
    rebuilt = delta_table(str(paths.candidate(name))).history(limit=1)[0]
    same = rebuilt.get("trust.content_hash") == entry.get("trust.content_hash")
    echo(f"[reproduce] published hash {entry.get('trust.content_hash')}\n"
         f"[reproduce] rebuilt   hash {rebuilt.get('trust.content_hash')} (run {result.run_id})\n"
         f"[reproduce] {'IDENTICAL' if same else 'DIFFERENT'}")
    return same
