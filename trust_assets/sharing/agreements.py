"""Data sharing agreements as code: one YAML file per agreement in ``agreements/``.

An agreement is the only thing that makes a table visible to a recipient: which share/schema/table names it sees,
which source each name reads (a department's own Delta table or a published product), which columns and rows it
may receive, for what purpose and on what lawful basis, between which dates, and what it may release onward.
Files are validated at load with pydantic and every error names the file and the field, so a data owner editing
YAML sees exactly what to fix.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trust_assets.lib.paths import AGREEMENTS_DIR, TrustPaths
from trust_assets.lib.registry.products import product
from trust_assets.lib.registry.sources import source_table
from trust_assets.sharing.rules import RowRule, RuleError

#: Share, schema and table names: the protocol forbids spaces, '/', '.' and control characters; we go stricter.
NAME = r"^[a-z0-9][a-z0-9_-]{0,127}$"
_NAME = re.compile(NAME)
_ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?$")


class AgreementError(ValueError):
    """An agreement file that cannot be used; the message starts with the file and the field."""


class TableSource(BaseModel):
    """Exactly one of: a department table key (``hmrc/paye_employments``) or a published product name."""

    model_config = ConfigDict(extra="forbid")
    department_table: str | None = None
    published_product: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TableSource:
        if (self.department_table is None) == (self.published_product is None):
            raise ValueError("give exactly one of department_table or published_product")
        if self.department_table is not None:
            source_table(self.department_table)  # KeyError names the known tables
        if self.published_product is not None:
            product(self.published_product)
        return self

    @property
    def key(self) -> str:
        return self.department_table or f"published/{self.published_product}"

    def path(self, paths: TrustPaths) -> str:
        """The table's location: a local folder or an object-store URI (the roots in lib/paths.py)."""
        if self.department_table is not None:
            dept, table = self.department_table.split("/")
            return paths.source_table(dept, table)
        return paths.published_product(str(self.published_product))


class SharedTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_name: str = Field(alias="schema", pattern=NAME)
    name: str = Field(pattern=NAME)
    source: TableSource
    #: Permitted columns, or ``all``; a recipient never receives bytes of any other column.
    columns: list[str] | Literal["all"]
    #: Permitted rows: conjunctive rules such as ``month >= 2025-01``; empty means every row.
    rows: list[str] = Field(default_factory=list)
    description: str = ""

    @field_validator("rows")
    @classmethod
    def _rules_parse(cls, rows: list[str]) -> list[str]:
        for text in rows:
            RowRule.parse(text)
        return rows

    @model_validator(mode="after")
    def _known_columns(self) -> SharedTable:
        if self.source.department_table is None:
            return self  # a product's columns are checked against its Delta schema when served
        source = source_table(self.source.department_table)
        schema = source.schema
        if self.columns != "all":
            unknown = [c for c in self.columns if c not in schema.names]
            if unknown:
                raise ValueError(f"columns {unknown} are not in {source.key}; known: {schema.names}")
        for rule in self.row_rules:
            if rule.column not in schema.names:
                raise ValueError(f"row rule {rule.text!r}: column {rule.column!r} is not in {source.key}")
            rule.typed_values(schema.field(rule.column).type)
        return self

    @property
    def row_rules(self) -> tuple[RowRule, ...]:
        return tuple(RowRule.parse(text) for text in self.rows)

    def permitted(self, names: list[str]) -> list[str]:
        """The table's columns this agreement allows, in table order."""
        return list(names) if self.columns == "all" else [n for n in names if n in self.columns]


