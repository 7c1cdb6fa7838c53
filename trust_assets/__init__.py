"""Labour Market Data Trust: Dagster code location, libraries and the `trust` command."""
