"""The evaluation report's "Retractions" section: every retraction a run saw (lib/audit/retractions.py writes the
logs under ``TrustPaths.retractions``), blocked or acknowledged, with who acknowledged it and why."""

from __future__ import annotations

from html import escape as esc

from trust_assets.lib.evaluation.report.data import read_jsonl
from trust_assets.lib.paths import TrustPaths


def retractions_section(paths: TrustPaths) -> str:
    """Every retraction a run saw: blocked, or acknowledged (by whom, why) and so published."""
    head = ("<h2>Retractions</h2><p class=\"lead\">Published data a department took back (a month removed or "
            "shrunk) or outcomes that would turn back to not yet observable: blocked until an operator acknowledged "
            "them (<code>trust acknowledge</code>).</p>")
    return head + _table(paths)


def _table(paths: TrustPaths) -> str:
    records = read_jsonl(paths.retractions / "seen.jsonl")
    if not records:
        return '<p class="muted">No run has seen a retraction of published data.</p>'
    acks = {a["id"]: a for a in read_jsonl(paths.retractions / "acknowledgements.jsonl")
            if a.get("type") == "acknowledged"}
    rows = []
    for r in records[-50:]:
        ack = acks.get(r.get("ack") or "")
        note = f"{esc(ack['id'])} by {esc(ack['by'])}: {esc(ack['reason'])}" if ack else ""
        rows.append(f"<tr><td>{esc(r['at'])}</td><td><code>{esc(r['run_id'][:8])}</code></td>"
                    f"<td><code>{esc(r['subject'])}</code></td><td>{esc(r['month'])}</td><td>{esc(r['kind'])}</td>"
                    f"<td class=\"num\">{r['before']:,} → {r['after']:,}</td>"
                    f'<td><span class="tag {"fail" if r["status"] == "blocked" else "info"}">{esc(r["status"])}'
                    f"</span></td><td>{note}</td></tr>")
    return ("<table><thead><tr><th>time</th><th>run</th><th>subject</th><th>month</th><th>kind</th>"
            "<th class=\"num\">before → after</th><th>status</th><th>acknowledgement</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")
