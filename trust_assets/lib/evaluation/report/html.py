"""The evaluation report: one self-contained HTML file that answers the pilot's evaluation questions.

The HTML has inline CSS and inline SVG only (no scripts from elsewhere, no fonts, no network) so it can be mailed
or archived as one file.
"""

from __future__ import annotations

import os
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trust_assets.lib.evaluation.report.activity import (
    FailedRun,
    RecipientTotals,
    bytes_by_day,
    failed_runs,
    new_source_versions,
    recipient_totals,
)
from trust_assets.lib.evaluation.report.charts import chart, esc, lineage_graph, lineage_svg
from trust_assets.lib.evaluation.report.data import (
    ProductVersion,
    RecipientReads,
    human_bytes,
    human_duration,
    latency_unit,
    product_history,
    read_access_audit,
    reads_of,
)
from trust_assets.lib.evaluation.report.protection import HEADER as PROTECTION_HEADER
from trust_assets.lib.evaluation.report.protection import protection_cell
from trust_assets.lib.evaluation.report.retractions import retractions_section
from trust_assets.lib.months import contiguous_blocks
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS, product

REPORT_FILE = "evaluation.html"
#: Newest versions listed per product; older ones are summarised, so the report stays small as versions grow.
VERSION_ROWS = 12
#: Newest failed runs listed; the rest are counted.
FAILED_ROWS = 25
CATALOG_FILE = "catalog.jsonld"
#: Title marker the inline error hook writes; the browser test asserts it never appears.
ERROR_MARKER = "REPORT-SCRIPT-ERROR"
CSS = """
:root{--ink:#0b0c0c;--muted:#505a5f;--line:#b1b4b6;--soft:#f3f2f1;--blue:#1d70b8;--green:#00703c;--red:#d4351c}
*{box-sizing:border-box}
body{margin:0;font-family:"Helvetica Neue",Helvetica,Arial,sans-serif;color:var(--ink);background:#fff;
 font-size:15px;line-height:1.45}
header{background:#0b0c0c;color:#fff;padding:22px 40px 18px;border-bottom:8px solid var(--blue)}
header h1{margin:0 0 4px;font-size:26px} header p{margin:0;color:#d7dadc;font-size:14px}
main{padding:8px 40px 40px;max-width:1400px}
h2{font-size:21px;margin:34px 0 10px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:18px;margin:26px 0 6px}
p.lead{color:var(--muted);margin:4px 0 14px;max-width:980px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:14px;margin:22px 0 6px}
.card{border:1px solid var(--line);border-left:5px solid var(--blue);padding:12px 14px;background:#fff}
.card .value{font-size:24px;font-weight:700} .card .label{color:var(--muted);font-size:13px}
.card.good{border-left-color:var(--green)} .card.bad{border-left-color:var(--red)}
.figure{border:1px solid var(--line);background:#fff;padding:12px;overflow-x:auto}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(620px,1fr));gap:14px}
table.versions{table-layout:fixed}
table{border-collapse:collapse;width:100%;font-size:13.5px;margin:6px 0 10px}
th,td{text-align:left;padding:7px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--soft);font-weight:700} td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.tag{display:inline-block;padding:1px 7px;border-radius:3px;font-size:12px;font-weight:700;margin:1px 2px 1px 0}
.pass{background:#cce2d8;color:#005a30} .warn{background:#fff2cc;color:#6b4e00}
.fail{background:#f4cdc6;color:#942514} .info{background:#d2e2f1;color:#0c2d4a}
code,.mono{font-family:Menlo,Consolas,monospace;font-size:12px}
details summary{cursor:pointer;color:var(--blue)} ul.tight{margin:2px 0;padding-left:18px}
ul.sources{list-style:none;padding:0;margin:0} ul.sources li{white-space:nowrap}
.muted{color:var(--muted);fill:#505a5f;font-size:13px}
.figure svg,.charts svg{max-width:100%;height:auto}
svg text{font-family:"Helvetica Neue",Helvetica,Arial,sans-serif}
svg .chart-title{font-size:14px;font-weight:700;fill:#0b0c0c} svg .axis{font-size:11px;fill:#505a5f}
svg .legend{font-size:12px;fill:#0b0c0c} svg .grid{stroke:#e5e6e7;stroke-width:1} svg .axis-line{stroke:#b1b4b6}
svg .layer{font-size:12px;font-weight:700;fill:#505a5f;text-transform:uppercase;letter-spacing:.04em}
svg .node{font-size:11.5px;fill:#0b0c0c} svg .edge{fill:none;stroke:#8fa7bd;stroke-width:1.2;opacity:.85}
footer{color:var(--muted);font-size:13px;border-top:1px solid var(--line);padding:14px 40px 30px}
"""
#: Records any script error in the title so a headless browser run can detect it from the dumped DOM.
ERROR_HOOK = (
    "<script>window.addEventListener('error',function(e){document.title='" + ERROR_MARKER
    + ": '+(e.message||'resource error');document.documentElement.setAttribute('data-report-error','1');},true);"
    "</script>"
)


