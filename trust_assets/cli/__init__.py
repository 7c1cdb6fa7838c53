"""The ``trust`` command: one click group, one module per command group.

Every command module imports only click and the light registries at import time; what a command drives (Dagster,
dbt, the sharing server) is imported inside the command, so ``trust --help`` is instant and one command's heavy
imports never slow another.
"""

from __future__ import annotations

import click

from trust_assets.cli.acknowledge import acknowledge
from trust_assets.cli.bench import bench
from trust_assets.cli.demo import demo
from trust_assets.cli.ledger import ledger
from trust_assets.cli.lineage import lineage
from trust_assets.cli.maintenance import maintenance
from trust_assets.cli.report import report
from trust_assets.cli.run import run
from trust_assets.cli.sharing import audit, recipients, serve
from trust_assets.cli.synth import synth
from trust_assets.cli.ui import ui


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="labour-market-trust", prog_name="trust", message="%(prog)s %(version)s")
def main() -> None:
    """Labour Market Data Trust.

    Reads department Delta tables in place, builds conformed labour market products with Dagster and dbt,
    publishes only what passes quality and disclosure checks, and records lineage.

    All data lives under TRUST_HOME (default: the .trust folder of this checkout).
    """


#: Every command with the line ``trust --help`` shows for it.
COMMANDS: dict[str, tuple[click.Command, str]] = {
    "synth": (synth, "Generate the four synthetic departments' Delta tables."),
    "demo": (demo, "Generate a small population, run every month, and summarise the products."),
    "run": (run, "Run the pipeline through Dagster for one or more months."),
    "bench": (bench, "Time the pipeline against the floor and a batch-copy peer."),
    "serve": (serve, "Serve shares and published products over the Delta Sharing protocol."),
    "recipients": (recipients, "Create, rotate, revoke and list Delta Sharing recipients."),
    "audit": (audit, "Inspect and verify the access audit log."),
    "lineage": (lineage, "Trace a published product version back to its sources."),
    "ledger": (ledger, "The release ledger: history of a cell, what a release changed."),
    "report": (report, "Write the evaluation report (HTML)."),
    "acknowledge": (acknowledge, "Acknowledge a retraction of published data so the next run may publish it."),
    "maintenance": (maintenance, "Clean files left by failed writes and other housekeeping."),
    "ui": (ui, "Start the Dagster UI on the trust's instance."),
}
for name, (command, short_help) in COMMANDS.items():
    command.short_help = short_help
    main.add_command(command, name)
