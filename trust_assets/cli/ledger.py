"""``trust ledger``: the release ledger of every published cell (behaviour in lib/publish/ledger.py).

The ledger holds true values beside what was published, so this command is for the trust's own staff on the
trust's machine; nothing here is served to recipients.
"""

from __future__ import annotations

import json

import click

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS

_SHOWN = ["release_id", "recorded_at", "policy_version", "measure", "true_value", "published_value", "reason"]


def _value(v: object) -> str:
    if v is None or v != v:  # None or NaN
        return "-"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _echo_table(rows: list[dict], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(_value(r[c])) for r in rows)) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        click.echo("  ".join(_value(r[c]).ljust(widths[c]) for c in columns))


@click.group()
def ledger() -> None:
    """The release ledger: every cell ever published, its true value, and what was shown (never served)."""


@ledger.command("history")
@click.argument("product_name", metavar="PRODUCT", type=click.Choice([p.name for p in PRODUCTS]))
@click.argument("cell_key", metavar="CELL")
@click.option("--measure", "-m", default=None, help="Only this measure (default: every measure of the cell).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
def history(product_name: str, cell_key: str, measure: str | None, as_json: bool) -> None:
    """Every release's entry for one CELL of PRODUCT: its grain values joined by '|', month as YYYY-MM
    (for example ``2025-09|E07000125``)."""
    from trust_assets.lib.publish.ledger import cell_history

    frame = cell_history(TrustPaths.from_env(), product_name, cell_key, measure)
    if frame.empty:
        raise click.ClickException(f"no ledger entries for {product_name} cell {cell_key!r}"
                                   + (f" measure {measure!r}" if measure else "")
                                   + " (cells are named by their grain values joined by '|', month as YYYY-MM)")
    rows = frame.assign(recorded_at=frame["recorded_at"].astype(str)).to_dict("records")
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, default=str))
        return
    _echo_table(rows, _SHOWN)


@ledger.command("changes")
@click.option("--release", "release_id", default=None, help="Release (root run) id (default: the latest).")
@click.option("--all", "show_all", is_flag=True, help="List every entry, not only the first 50.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
def changes(release_id: str | None, show_all: bool, as_json: bool) -> None:
    """What one release changed: each cell whose true value, published value or suppression changed, with what
    it showed before."""
    from trust_assets.lib.publish.ledger import release_changes, release_ids, summarise

    paths = TrustPaths.from_env()
    if release_id is not None and release_id not in release_ids(paths):
        raise click.BadParameter(f"no release {release_id!r} in the ledger at {paths.disclosure_ledger}",
                                 param_hint="--release")
    chosen, frame = release_changes(paths, release_id)
    if chosen is None:
        raise click.ClickException(f"the release ledger at {paths.disclosure_ledger} is empty: nothing published yet")
    rows = frame.assign(recorded_at=frame["recorded_at"].astype(str)).to_dict("records")
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, default=str))
        return
    click.echo(f"release {chosen}: {len(rows)} cell entries")
    for key, n in sorted(summarise(frame).items()):
        click.echo(f"  {key}: {n}")
    shown = rows if show_all else rows[:50]
    if shown:
        _echo_table(shown, ["product", "cell_key", "measure", "previous_published", "published_value", "reason"])
    if len(rows) > len(shown):
        click.echo(f"... {len(rows) - len(shown)} more (--all)")
