"""docs/products.md's column tables, generated from the dbt marts (their contracts and column descriptions).

The marts' YAML is the one source of truth for what a published column is: the same descriptions reach the
Dagster UI (dagster-dbt), the catalogue and this page. The narrative around the tables stays hand-written; each
table sits between ``<!-- generated:columns:<product> -->`` and ``<!-- /generated -->`` and is rewritten by
``python -m trust_assets.lib.evaluation.data_dictionary`` (``--check`` fails when the page is stale; the tests run it).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from trust_assets.lib.paths import DBT_PROJECT_DIR, PROJECT_ROOT
from trust_assets.lib.registry.products import PRODUCTS

DOC = PROJECT_ROOT / "docs" / "products.md"
SUPPORT_PREFIX = "sdc_"


def column_table(manifest: dict, product: str) -> str:
    """The markdown table of a mart's published columns (support columns folded into one line per statistic)."""
    node = manifest["nodes"][f"model.labour_market_trust.{product}"]
    lines = ["| column | type | definition |", "|---|---|---|"]
    folded: set[str] = set()
    for name, column in node["columns"].items():
        text = " ".join(str(column.get("description") or "").split()).replace("|", "\\|")
        if name.startswith(SUPPORT_PREFIX):
            stem = name.rsplit("_", 1)[0] + "_*"
            if stem not in folded:
                folded.add(stem)
                lines.append(f"| {stem} | | Hidden support columns for disclosure control, never published "
                             "(see *Hidden disclosure support columns*). |")
            continue
        lines.append(f"| {name} | {column.get('data_type') or ''} | {text} |")
    return "\n".join(lines)


def render(doc: str, manifest: dict) -> str:
    for p in PRODUCTS:
        pattern = re.compile(rf"(<!-- generated:columns:{p.name} -->\n).*?(\n<!-- /generated -->)", re.S)
        if not pattern.search(doc):
            raise ValueError(f"{DOC} has no generated block for {p.name}")
        table = column_table(manifest, p.name)

        def fill(match: re.Match[str], table: str = table) -> str:
            return match.group(1) + table + match.group(2)

        doc = pattern.sub(fill, doc)
    return doc


def main(argv: list[str]) -> int:
    manifest_path = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest_path.exists():
        sys.exit(f"{manifest_path} is missing: run `python -m trust_assets.lib.transform.dbt_prepare` first")
    manifest = json.loads(manifest_path.read_text())
    current = DOC.read_text()
    fresh = render(current, manifest)
    if "--check" in argv:
        if fresh != current:
            sys.exit(f"{DOC} is out of date with the dbt marts: "
                     "run `python -m trust_assets.lib.evaluation.data_dictionary`")
        return 0
    Path(DOC).write_text(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