def _tags(version: ProductVersion) -> str:
    if not version.checks:
        return '<span class="muted">none recorded</span>'
    rows = []
    for c in version.checks:
        warned = not c.get("passed") and str(c.get("severity", "")).upper() == "WARN"
        cls, word = ("pass", "pass") if c.get("passed") else (("warn", "warn") if warned else ("fail", "FAIL"))
        rows.append(f'<li><span class="tag {cls}">{word}</span>'
                    f'{esc(c.get("name", "?"))} <span class="muted">{esc(c.get("severity", ""))}'
                    f'{" – " + esc(c["description"]) if c.get("description") else ""}</span></li>')
    summary = (f'<span class="tag pass">{version.checks_passed} passed</span>'
               + (f'<span class="tag warn">{version.checks_warned} warned</span>' if version.checks_warned else "")
               + (f'<span class="tag fail">{version.checks_failed} failed</span>' if version.checks_failed else ""))
    return f'<details><summary>{summary}</summary><ul class="tight">{"".join(rows)}</ul></details>'


def _reads(reads: Sequence[RecipientReads]) -> str:
    if not reads:
        return '<span class="muted">no reads</span>'
    rows = []
    for r in reads:
        denied = f' <span class="tag fail">{r.denied} denied</span>' if r.denied else ""
        rows.append(f"<li>{esc(r.recipient)}: {r.reads} quer{'ies' if r.reads != 1 else 'y'}{denied}</li>")
    return f'<ul class="tight">{"".join(rows)}</ul>'


def _movement(version: ProductVersion) -> str:
    if version.bytes_read is None and version.source_bytes_total is None:
        return "–"
    text = f"{human_bytes(version.bytes_read)} / {human_bytes(version.source_bytes_total)}"
    if version.bytes_read is not None and version.source_bytes_total:
        text += f' <span class="muted">({version.bytes_read / version.source_bytes_total:.0%})</span>'
    return text


#: Same column widths for every product's table, so evaluators can scan across products.
VERSION_COLGROUP = "<colgroup>" + "".join(
    f'<col style="width:{w}%">' for w in (6, 13, 7, 17, 13, 8, 6, 7, 13, 10)) + "</colgroup>"


def _months(months: Sequence[str]) -> str:
    """``2025-01..2025-06, 2025-09``: contiguous months as ranges, not a long list."""
    if not months:
        return "–"
    return ", ".join(b[0] if len(b) == 1 else f"{b[0]}..{b[-1]}" for b in contiguous_blocks(months))


def _version_row(name: str, v: ProductVersion, fresh: bool, audit: Sequence[Mapping[str, Any]]) -> str:
    sources = "".join(f"<li>{esc(k)} <span class=\"tag info\">v{n}</span></li>" for k, n in sorted(v.sources.items()))
    latency = human_duration(v.latency_ms) if fresh else '<span class="tag info">republication</span>'
    return (f'<tr data-product="{esc(name)}" data-version="{v.version}">'
            f'<td class="num"><strong>v{v.version}</strong></td>'
            f'<td>{esc(v.published_at.strftime("%Y-%m-%d %H:%M:%S"))} UTC<br>'
            f'<span class="mono muted">run {esc((v.run_id or "–")[:8])}</span></td>'
            f"<td>{esc(_months(v.months))}</td>"
            f'<td><ul class="sources">{sources}</ul></td>'
            f"<td>{_tags(v)}</td>"
            f'<td class="num">{protection_cell(v)}</td>'
            f'<td class="num">{"–" if v.rows is None else f"{v.rows:,}"}</td>'
            f'<td class="num">{latency}</td>'
            f"<td>{_reads(reads_of(audit, name, v.version))}</td>"
            f"<td>{_movement(v)}</td></tr>")