class Agreement(BaseModel):
    """One data sharing agreement between a provider and a recipient for one share."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=NAME)
    title: str = ""
    provider: str = Field(min_length=1)
    recipient: str = Field(pattern=NAME)
    share: str = Field(pattern=NAME)
    purpose: str = Field(min_length=10)
    lawful_basis: str = Field(min_length=3)
    start_date: dt.date
    end_date: dt.date
    #: How long the recipient may keep what it receives, as an ISO 8601 duration (P0D: not at all).
    retention: str
    status: Literal["active", "withdrawn"]
    #: What the recipient may release onward.
    disclosure_policy: Literal["no_onward_release", "aggregates_after_disclosure_control", "open_government_licence"]
    disclosure_notes: str = ""
    tables: list[SharedTable] = Field(min_length=1)

    @field_validator("retention")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not _ISO_DURATION.match(value):
            raise ValueError(f"{value!r} is not an ISO 8601 duration such as P0D, P6M or P2Y")
        return value

    @model_validator(mode="after")
    def _dates_and_names(self) -> Agreement:
        if self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        seen: set[tuple[str, str]] = set()
        for table in self.tables:
            key = (table.schema_name, table.name)
            if key in seen:
                raise ValueError(f"table {table.schema_name}.{table.name} is listed twice")
            seen.add(key)
        return self

    def refusal(self, today: dt.date) -> str | None:
        """Why this agreement does not permit access today, or None when it does."""
        if self.status == "withdrawn":
            return f"agreement {self.id} has been withdrawn"
        if today < self.start_date:
            return f"agreement {self.id} starts on {self.start_date}"
        if today > self.end_date:
            return f"agreement {self.id} expired on {self.end_date}"
        return None

    def table(self, schema: str, name: str) -> SharedTable | None:
        for table in self.tables:
            if table.schema_name == schema.lower() and table.name == name.lower():
                return table
        return None

    @property
    def schemas(self) -> list[str]:
        return sorted({t.schema_name for t in self.tables})


@dataclass(frozen=True)
class BrokenAgreement:
    """An agreement file that does not validate: what it blocks, and whether it at least says 'withdrawn'.

    Its recipient, share and status are salvaged line by line from the raw text, so a withdrawal is honoured even
    when the rest of the file is broken; the keys the same file granted before the edit are blocked too.
    """

    file: Path
    error: str
    keys: frozenset[tuple[str, str]]
    ids: frozenset[str]
    withdrawn: bool


@dataclass(frozen=True)
class AgreementSet:
    """Every agreement in a folder, indexed by (recipient, share), and the broken files that block shares.

    ``unusable`` is set when the folder as a whole cannot be trusted (it vanished, or a broken file does not
    even say whose share it is): the server then refuses every data request rather than guess.
    """

    agreements: tuple[Agreement, ...]
    folder: Path
    paths: TrustPaths
    broken: tuple[BrokenAgreement, ...] = ()
    unusable: str | None = None

    def blocked(self, recipient: str, share: str) -> BrokenAgreement | None:
        key = (recipient, share.lower())
        return next((b for b in self.broken if key in b.keys), None)

    def blocked_id(self, agreement_id: str) -> BrokenAgreement | None:
        return next((b for b in self.broken if agreement_id in b.ids), None)

    @property
    def problems(self) -> list[str]:
        return ([self.unusable] if self.unusable else []) + [b.error for b in self.broken]

    def source_path(self, table: SharedTable) -> str:
        """Where the table's source Delta table lives under this set's TrustPaths."""
        return table.source.path(self.paths)

    def for_recipient(self, recipient: str) -> list[Agreement]:
        return sorted((a for a in self.agreements if a.recipient == recipient), key=lambda a: a.share)

    def find(self, recipient: str, share: str) -> Agreement | None:
        if self.blocked(recipient, share):
            return None
        for agreement in self.agreements:
            if agreement.recipient == recipient and agreement.share == share.lower():
                return agreement
        return None

    def share_exists(self, share: str) -> bool:
        return any(a.share == share.lower() for a in self.agreements)

    def by_id(self, agreement_id: str) -> Agreement | None:
        if self.blocked_id(agreement_id):
            return None
        return next((a for a in self.agreements if a.id == agreement_id), None)


def _format_validation(path: Path, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in error["loc"]).replace(".[", "[")
        lines.append(f"{path}: {loc or '(top level)'}: {error['msg']}")
    return "\n".join(lines)


def load_agreement(path: Path) -> Agreement:
    """Parse and validate one agreement file; errors name the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise AgreementError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise AgreementError(f"{path}: (top level): expected a mapping of agreement fields")
    try:
        agreement = Agreement.model_validate(data)
    except ValidationError as exc:
        raise AgreementError(_format_validation(path, exc)) from None
    except (KeyError, RuleError) as exc:
        raise AgreementError(f"{path}: {exc}") from None
    if agreement.id != path.stem:
        raise AgreementError(f"{path}: id: {agreement.id!r} must match the file name {path.stem!r}")
    return agreement


