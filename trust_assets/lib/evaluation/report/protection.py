"""The evaluation report's "cells protected" column: per product version, how many cells each disclosure rule
protected — suppressed by reason (threshold … cross_release, the differencing rule) and perturbed by keyed
rounding (published counts that differ from their true value), from the ``trust.suppressed`` and
``trust.protection`` commit metadata (lib/audit/disclosure/perturbation.py)."""

from __future__ import annotations

from collections import Counter

from trust_assets.lib.evaluation.report.charts import esc
from trust_assets.lib.evaluation.report.data import ProductVersion

HEADER = '<th class="num">cells suppressed; perturbed</th>'


def protection_cell(version: ProductVersion) -> str:
    """``<suppressed>; <perturbed> perturbed`` with the breakdown by rule and by column in a details element."""
    by_rule = Counter[str]()
    for key, cells in version.suppressed.items():
        by_rule[key.partition(":")[2] or key] += int(cells)
    touched = version.protection
    summary = f"{version.suppressed_cells:,}"
    items = [f"<li>suppressed, {esc(rule)}: {cells:,}</li>" for rule, cells in sorted(by_rule.items())]
    if version.perturbed_cells is not None:
        method = esc(str(touched.get("count_method", "keyed_rounding")))
        published = int(touched.get("count_cells_published", 0))
        total = float(touched.get("count_abs_perturbation", 0.0))
        mean = f", mean |Δ| {total / published:.2f}" if published else ""
        summary += f"; {version.perturbed_cells:,} perturbed"
        items.append(f"<li>perturbed, {method}: {version.perturbed_cells:,} of {published:,} published counts"
                     f"{mean}</li>")
        if touched.get("pay_cells_published"):
            items.append(f"<li>rounded, pay: {int(touched.get('pay_cells_rounded', 0)):,} of "
                         f"{int(touched['pay_cells_published']):,} published pay statistics</li>")
    if touched.get("cross_release_pinned_by_history"):
        items.append(f"<li>withheld, cross_release, already pinned by earlier versions and known corrections: "
                     f"{int(touched['cross_release_pinned_by_history']):,} (docs/quality.md)</li>")
    items += [f"<li class=\"muted\">{esc(k)}: {v:,}</li>" for k, v in sorted(version.suppressed.items())]
    if not items:
        return "0"
    return f'<details><summary>{summary}</summary><ul class="tight">{"".join(items)}</ul></details>'