def _product_section(name: str, versions: Sequence[ProductVersion], audit: Sequence[Mapping[str, Any]],
                     data_docs: str | None = None) -> str:
    meta = product(name)
    docs = (f' <a href="{esc(data_docs)}">GX Data Docs of the latest audit</a>.' if data_docs else "")
    head = (f'<section id="product-{esc(name)}"><h3>{esc(meta.title)} <code>{esc(name)}</code></h3>'
            f'<p class="lead">{esc(meta.description)} Grain: {esc(", ".join(meta.grain))}.{docs}</p>')
    if not versions:
        return head + '<p class="muted">Not published yet.</p></section>'
    fresh = {v.version for v in new_source_versions(versions)[0]}
    shown = list(reversed(versions))[:VERSION_ROWS]
    rows = [_version_row(name, v, v.version in fresh, audit) for v in shown]
    older = versions[: max(0, len(versions) - VERSION_ROWS)]
    if older:
        months = sorted({m for v in older for m in v.months})
        rows.append(f'<tr class="older"><td colspan="10" class="muted">{len(older)} older versions '
                    f"(v{older[0].version}–v{older[-1].version}, months {esc(_months(months))}, "
                    f"{sum(1 for v in older if v.version not in fresh)} republications) are summarised here; "
                    f"<code>trust lineage {esc(name)} --version N</code> shows any one of them.</td></tr>")
    return (head + "<table class=\"versions\">" + VERSION_COLGROUP
            + "<thead><tr><th class=\"num\">version</th><th>published</th><th>months</th>"
            "<th>sources (Delta version)</th><th>checks</th>" + PROTECTION_HEADER +
            "<th class=\"num\">rows</th><th class=\"num\">latency (new source data)</th>"
            "<th>queries by recipient</th>"
            "<th>bytes read in place / batch copy</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></section>")


BLOCKED_TAG = '<span class="tag warn">release blocked</span>'
FAILED_TAG = '<span class="tag fail">failed</span>'


def _failures_section(failures: Sequence[FailedRun]) -> str:
    if not failures:
        return '<p class="muted">No failed runs recorded in the OpenLineage events.</p>'
    blocked = sum(1 for f in failures if f.blocked)
    rows = "".join(
        f'<tr><td>{esc(f.time[:19].replace("T", " "))}</td><td class="mono">{esc(f.run_id[:8])}</td>'
        f"<td>{BLOCKED_TAG if f.blocked else FAILED_TAG}</td>"
        f"<td><code>{esc(f.stage)}</code></td><td>{esc(f.cause[:600])}</td></tr>"
        for f in failures[:FAILED_ROWS])
    more = (f'<p class="muted">{len(failures) - FAILED_ROWS} older failures not listed.</p>'
            if len(failures) > FAILED_ROWS else "")
    return (f"<p>{len(failures)} runs did not publish: {blocked} releases blocked by a failing check, "
            f"{len(failures) - blocked} failed with an error. Published tables stayed at their last good version.</p>"
            "<table><thead><tr><th>ended</th><th>run</th><th>outcome</th><th>stage</th><th>cause</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{more}")


def _recipients_section(totals: Sequence[RecipientTotals]) -> str:
    if not totals:
        return '<p class="muted">No recipient has read anything yet.</p>'
    rows = "".join(
        f"<tr><td>{esc(t.recipient)}</td><td class=\"num\">{t.requests:,}</td><td class=\"num\">{t.denied:,}</td>"
        f"<td class=\"num\">{t.files:,}</td><td class=\"num\">{human_bytes(t.bytes_sent)}</td>"
        f"<td>{esc(', '.join(f'{k}: {human_bytes(v)}' for k, v in sorted(t.tables.items())) or '–')}</td></tr>"
        for t in totals)
    return ("<table><thead><tr><th>recipient</th><th class=\"num\">requests</th><th class=\"num\">refused</th>"
            "<th class=\"num\">files downloaded</th><th class=\"num\">bytes received</th><th>by table</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")


def _docs_href(index: Path, report_dir: Path) -> str:
    """A link from the report to a Data Docs page: relative, so a copied ``reports/`` folder keeps it working."""
    from urllib.parse import quote

    return quote(Path(os.path.relpath(index, report_dir)).as_posix())


def _latest_data_docs(paths: TrustPaths) -> dict[str, Path]:
    """product -> the newest GX Data Docs index under reports/gx/<run>/<product>/."""
    root = paths.reports / "gx"
    found: dict[str, Path] = {}
    if root.is_dir():
        for index in sorted(root.glob("*/*/index.html"), key=lambda p: p.stat().st_mtime):
            found[index.parent.name] = index
    return found


def _measure_count(paths: TrustPaths, name: str) -> int:
    """Measures of a product (its ``<m>_status`` columns), for the suppression share; 1 when unknown."""
    from trust_assets.lib.storage import delta_table, is_delta_table

    location = paths.published_product(name)
    if not is_delta_table(location):
        return 1
    names = [f.name for f in delta_table(location).schema().fields]
    return max(1, sum(1 for n in names if n.endswith("_status")))


