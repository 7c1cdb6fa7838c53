"""The vendored OpenLineage schemas are the shared spec, and the custom facet schema is a sound draft 2020-12
schema that extends OpenLineage's DatasetFacet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from trust_assets.lib.evaluation.lineage.facets import DISCLOSURE_FACET, DISCLOSURE_FACET_SCHEMA_ID
from trust_assets.lib.evaluation.lineage.validation import FACETS_DIR, SPECS_DIR, STANDARD_FACET_FILES
from trust_assets.lib.paths import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared" / "specs" / "openlineage"


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared/specs beside the checkout")
def test_vendored_copy_equals_shared_specs() -> None:
    files = ["OpenLineage.json", *(f"facets/{name}" for name in STANDARD_FACET_FILES)]
    for name in files:
        assert (SPECS_DIR / name).read_bytes() == (SHARED / name).read_bytes(), f"{name} differs from shared/"
    assert sorted(p.name for p in (SPECS_DIR / "facets").glob("*.json")) == sorted(STANDARD_FACET_FILES)


def test_vendored_copy_keeps_its_notice() -> None:
    notice = (SPECS_DIR / "NOTICE").read_text()
    assert "Apache License, Version 2.0" in notice and "8f02abf" in notice


def test_custom_facet_schema_is_valid_and_extends_dataset_facet() -> None:
    schema = json.loads((FACETS_DIR / "DisclosureControlDatasetFacet.json").read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == DISCLOSURE_FACET_SCHEMA_ID
    facet = schema["$defs"]["DisclosureControlDatasetFacet"]
    assert facet["allOf"][0] == {"$ref": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetFacet"}
    assert schema["properties"][DISCLOSURE_FACET] == {"$ref": "#/$defs/DisclosureControlDatasetFacet"}


def test_every_standard_facet_file_has_the_id_its_name_says() -> None:
    for path in Path(SPECS_DIR / "facets").glob("*.json"):
        schema = json.loads(path.read_text())
        assert schema["$id"].endswith(f"/{path.name}")
        Draft202012Validator.check_schema(schema)
