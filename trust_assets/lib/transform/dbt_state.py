"""dbt's parse, carried from one run to the next, only when nothing in the project changed.

Each run gives dbt a target folder of its own under TRUST_HOME (defs/transform/assets.py). The run's own values no
longer change dbt's command line (lib/transform/dbt_args.py), so the last run's ``partial_parse.msgpack``, made
with this home's profile, lets dbt skip parsing (4.2 s a run at national scale). It is reused only when the dbt
project's files are byte for byte those the earlier run parsed (a fingerprint stored beside it): dbt 1.11's
partial *re*-parse of changed files drops the config singular tests take from their YAML (seen 2026-12-04: their
``meta.dagster.ref``), so the trust never asks dbt for one. A run with no such parse passes ``--no-partial-parse``
and parses whole, which also leaves the next run a parse to reuse.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

PARTIAL_PARSE = "partial_parse.msgpack"
#: Beside a run's parse: the fingerprint of the project files it was made from.
FINGERPRINT = "trust_project.sha256"
#: dbt's own output under the project, not its input.
_NOT_PROJECT = {"target", "logs", "dbt_packages", ".user.yml"}


def project_fingerprint(project_dir: Path) -> str:
    """SHA-256 over every file of the dbt project (path and bytes), dbt's outputs left out."""
    digest = hashlib.sha256()
    for path in sorted(p for p in project_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(project_dir)
        if relative.parts[0] in _NOT_PROJECT or "__pycache__" in relative.parts:
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def latest_partial_parse(runs: Path, fingerprint: str, exclude: Path | None = None) -> Path | None:
    """The newest ``partial_parse.msgpack`` among the run folders under ``runs`` (not ``exclude``'s) made from the
    project files ``fingerprint`` names, if any."""
    if not runs.is_dir():
        return None
    found: list[tuple[float, Path]] = []
    for folder in runs.iterdir():
        candidate = folder / PARTIAL_PARSE
        if folder == exclude or not candidate.is_file():
            continue
        try:
            if (folder / FINGERPRINT).read_text(encoding="ascii").strip() != fingerprint:
                continue
            found.append((candidate.stat().st_mtime, candidate))
        except (FileNotFoundError, UnicodeDecodeError):  # no fingerprint, or pruned by a run beside this one
            continue
    return max(found)[1] if found else None


def reuse_partial_parse(runs: Path, target: Path, fingerprint: str) -> Path | None:
    """Record ``fingerprint`` in ``target`` and copy in the newest earlier run's parse of the same project files
    (private, written whole then renamed, so dbt never reads half a file). Returns the parse reused, or None: the
    caller then has dbt parse whole."""
    target.mkdir(parents=True, exist_ok=True)
    (target / FINGERPRINT).write_text(fingerprint + "\n", encoding="ascii")
    source = latest_partial_parse(runs, fingerprint, exclude=target)
    if source is None:
        return None
    partial = target / f".{PARTIAL_PARSE}.part"
    try:
        shutil.copyfile(source, partial)
    except FileNotFoundError:  # pruned between the listing and the copy: parse whole
        return None
    os.chmod(partial, 0o600)
    partial.replace(target / PARTIAL_PARSE)
    return source