def _events_section(events: Sequence[Mapping[str, Any]]) -> str:
    if not events:
        return '<p class="muted">No OpenLineage events recorded yet.</p>'
    counts = Counter(str(e.get("eventType")) for e in events)
    runs = {e.get("run", {}).get("runId") for e in events}
    parents = {((e.get("run", {}).get("facets") or {}).get("parent") or {}).get("run", {}).get("runId")
               for e in events} - {None}
    failures = [e for e in events if e.get("eventType") == "FAIL"]
    text = (f"<p>{len(events):,} events for {len(runs):,} step runs in {len(parents):,} pipeline runs: "
            + ", ".join(f'<span class="tag {"fail" if k == "FAIL" else "info"}">{esc(k)} {n}</span>'
                        for k, n in sorted(counts.items())) + "</p>")
    if failures:
        rows = "".join(
            f"<tr><td>{esc(e.get('eventTime', ''))}</td><td><code>{esc(e.get('job', {}).get('name', ''))}</code></td>"
            f"<td>{esc(((e.get('run', {}).get('facets') or {}).get('errorMessage') or {}).get('message', ''))}</td>"
            "</tr>" for e in failures[-20:])
        text += ("<table><thead><tr><th>time</th><th>step</th><th>error</th></tr></thead><tbody>"
                 + rows + "</tbody></table>")
    return text


def _charts(paths: TrustPaths, histories: Mapping[str, Sequence[ProductVersion]],
            audit: Sequence[Mapping[str, Any]]) -> str:
    """Freshness (new source data only), suppression share, bytes received per day, bytes read in place."""
    fresh = {name: new_source_versions(vs)[0] for name, vs in histories.items() if vs}
    latencies = [v.latency_ms for vs in fresh.values() for v in vs if v.latency_ms is not None]
    unit_name, unit_ms = latency_unit(max(latencies, default=0))
    measures = {name: _measure_count(paths, name) for name in histories}

    def series(metric: Any, among: Mapping[str, Sequence[ProductVersion]]) -> dict[str, list[tuple[int, float]]]:
        return {name: [(v.version, metric(v)) for v in vs if metric(v) is not None] for name, vs in among.items()
                if vs}

    def share(v: ProductVersion) -> float | None:
        return None if not v.rows else 100 * v.suppressed_cells / (v.rows * measures[v.product])

    return "".join([
        chart(f"Freshness: new source data to publication ({unit_name})",
              series(lambda v: None if v.latency_ms is None else v.latency_ms / unit_ms, fresh),
              y_format=lambda y: f"{y:g}"),
        chart("Suppression share per version (% of published cells)", series(share, histories),
              y_format=lambda y: f"{y:.0f}%"),
        chart("Bytes received by recipients per day (MB; x = days since the first read)", bytes_by_day(audit),
              kind="bar", y_format=lambda y: f"{y:g}"),
        chart("Bytes read in place per version (MB)",
              series(lambda v: None if v.bytes_read is None else v.bytes_read / 1048576, histories),
              kind="bar", y_format=lambda y: f"{y:g}"),
    ])


