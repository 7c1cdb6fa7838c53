"""The one place that knows where things live.

Every path the trust reads or writes is derived here from a single root, ``TRUST_HOME``, so that tests, the demo
and a deployment differ only by that variable. Two more roots may live elsewhere, in object storage: the
departments' tables (``TRUST_DEPARTMENTS_URI``) and the trust's published products (``TRUST_PUBLISHED_URI``, with
the release candidates beside them: ``TRUST_CANDIDATES_URI``, default the sibling ``candidates`` prefix). Their
defaults are the folders under ``TRUST_HOME``. Locations of Delta tables are strings (a local path or a
``s3://``/``az://``/``gs://`` URI); everything else is local state under ``TRUST_HOME``. The environment is read
when a function is called, never at import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The repository (or installed source tree) root: holds dbt_project/, expectations/, agreements/.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
AGREEMENTS_DIR = PROJECT_ROOT / "agreements"
POLICIES_DIR = PROJECT_ROOT / "policies"
#: What the catalogue says that code cannot know: contacts, the sharing endpoint (TRUST_CATALOGUE_CONFIG overrides).
CATALOGUE_CONFIG = PROJECT_ROOT / "config" / "catalogue.yaml"
#: Public reference data shipped with the project (ONS districts, SIC 2007, sector subject areas) as dbt seeds.
REFERENCE_DIR = DBT_PROJECT_DIR / "seeds"
#: The project compiled once at set-up for column lineage (placeholder pins, no data read): manifest + traced hops.
DBT_LINEAGE_DIR = DBT_PROJECT_DIR / "target" / "lineage"

#: Where data lives when TRUST_HOME is not set: a git-ignored folder in the checkout.
DEFAULT_TRUST_HOME = PROJECT_ROOT / ".trust"


def join(base: str, *parts: str) -> str:
    """``base/part/...`` for a local path or an object-store URI alike."""
    return "/".join([base.rstrip("/"), *parts])


def _root_from_env(name: str) -> str | None:
    """A storage root from the environment: a URI as given (no trailing slash), a ``file://`` URI as its path."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if value.startswith("file://"):
        return str(Path(value.removeprefix("file://")).expanduser().resolve())
    if "://" not in value:
        return str(Path(value).expanduser().resolve())
    return value.rstrip("/")


def sibling(uri: str, name: str, setting: str) -> str:
    """The location ``name`` beside ``uri`` (same parent prefix); a bucket root has none, so say which to set."""
    if "://" not in uri:
        return str(Path(uri).parent / name)
    head, sep, key = uri.partition("://")
    parent, slash, _ = key.rstrip("/").rpartition("/")
    if not sep or not slash:
        raise ValueError(f"{uri} has no parent prefix to put {name}/ beside it: name a prefix "
                         f"(for example {uri}/published) or set {setting}")
    return f"{head}://{parent}/{name}"


def trust_home() -> Path:
    """The root folder for all data: ``$TRUST_HOME``, or ``<repo>/.trust`` when unset."""
    value = os.environ.get("TRUST_HOME", "").strip()
    return Path(value).expanduser().resolve() if value else DEFAULT_TRUST_HOME


