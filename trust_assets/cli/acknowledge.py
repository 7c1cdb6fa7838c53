"""``trust acknowledge``: record an operator's audited acknowledgement of a retraction (lib/audit/retractions.py)."""

from __future__ import annotations

import click

from trust_assets.lib.paths import TrustPaths


@click.command()
@click.argument("subject", required=False)
@click.argument("month", required=False)
@click.option("--reason", help="Why the retraction is right (who asked, what they said); recorded.")
@click.option("--by", "by", help="Who acknowledges (default: the login name).")
@click.option("--pending", "all_pending", is_flag=True, help="Acknowledge every retraction that blocked a run.")
@click.option("--list", "show", is_flag=True, help="List pending retractions and active acknowledgements.")
def acknowledge(subject: str | None, month: str | None, reason: str | None, by: str | None, all_pending: bool,
                show: bool) -> None:
    """Acknowledge that SUBJECT (a dept/table or a product) may retract MONTH (YYYY-MM) in the next release.

    The next run's retraction checks pass for it (and say so); the publication that honours it consumes it.
    """
    from trust_assets.lib.audit.retractions import acknowledge as record
    from trust_assets.lib.audit.retractions import active_acknowledgements, pending
    from trust_assets.lib.months import parse_month

    paths = TrustPaths.from_env()
    if show:
        for r in pending(paths):
            click.echo(f"pending  {r['subject']} {r['month']}  {r['kind']}: {r['detail']}")
        for key, a in sorted(active_acknowledgements(paths).items()):
            click.echo(f"active   {key}  {a['id']} by {a['by']} at {a['at']}: {a['reason']}")
        return
    if not reason:
        raise click.UsageError("--reason is required: an acknowledgement records why a retraction is right")
    if all_pending:
        targets = [(r["subject"], r["month"]) for r in pending(paths)]
        if not targets:
            raise click.ClickException("no pending retractions (see `trust acknowledge --list`)")
    elif subject and month:
        from trust_assets.lib.registry.products import PRODUCTS
        from trust_assets.lib.registry.sources import SOURCE_TABLES

        known = [t.key for t in SOURCE_TABLES] + [p.name for p in PRODUCTS]
        if subject not in known:
            raise click.BadParameter(f"{subject!r} is neither a source nor a product; one of: {', '.join(known)}",
                                     param_hint="SUBJECT")
        try:
            targets = [(subject, parse_month(month))]
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="MONTH") from None
    else:
        raise click.UsageError("give SUBJECT and MONTH, or --pending")
    for subj, mon in targets:
        entry = record(paths, subj, mon, reason, by)
        click.echo(f"acknowledged {subj} {mon} as {entry['id']}: the next run may publish this retraction")