def load_agreements(folder: Path | None, paths: TrustPaths) -> AgreementSet:
    """Load every ``*.yaml`` in ``folder`` (default: the repo's agreements/), resolving sources under ``paths``.

    Agreement files never hold paths, only source names, so the same files serve tests, the demo and a deployment.
    """
    folder = Path(folder) if folder is not None else AGREEMENTS_DIR
    if not folder.is_dir():
        raise AgreementError(f"{folder}: agreements folder does not exist")
    agreements = tuple(load_agreement(p) for p in sorted(folder.glob("*.yaml")))
    seen: dict[tuple[str, str], Path] = {}
    for agreement in agreements:
        key = (agreement.recipient, agreement.share)
        if key in seen:
            raise AgreementError(f"{folder / (agreement.id + '.yaml')}: share: recipient {agreement.recipient!r} "
                                 f"already receives share {agreement.share!r} under {seen[key].name}")
        seen[key] = folder / f"{agreement.id}.yaml"
    return AgreementSet(agreements=agreements, folder=folder, paths=paths)


_TOP_LEVEL = re.compile(r"^(id|recipient|share|status)\s*:\s*['\"]?([^'\"#\s]+)['\"]?\s*(?:#.*)?$", re.MULTILINE)


def _salvage(text: str) -> dict[str, str]:
    """Top-level ``key: value`` lines of a file that may not even be YAML (first occurrence wins)."""
    found: dict[str, str] = {}
    for key, value in _TOP_LEVEL.findall(text):
        found.setdefault(key, value.lower())
    return found


def _broken(path: Path, error: str, previous: AgreementSet | None) -> BrokenAgreement:
    try:
        salvaged = _salvage(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        salvaged = {}
    keys: set[tuple[str, str]] = set()
    ids = {path.stem}
    if "recipient" in salvaged and "share" in salvaged:
        keys.add((salvaged["recipient"], salvaged["share"]))
    if "id" in salvaged:
        ids.add(salvaged["id"])
    if previous is not None:
        for old in previous.agreements:
            if old.id in ids:
                keys.add((old.recipient, old.share))
        for old_broken in previous.broken:
            if old_broken.file == path:
                keys |= old_broken.keys
                ids |= old_broken.ids
    withdrawn = salvaged.get("status") == "withdrawn" or "withdrawn" in {
        v.strip().strip("'\"").lower() for v in re.findall(r"^status\s*:(.*)$", _safe_text(path), re.MULTILINE)}
    return BrokenAgreement(file=path, error=error, keys=frozenset(keys), ids=frozenset(ids), withdrawn=withdrawn)


def _safe_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def scan_agreements(folder: Path, paths: TrustPaths, previous: AgreementSet | None = None) -> AgreementSet:
    """Load a folder for a running server: valid files are used as they are now, broken ones block their shares.

    Never falls back to an earlier version of a broken file: ``previous`` is consulted only to learn which
    (recipient, share) pairs that file used to grant, so those are blocked as well.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return AgreementSet((), folder, paths, unusable=f"{folder}: agreements folder does not exist")
    good: list[Agreement] = []
    broken: list[BrokenAgreement] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            good.append(load_agreement(path))
        except (AgreementError, OSError, UnicodeDecodeError) as exc:
            broken.append(_broken(path, str(exc), previous))
    by_key: dict[tuple[str, str], list[Agreement]] = {}
    for agreement in good:
        by_key.setdefault((agreement.recipient, agreement.share), []).append(agreement)
    for key, clashing in by_key.items():
        if len(clashing) > 1:
            names = ", ".join(f"{a.id}.yaml" for a in clashing)
            broken.append(BrokenAgreement(file=folder, error=f"{folder}: share: recipient {key[0]!r} receives share "
                                          f"{key[1]!r} under several agreements ({names})", keys=frozenset([key]),
                                          ids=frozenset(a.id for a in clashing), withdrawn=False))
    unusable = next((f"{b.file}: cannot tell which recipient and share it is for, so every share is suspended: "
                     f"{b.error}" for b in broken if not b.keys), None)
    return AgreementSet(tuple(good), folder, paths, broken=tuple(broken), unusable=unusable)


def folder_signature(folder: Path) -> tuple:
    """Change detector so a running server picks up edited agreements (e.g. a withdrawal) on the next request.

    Inode and change time as well as size and mtime, so a same-size edit within one mtime tick, or a file
    replaced by rename, is still seen.
    """
    signature = []
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        signature.append((path.name, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size))
    return tuple(signature)
