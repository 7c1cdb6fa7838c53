"""Rebuild a past publication from its pinned source versions and say whether it is identical.

The rebuild runs the same Dagster job as any run, but stops before publication (the published assets are left
out of the selection), so reproducing never changes what analysts read. Identity is the content hash of the
rebuilt candidate against the one recorded in the published commit.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import click

from trust_assets.lib.paths import TrustPaths


def publication_entry(product_name: str, version: int | None) -> dict:
    """The commit metadata of a published version (default: latest), with a clear error if absent."""
    from deltalake import DeltaTable

    from trust_assets.lib.products import product

    product(product_name)  # raises with the known names
    uri = str(TrustPaths.from_env().published_product(product_name))
    if not DeltaTable.is_deltatable(uri):
        raise click.ClickException(f"{product_name} has never been published (no Delta table at {uri})")
    table = DeltaTable(uri)
    history = table.history()
    if version is None:  # the latest publication (a maintenance commit carries no provenance)
        published = [e for e in history if "trust.run_id" in e]
        if not published:
            raise click.ClickException(f"{product_name} has no version with trust provenance")
        return max(published, key=lambda e: int(e["version"]))
    for entry in history:
        if int(entry["version"]) == version:
            if "trust.run_id" not in entry:
                raise click.ClickException(f"{product_name} v{version} carries no trust provenance")
            return entry
    raise click.ClickException(f"{product_name} has no version {version} (latest is {table.version()})")


def reproduce_publication(spec: str, echo: Callable[[str], None] = click.echo) -> bool:
    """``product@version``: rebuild and compare; True when the content hash is identical."""
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
    from deltalake import DeltaTable

    from trust_assets.definitions import defs
    from trust_assets.defs.build import MONTHLY_JOB
    from trust_assets.defs.publish.assets import published_key
    from trust_assets.lib.products import PRODUCTS
    from trust_assets.runner import prepare_instance, quiet_run_config, run_lock

    name, sep, ver = spec.partition("@")
    if sep and not ver.isdigit():
        raise click.BadParameter(f"{spec!r} is not PRODUCT@VERSION", param_hint="--reproduce")
    entry = publication_entry(name, int(ver) if sep else None)
    months = json.loads(entry["trust.months"])
    sources = json.loads(entry["trust.sources"])
    echo(f"[reproduce] {name} v{entry['version']}: months {months[0]}..{months[-1]} from "
         + ", ".join(f"{k}@v{v}" for k, v in sources.items()))
    paths = TrustPaths.from_env()
    instance = prepare_instance(paths)
    job = defs().resolve_job_def(MONTHLY_JOB)
    published = {published_key(p) for p in PRODUCTS}
    selection = [k for k in job.asset_layer.executable_asset_keys if k not in published]
    with run_lock(paths, echo):
        result = job.execute_in_process(
            instance=instance, asset_selection=selection, raise_on_error=False,
            run_config=quiet_run_config(sources, "WARNING"),
            tags={ASSET_PARTITION_RANGE_START_TAG: f"{months[0]}-01",
                  ASSET_PARTITION_RANGE_END_TAG: f"{months[-1]}-01", "trust/reproduce": spec},
        )
    if not result.success:
        from trust_assets.runner import failure_message

        echo(f"[reproduce] rebuild run {result.run_id} {failure_message(instance, result.run_id)}")
        return False
    rebuilt = DeltaTable(str(paths.candidate(name))).history(limit=1)[0]
    same = rebuilt.get("trust.content_hash") == entry.get("trust.content_hash")
    echo(f"[reproduce] published hash {entry.get('trust.content_hash')}\n"
         f"[reproduce] rebuilt   hash {rebuilt.get('trust.content_hash')} (run {result.run_id})\n"
         f"[reproduce] {'IDENTICAL' if same else 'DIFFERENT'}")
    return same
