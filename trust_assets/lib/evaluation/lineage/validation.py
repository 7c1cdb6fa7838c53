"""Validation of every event against the vendored OpenLineage schemas before anything is written.

Each event is checked against ``specs/openlineage/`` (and each facet against the schema its ``_schemaURL`` names,
the trust's own facet against ``facets/``), so a malformed event fails loudly in the step that built it instead
of silently in a downstream catalogue. No schema is ever fetched from the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.protocols import Validator


SPECS_DIR = Path(__file__).resolve().parent / "specs" / "openlineage"
FACETS_DIR = Path(__file__).resolve().parent / "facets"
CORE_SCHEMA_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
#: The standard facet schema files this module emits; the vendored copy holds exactly these.
STANDARD_FACET_FILES = (
    "ColumnLineageDatasetFacet.json",
    "DataQualityAssertionsDatasetFacet.json",
    "DatasetVersionDatasetFacet.json",
    "DocumentationDatasetFacet.json",
    "ErrorMessageRunFacet.json",
    "InputStatisticsInputDatasetFacet.json",
    "JobTypeJobFacet.json",
    "OutputStatisticsOutputDatasetFacet.json",
    "ParentRunFacet.json",
    "ProcessingEngineRunFacet.json",
    "SchemaDatasetFacet.json",
    "SymlinksDatasetFacet.json",
)


class LineageValidationError(ValueError):
    """An event (or one of its facets) does not match the OpenLineage schemas."""


def load_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _registry() -> Any:
    """Every schema the events use, keyed by its $id, so $refs resolve to local files and never the network."""
    from referencing import Registry, Resource

    files = [SPECS_DIR / "OpenLineage.json", *(SPECS_DIR / "facets").glob("*.json"), *FACETS_DIR.glob("*.json")]
    resources = []
    for path in files:
        schema = load_json(path)
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def _validator(ref: str) -> Validator:
    from jsonschema import Draft202012Validator

    known = {uri for uri in _registry()}
    base = ref.split("#", 1)[0]
    if base not in known:
        raise LineageValidationError(f"no local schema for {ref!r}; known: {', '.join(sorted(known))}")
    return Draft202012Validator({"$ref": ref}, registry=_registry(),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def _iter_facets(event: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for kind in ("run", "job"):
        for name, facet in ((event.get(kind) or {}).get("facets") or {}).items():
            yield f"{kind}.facets.{name}", facet
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        for i, dataset in enumerate(event.get(side) or []):
            for group in ("facets", extra):
                for name, facet in (dataset.get(group) or {}).items():
                    yield f"{side}[{i}].{group}.{name}", facet


def _errors(validator: Validator, instance: Any, where: str) -> list[str]:
    out = []
    for err in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in err.absolute_path)
        out.append(f"{where}{'.' + path if path else ''}: {err.message}")
    return out


def validate_event(event: Mapping[str, Any]) -> None:
    """Raise LineageValidationError listing every problem: the core RunEvent schema, then each facet's schema."""
    problems = _errors(_validator(f"{CORE_SCHEMA_ID}#/$defs/RunEvent"), event, "event")
    for where, facet in _iter_facets(event):
        url = facet.get("_schemaURL") if isinstance(facet, Mapping) else None
        if not url:
            problems.append(f"{where}: facet has no _schemaURL")
            continue
        try:
            problems += _errors(_validator(url), facet, where)
        except LineageValidationError as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        raise LineageValidationError("invalid OpenLineage event:\n  " + "\n  ".join(problems))