def build_report(paths: TrustPaths, *, generated: datetime | None = None, out_dir: Path | None = None) -> str:
    """The whole report as one HTML string (nothing is written); links are relative to ``out_dir`` (the folder
    the report goes to, ``paths.reports`` by default)."""
    from trust_assets.lib.evaluation.lineage.dbt_graph import load_dbt_lineage
    from trust_assets.lib.evaluation.lineage.reading import read_events

    histories = {p.name: product_history(paths, p.name) for p in PRODUCTS}
    audit = read_access_audit(paths)
    events = read_events(paths)
    failures = failed_runs(events)
    totals = recipient_totals(audit)
    docs = {name: _docs_href(index, out_dir or paths.reports) for name, index in _latest_data_docs(paths).items()}
    generated = generated or datetime.now(UTC)
    every = [v for vs in histories.values() for v in vs]
    fresh = [v for vs in histories.values() for v in new_source_versions(vs)[0]]

    latencies = [v.latency_ms for v in fresh if v.latency_ms is not None]
    checks_total = sum(len(v.checks) for v in every)
    checks_passed = sum(v.checks_passed for v in every)
    checks_blocking_failed = sum(v.checks_failed for v in every)
    read_bytes = sum(v.bytes_read or 0 for v in every)
    batch_bytes = sum(v.source_bytes_total or 0 for v in every)
    cards = [
        ("products published", f"{sum(1 for vs in histories.values() if vs)} / {len(PRODUCTS)}", ""),
        ("published versions (republications)", f"{len(every):,} ({len(every) - len(fresh):,})", ""),
        ("checks passed (others warned)", f"{checks_passed:,} / {checks_total:,}",
         "bad" if checks_blocking_failed else ("good" if checks_total else "")),
        ("runs failed or blocked", f"{len(failures):,}", "bad" if failures else "good"),
        ("cells suppressed (cross-release)", f"{sum(v.suppressed_cells for v in every):,} "
         f"({sum(v.cross_release_withheld for v in every):,})", ""),
        ("median latency of new source data", human_duration(int(statistics.median(latencies))) if latencies
         else "–", ""),
        ("read in place vs batch copy",
         f"{read_bytes / batch_bytes:.0%}" if batch_bytes else "–", "good" if batch_bytes else ""),
        ("bytes received by recipients", human_bytes(sum(t.bytes_sent for t in totals)), ""),
    ]
    card_html = "".join(f'<div class="card {cls}"><div class="value">{esc(value)}</div>'
                        f'<div class="label">{esc(label)}</div></div>' for label, value, cls in cards)
    graph = load_dbt_lineage()
    nodes, edges = lineage_graph(graph)
    sections = "".join(_product_section(p.name, histories[p.name], audit, docs.get(p.name)) for p in PRODUCTS)
    nav = " · ".join(f'<a href="#product-{esc(p.name)}">{esc(p.name)}</a>' for p in PRODUCTS)
    lineage_note = ("Edges are dbt's own dependencies (<code>depends_on</code> in the manifest the set-up "
                    "compiled), reference seeds beside the department tables." if graph is not None else
                    "dbt's manifest is missing (run <code>bash scripts/bootstrap.sh</code>): only the stages "
                    "are drawn.")
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"{ERROR_HOOK}<title>Labour Market Data Trust – evaluation report</title><style>{CSS}</style></head>"
        "<body><header><h1>Labour Market Data Trust – evaluation report</h1>"
        f"<p>Generated {esc(generated.strftime('%Y-%m-%d %H:%M UTC'))} from the published Delta tables' commit "
        "metadata, the access audit and the OpenLineage events. Read-in-place department shares, audited before "
        "publication.</p></header><main>"
        f'<div class="cards">{card_html}</div>'
        "<h2>Lineage</h2><p class=\"lead\">How department tables flow through the dbt models into release "
        "candidates, which are audited (quality suites and disclosure control) before being published as one "
        f"Delta commit each. {lineage_note}</p>"
        f'<div class="figure">{lineage_svg(nodes, edges)}</div>'
        "<h2>Failed runs and blocked releases</h2>"
        f"{_failures_section(failures)}"
        "<h2>Trends over runs</h2><p class=\"lead\">Freshness is the publication commit time minus the newest "
        "source commit, for versions that brought new source data only; republications of data already published "
        "are marked in the tables and left out of it. Bytes read in place are the source files the run scanned; "
        "a batch file exchange would have copied the whole source tables.</p>"
        f'<div class="charts">{_charts(paths, histories, audit)}</div>'
        "<h2>Reads by recipient</h2><p class=\"lead\">From the access audit: the bytes the sharing server actually "
        "wrote to each recipient (file downloads included), by table.</p>"
        f"{_recipients_section(totals)}"
        f"<h2>Published product versions</h2><p class=\"lead\">{nav}. The newest {VERSION_ROWS} versions of each "
        "product are listed; older ones are summarised.</p>"
        f"{sections}"
        f"<h2>Lineage events</h2>{_events_section(events)}"
        f"{retractions_section(paths)}"
        f'<p class="lead">The DCAT-3 catalogue of every source and product is in <code>{CATALOG_FILE}</code> '
        "beside this file.</p></main>"
        f"<footer>TRUST_HOME <code>{esc(paths.root)}</code> · OpenLineage events in "
        f"<code>{esc(paths.lineage)}</code> · access audit in <code>{esc(paths.audit)}</code></footer>"
        "</body></html>"
    )


def write_report(paths: TrustPaths, out_dir: Path | None = None) -> tuple[Path, Path]:
    """Write the HTML report and the DCAT catalogue beside it; returns both paths."""
    from trust_assets.lib.evaluation.catalog import write_catalog

    out_dir = out_dir or paths.reports
    out_dir.mkdir(parents=True, exist_ok=True)
    report_path = out_dir / REPORT_FILE
    tmp = report_path.with_suffix(".html.tmp")
    tmp.write_text(build_report(paths, out_dir=out_dir), encoding="utf-8")
    tmp.replace(report_path)  # readers never see a half-written report
    catalog_path = write_catalog(paths, out_dir / CATALOG_FILE)
    return report_path, catalog_path
