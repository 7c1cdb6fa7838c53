"""The ``trust`` command.

Subcommands live beside the code they drive and are imported only when invoked, so ``trust --help`` is instant
and one subcommand's heavy imports (Dagster, dbt, the sharing server) never slow another.
"""

from __future__ import annotations

import importlib

import click

#: name -> "module:attribute" of a click command; loaded on first use.
SUBCOMMANDS: dict[str, str] = {
    "synth": "trust_assets.synth.cli:synth",
    "demo": "trust_assets.demo:demo",
    "run": "trust_assets.runner:run",
    "bench": "trust_assets.bench.cli:bench",
    "serve": "trust_assets.sharing.cli:serve",
    "recipients": "trust_assets.sharing.cli:recipients",
    "audit": "trust_assets.sharing.cli:audit",
    "lineage": "trust_assets.lib.lineage_cli:lineage",
    "report": "trust_assets.lib.report_cli:report",
    "maintenance": "trust_assets.maintenance:maintenance",
    "ui": "trust_assets.ui:ui",
}

SHORT_HELP: dict[str, str] = {
    "synth": "Generate the four synthetic departments' Delta tables.",
    "demo": "Generate a small population, run every month, and summarise the products.",
    "run": "Run the pipeline through Dagster for one or more months.",
    "bench": "Time the pipeline against the floor and a batch-copy peer.",
    "serve": "Serve shares and published products over the Delta Sharing protocol.",
    "recipients": "Create, rotate, revoke and list Delta Sharing recipients.",
    "audit": "Inspect and verify the access audit log.",
    "lineage": "Trace a published product version back to its sources.",
    "report": "Write the evaluation report (HTML).",
    "maintenance": "Clean files left by failed writes and other housekeeping.",
    "ui": "Start the Dagster UI on the trust's instance.",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Labour Market Data Trust.

    Reads department Delta tables in place, builds conformed labour market products with Dagster and dbt,
    publishes only what passes quality and disclosure checks, and records lineage.

    All data lives under TRUST_HOME (default: the .trust folder of this checkout).
    """