@dataclass(frozen=True)
class TrustPaths:
    """Storage layout under one root (see docs/architecture.md)."""

    root: Path
    #: The departments' tables (TRUST_DEPARTMENTS_URI); None: ``<root>/departments``.
    departments_uri: str | None = None
    #: Published products and the release manifest (TRUST_PUBLISHED_URI); None: ``<root>/trust/published``.
    published_uri: str | None = None
    #: Release candidates (TRUST_CANDIDATES_URI); None: beside the published root (``candidates``).
    candidates_uri: str | None = None

    @classmethod
    def from_env(cls) -> TrustPaths:
        return cls(trust_home(), _root_from_env("TRUST_DEPARTMENTS_URI"), _root_from_env("TRUST_PUBLISHED_URI"),
                   _root_from_env("TRUST_CANDIDATES_URI"))

    @property
    def departments(self) -> str:
        """Where the departments' Delta tables live (a local folder or an object-store URI)."""
        return self.departments_uri or str(self.root / "departments")

    def source_table(self, dept: str, table: str) -> str:
        """A department's own Delta table: read-only to the trust."""
        return join(self.departments, dept, table)

    @property
    def local_roots(self) -> tuple[Path, ...]:
        """The Delta roots that are folders on this machine (created by :meth:`ensure`)."""
        return tuple(Path(r) for r in (self.published, self.candidates) if "://" not in r)

    @property
    def trust(self) -> Path:
        return self.root / "trust"

    @property
    def warehouse(self) -> Path:
        """dbt's DuckDB database: views and aggregates, never a copy of source rows."""
        return self.trust / "warehouse.duckdb"

    @property
    def spark_marts(self) -> Path:
        """The Spark engine's marts and audit model: Delta tables kept between runs (incremental), aggregates only."""
        return self.trust / "spark" / "marts"

    @property
    def spark_scratch(self) -> Path:
        """The Spark engine's person-level intermediate and reference tables for one run: removed after it."""
        return self.trust / "spark" / "scratch"

    @property
    def duckdb_spill(self) -> Path:
        """Where DuckDB spills past its memory limit: under the trust's storage, never the system temp folder."""
        return self.trust / "spill"

    @property
    def duckdb_scratch(self) -> Path:
        """The file behind dbt's ``run_scratch`` database (person-level intermediates) for one run when
        TRUST_SCRATCH=file (lib/memory.py; in memory by default); removed before and after every dbt build."""
        return self.trust / "scratch" / "run_scratch.duckdb"

    @property
    def candidates(self) -> str:
        """Release candidates awaiting audit (write–audit–publish): never read by analysts."""
        if self.candidates_uri:
            return self.candidates_uri
        if self.published_uri:
            return sibling(self.published_uri, "candidates", "TRUST_CANDIDATES_URI")
        return str(self.trust / "candidates")

    def candidate(self, product: str) -> str:
        return join(self.candidates, product)

    @property
    def published(self) -> str:
        return self.published_uri or str(self.trust / "published")

    def published_product(self, product: str) -> str:
        return join(self.published, product)

    @property
    def releases(self) -> str:
        """The release manifest (a Delta table): one row per complete release, committed last."""
        return join(self.published, "_releases")

    @property
    def disclosure_ledger(self) -> Path:
        """The release ledger: every published cell's true and published value per release (never served)."""
        return self.trust / "ledger"

    @property
    def candidate_ledger(self) -> Path:
        """A release candidate's ledger entries, appended to the ledger when the release is published. True values:
        kept local with the ledger, never beside the candidates in shared storage."""
        return self.trust / "ledger_candidate"

    @property
    def disclosure_secret(self) -> Path:
        """The cell-key secret that keyed rounding derives each cell's persistent offset from."""
        return self.secrets / "disclosure_cell_key"

    @property
    def lineage(self) -> Path:
        return self.trust / "lineage"

    @property
    def audit(self) -> Path:
        return self.trust / "audit"

    @property
    def access_log(self) -> Path:
        """The sharing server's hash-chained access log (its signed head sits beside it)."""
        return self.audit / "access.jsonl"

    @property
    def access_checkpoints(self) -> Path:
        """Signed (count, hash) checkpoints of the access log, kept away from it in the lineage store."""
        return self.lineage / "checkpoints" / "access.jsonl"

    @property
    def secrets(self) -> Path:
        """Keys the trust holds (0600 files in a 0700 folder): never served, never logged."""
        return self.trust / "secrets"

    @property
    def reports(self) -> Path:
        return self.trust / "reports"

    @property
    def alerts(self) -> Path:
        """Run-failure alert records (one JSON line per failed run), written by the alert sensor."""
        return self.trust / "alerts"

    @property
    def run_logs(self) -> Path:
        """Dagster's and dbt's console output of each ``trust run`` (what ``-v`` would have shown)."""
        return self.trust / "logs"

    @property
    def data_docs(self) -> Path:
        """GX Data Docs: one folder per run (``<run_id>/<product>``) and ``_static/``, the one copy of their assets."""
        return self.reports / "gx"

    @property
    def retractions(self) -> Path:
        """Retractions runs saw (``seen.jsonl``) and operators' acknowledgements (``acknowledgements.jsonl``)."""
        return self.trust / "retractions"

    @property
    def dbt_runs(self) -> Path:
        """dbt's target and log folders, one per dbt invocation (never inside the checkout)."""
        return self.trust / "dbt" / "runs"

    @property
    def sharing(self) -> Path:
        """Sharing server state: recipients (hashed tokens), signing key."""
        return self.trust / "sharing"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    def ensure(self) -> TrustPaths:
        """Create the trust-owned folders (never the department folders), private to the trust's user.

        Trust state (the warehouse, the access log, recipients, keys, candidates) is not for other local users:
        the folders are 0700 and the process umask becomes 077, so whatever the trust, DuckDB, deltalake or a dbt
        subprocess writes afterwards is created 0600 without each writer having to remember it.
        """
        private_umask()
        for folder in (self.trust, *self.local_roots, self.lineage, self.audit, self.reports,
                       self.sharing, self.secrets, self.dagster_home, self.duckdb_spill, self.duckdb_scratch.parent):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        return self


def private_umask() -> None:
    """Make every file this process creates from now on private to its user (0600 files, 0700 folders)."""
    os.umask(0o077)
