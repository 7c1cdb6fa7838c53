"""The evaluation report: one self-contained HTML file that answers the pilot's evaluation questions.

Evaluators ask which source versions fed each published version, what was checked, what disclosure control
removed, how fresh it was, who read it, and how much data moved compared with batch file exchange. Every answer
comes from records the pipeline already keeps: the published Delta tables' commit metadata (the contract the
publish step honours), the access audit, and the OpenLineage events. The HTML has inline CSS and inline SVG only
(no scripts from elsewhere, no fonts, no network) so it can be mailed or archived as one file.
"""

from __future__ import annotations

import html
import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS, product
from trust_assets.lib.registry.sources import SOURCE_TABLES

REPORT_FILE = "evaluation.html"
CATALOG_FILE = "catalog.jsonld"
#: Audit statuses that mean nothing was served; any other status counts as a read.
DENIED_STATUSES = frozenset({"denied", "forbidden", "unauthorized", "unauthorised", "error", "failed", "rejected",
                             "expired", "revoked", "not_found"})
#: Title marker the inline error hook writes; the browser test asserts it never appears.
ERROR_MARKER = "REPORT-SCRIPT-ERROR"


# ---------------------------------------------------------------------------------------------- the records


def _json(meta: Mapping[str, Any], key: str, default: Any) -> Any:
    value = meta.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"commit metadata {key!r} is not JSON: {value[:80]!r}") from exc


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class ProductVersion:
    """One publish commit of a product, read back from its Delta commit metadata."""

    product: str
    version: int
    published_ms: int
    run_id: str | None = None
    months: tuple[str, ...] = ()
    sources: Mapping[str, int] = field(default_factory=dict)
    source_commit_times: Mapping[str, int] = field(default_factory=dict)
    checks: tuple[Mapping[str, Any], ...] = ()
    suppressed: Mapping[str, int] = field(default_factory=dict)
    policy_version: str | None = None
    content_hash: str | None = None
    models: tuple[str, ...] = ()
    bytes_read: int | None = None
    source_bytes_total: int | None = None
    rows: int | None = None
    size_bytes: int | None = None

    @property
    def published_at(self) -> datetime:
        return datetime.fromtimestamp(self.published_ms / 1000, UTC)

    @property
    def newest_source_ms(self) -> int | None:
        return max(self.source_commit_times.values()) if self.source_commit_times else None

    @property
    def latency_ms(self) -> int | None:
        """Publication commit time minus the newest source commit it used: how stale the product was at birth."""
        newest = self.newest_source_ms
        return None if newest is None else self.published_ms - newest

    @property
    def checks_passed(self) -> int:
        return sum(1 for c in self.checks if c.get("passed"))

    @property
    def checks_warned(self) -> int:
        """Failed checks of WARN severity: reported (e.g. rows excluded and counted), never blocking."""
        return sum(1 for c in self.checks if not c.get("passed") and str(c.get("severity", "")).upper() == "WARN")

    @property
    def checks_failed(self) -> int:
        """Failed blocking checks (a published version should have none)."""
        return len(self.checks) - self.checks_passed - self.checks_warned

    @property
    def suppressed_cells(self) -> int:
        return sum(int(v) for v in self.suppressed.values())


def _version_stats(path: Path, version: int) -> tuple[int | None, int | None]:
    """Rows and bytes of a table version from its Delta log (file statistics; no data files are read)."""
    import pyarrow as pa
    from deltalake import DeltaTable

    actions = pa.table(DeltaTable(str(path), version=version).get_add_actions(flatten=True))
    size = int(pa.compute.sum(actions["size_bytes"]).as_py() or 0)
    rows = None
    if "num_records" in actions.column_names and actions["num_records"].null_count == 0:
        rows = int(pa.compute.sum(actions["num_records"]).as_py() or 0)
    return rows, size


def product_history(paths: TrustPaths, name: str, *, with_stats: bool = True) -> list[ProductVersion]:
    """Every publish commit of a product, oldest first; commits without trust metadata (maintenance) are skipped.

    An unknown product name raises KeyError naming the known ones; a product never published returns [].
    """
    product(name)
    path = paths.published_product(name)
    if not (path / "_delta_log").is_dir():
        return []
    from deltalake import DeltaTable

    out = []
    for commit in DeltaTable(str(path)).history():
        if "trust.run_id" not in commit and "trust.product" not in commit:
            continue
        version = int(commit["version"])
        rows, size = _version_stats(path, version) if with_stats else (None, None)
        out.append(ProductVersion(
            product=name,
            version=version,
            published_ms=int(commit["timestamp"]),
            run_id=commit.get("trust.run_id"),
            months=tuple(_json(commit, "trust.months", [])),
            sources={k: int(v) for k, v in _json(commit, "trust.sources", {}).items()},
            source_commit_times={k: int(v) for k, v in _json(commit, "trust.source_commit_times", {}).items()},
            checks=tuple(_json(commit, "trust.checks", [])),
            suppressed={k: int(v) for k, v in _json(commit, "trust.suppressed", {}).items()},
            policy_version=commit.get("trust.policy_version"),
            content_hash=commit.get("trust.content_hash"),
            models=tuple(_json(commit, "trust.models", [])),
            bytes_read=_int(commit.get("trust.bytes_read")),
            source_bytes_total=_int(commit.get("trust.source_bytes_total")),
            rows=rows,
            size_bytes=size,
        ))
    return sorted(out, key=lambda v: v.version)


def read_access_audit(paths: TrustPaths) -> list[dict[str, Any]]:
    """Access audit records (JSON lines under TrustPaths.audit); no folder or file means no reads yet.

    A line that is not a JSON object is skipped rather than failing the whole report: the audit belongs to the
    sharing server and may be mid-append while the report runs.
    """
    if not paths.audit.is_dir():
        return []
    records = []
    for path in sorted(paths.audit.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def is_denied(status: Any) -> bool:
    if isinstance(status, int | float):
        return status >= 400
    text = str(status or "").strip().lower()
    return (text.isdigit() and int(text) >= 400) or text in DENIED_STATUSES


@dataclass
class RecipientReads:
    recipient: str
    reads: int = 0
    denied: int = 0
    files: int = 0
    bytes: int = 0
    agreements: set[str] = field(default_factory=set)


def reads_of(records: Iterable[Mapping[str, Any]], product_name: str, version: int) -> list[RecipientReads]:
    """Who read this product version, from audit records whose table is the product and version matches."""
    by_recipient: dict[str, RecipientReads] = {}
    for r in records:
        if str(r.get("table")) != product_name or _int(r.get("version")) != version:
            continue
        who = str(r.get("recipient") or "unknown")
        entry = by_recipient.setdefault(who, RecipientReads(who))
        if is_denied(r.get("status")):
            entry.denied += 1
            continue
        entry.reads += 1
        entry.files += _int(r.get("files")) or 0
        entry.bytes += _int(r.get("bytes")) or 0
        if r.get("agreement"):
            entry.agreements.add(str(r["agreement"]))
    return sorted(by_recipient.values(), key=lambda e: e.recipient)


# ------------------------------------------------------------------------------------------------ formatting


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def human_bytes(n: int | None) -> str:
    if n is None:
        return "–"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def human_duration(ms: int | None) -> str:
    if ms is None:
        return "–"
    sign, ms = ("−" if ms < 0 else ""), abs(ms)
    seconds = ms / 1000
    if seconds < 60:
        return f"{sign}{seconds:.1f} s"
    minutes = seconds / 60
    if minutes < 120:
        return f"{sign}{minutes:.0f} min"
    hours = minutes / 60
    return f"{sign}{hours:.1f} h" if hours < 48 else f"{sign}{hours / 24:.1f} days"


def latency_unit(largest_ms: int) -> tuple[str, int]:
    """The unit that keeps a latency chart's axis readable: seconds, minutes, hours or days."""
    for name, ms in (("days", 86_400_000), ("hours", 3_600_000), ("minutes", 60_000)):
        if largest_ms >= 2 * ms:
            return name, ms
    return "seconds", 1000


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value <= high + step * 0.5:
        ticks.append(round(value, 10))
        value += step
    return ticks


# ------------------------------------------------------------------------------------------------ SVG charts

PALETTE = ("#1d70b8", "#d4351c", "#00703c", "#912b88", "#f47738", "#5694ca", "#85994b", "#6f72af")


def _legend(names: Sequence[str], x: float, y: float, width: float) -> tuple[str, int]:
    """Legend swatches, wrapped onto as many rows as the width needs; returns the SVG and the row count."""
    parts, offset, row = [], 0.0, 0
    for i, name in enumerate(names):
        item_w = 30 + 6.4 * len(name)
        if offset and offset + item_w > width:
            offset, row = 0.0, row + 1
        colour = PALETTE[i % len(PALETTE)]
        top = y + row * 17
        parts.append(f'<rect x="{x + offset:.1f}" y="{top - 9}" width="12" height="12" rx="2" fill="{colour}"/>'
                     f'<text x="{x + offset + 17:.1f}" y="{top + 1}" class="legend">{esc(name)}</text>')
        offset += item_w
    return "".join(parts), row + 1


def chart(title: str, series: Mapping[str, Sequence[tuple[int, float]]], *, kind: str = "line",
          y_format: Any = str, x_label: str = "version", width: int = 620, height: int = 280) -> str:
    """A small line or grouped-bar chart as inline SVG; x values are integers (versions)."""
    left, right, bottom = 70, 16, 42
    legend, legend_rows = _legend(list(series), left, 36, width - left - right)
    top = 38 + 17 * legend_rows
    inner_w, inner_h = width - left - right, height - top - bottom
    points = [(x, y) for values in series.values() for x, y in values if y is not None]
    head = (f'<svg class="chart" role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
            f'<title>{esc(title)}</title><text x="{left}" y="18" class="chart-title">{esc(title)}</text>')
    if not points:
        return head + (f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="muted">'
                       "no data yet</text></svg>")
    xs = sorted({x for x, _ in points})
    y_max = max(y for _, y in points)
    y_min = min(0.0, min(y for _, y in points))
    ticks = _nice_ticks(y_min, y_max if y_max > y_min else y_min + 1)
    y_low, y_high = ticks[0], ticks[-1]

    def sy(y: float) -> float:
        return top + inner_h - (y - y_low) / (y_high - y_low) * inner_h

    slot = inner_w / len(xs)

    def sx(x: int) -> float:
        return left + slot * (xs.index(x) + 0.5)

    body = [head, legend]
    for t in ticks:
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" class="grid"/>'
                    f'<text x="{left - 8}" y="{sy(t) + 4:.1f}" text-anchor="end" class="axis">'
                    f"{esc(y_format(t))}</text>")
    label_every = max(1, math.ceil(len(xs) / 14))
    for i, x in enumerate(xs):
        if i % label_every == 0:
            body.append(f'<text x="{sx(x):.1f}" y="{top + inner_h + 18}" text-anchor="middle" class="axis">'
                        f"{x}</text>")
    body.append(f'<text x="{left + inner_w / 2}" y="{height - 6}" text-anchor="middle" class="axis">'
                f"{esc(x_label)}</text>")
    names = list(series)
    if kind == "bar":
        bar_w = max(2.0, slot * 0.8 / max(1, len(names)))
        for s, name in enumerate(names):
            colour = PALETTE[s % len(PALETTE)]
            for x, y in series[name]:
                if y is None:
                    continue
                x0 = sx(x) - slot * 0.4 + s * bar_w
                y0, y1 = sy(max(y, 0)), sy(min(y, 0))
                body.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{bar_w - 1:.1f}" height="{max(y1 - y0, 0.5):.1f}" '
                            f'fill="{colour}"><title>{esc(name)} v{x}: {esc(y_format(y))}</title></rect>')
    else:
        for s, name in enumerate(names):
            colour = PALETTE[s % len(PALETTE)]
            pts = [(sx(x), sy(y), x, y) for x, y in sorted(series[name]) if y is not None]
            if len(pts) > 1:
                path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in pts)
                body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for px, py, x, y in pts:
                body.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}">'
                            f"<title>{esc(name)} v{x}: {esc(y_format(y))}</title></circle>")
    body.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + inner_h}" class="axis-line"/></svg>')
    return "".join(body)


# ------------------------------------------------------------------------------------------ the lineage graph

LAYERS = ("department sources", "dbt staging", "dbt intermediate", "dbt marts", "release candidates",
          "published products")
LAYER_COLOURS = ("#e8f1f8", "#f3f2f1", "#f3f2f1", "#fff7e6", "#fdf0f3", "#e6f4ea")
LAYER_STROKES = ("#1d70b8", "#6f777b", "#6f777b", "#f47738", "#d4351c", "#00703c")


def _model_layer(name: str) -> int:
    if name.startswith("stg_"):
        return 1
    if name.startswith("int_"):
        return 2
    return 3


def lineage_graph(histories: Mapping[str, Sequence[ProductVersion]]) -> tuple[dict[str, tuple[int, str]],
                                                                            set[tuple[str, str]]]:
    """Nodes ``id -> (layer, label)`` and edges, from the sources and models each product's versions recorded.

    The commit metadata lists which models fed a product but not how they connect, so edges follow dbt's naming
    convention: ``stg_<dept>__*`` reads that department's sources, ``int_*`` reads the product's staging models,
    marts read its intermediate models (or staging when it has none), and the mart named after the product (or
    every mart it lists) becomes the candidate that is audited and published. Products never published still
    appear, fed by every source, so the picture shows the whole flow.
    """
    nodes: dict[str, tuple[int, str]] = {}
    edges: set[tuple[str, str]] = set()
    for table in SOURCE_TABLES:
        nodes[f"src:{table.key}"] = (0, table.key)
    for p in PRODUCTS:
        versions = histories.get(p.name, ())
        sources = sorted({k for v in versions for k in v.sources}) or [t.key for t in SOURCE_TABLES]
        models = sorted({m for v in versions for m in v.models})
        for key in sources:
            nodes.setdefault(f"src:{key}", (0, key))
        by_layer: dict[int, list[str]] = defaultdict(list)
        for m in models:
            layer = _model_layer(m)
            by_layer[layer].append(m)
            nodes[f"model:{m}"] = (layer, m)
        for m in by_layer[1]:
            dept = m[4:].split("__", 1)[0]
            feeding = [k for k in sources if k.split("/", 1)[0] == dept] or sources
            edges |= {(f"src:{k}", f"model:{m}") for k in feeding}
        previous = [f"src:{k}" for k in sources]
        for layer in (1, 2, 3):
            if by_layer[layer]:
                if layer > 1:
                    edges |= {(a, f"model:{m}") for a in previous for m in by_layer[layer]}
                previous = [f"model:{m}" for m in by_layer[layer]]
        marts = [f"model:{m}" for m in by_layer[3] if m == p.name] or previous
        nodes[f"cand:{p.name}"] = (4, p.name)
        nodes[f"pub:{p.name}"] = (5, p.name)
        edges |= {(m, f"cand:{p.name}") for m in marts}
        edges.add((f"cand:{p.name}", f"pub:{p.name}"))
    return nodes, edges


def lineage_svg(nodes: Mapping[str, tuple[int, str]], edges: Iterable[tuple[str, str]]) -> str:
    """A layered left-to-right drawing: one column per stage, boxes stacked, edges as smooth curves."""
    box_w, box_h, gap_x, gap_y, top = 186, 30, 34, 14, 40
    columns: dict[int, list[str]] = defaultdict(list)
    for node_id, (layer, _label) in sorted(nodes.items(), key=lambda kv: (kv[1][0], kv[1][1])):
        columns[layer].append(node_id)
    used_layers = [layer for layer in range(len(LAYERS)) if columns.get(layer)]
    tallest = max(len(columns[layer]) for layer in used_layers)
    height = top + tallest * (box_h + gap_y) + 10
    width = len(used_layers) * (box_w + gap_x) - gap_x + 20
    pos: dict[str, tuple[float, float]] = {}
    for c, layer in enumerate(used_layers):
        ids = columns[layer]
        offset = (tallest - len(ids)) * (box_h + gap_y) / 2
        for r, node_id in enumerate(ids):
            pos[node_id] = (10 + c * (box_w + gap_x), top + offset + r * (box_h + gap_y))
    out = [f'<svg class="lineage" role="img" aria-label="Lineage graph" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>Lineage graph</title>']
    for c, layer in enumerate(used_layers):
        out.append(f'<text x="{10 + c * (box_w + gap_x) + box_w / 2}" y="20" text-anchor="middle" '
                   f'class="layer">{esc(LAYERS[layer])}</text>')
    for a, b in sorted(edges):
        if a not in pos or b not in pos:
            continue
        (x1, y1), (x2, y2) = pos[a], pos[b]
        x1, y1, x2, y2 = x1 + box_w, y1 + box_h / 2, x2, y2 + box_h / 2
        mid = (x1 + x2) / 2
        out.append(f'<path d="M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" '
                   f'class="edge"/>')
    for node_id, (x, y) in pos.items():
        layer, label = nodes[node_id]
        shown = label if len(label) <= 28 else label[:26] + "…"
        out.append(f'<g><title>{esc(LAYERS[layer])}: {esc(label)}</title>'
                   f'<rect x="{x:.1f}" y="{y:.1f}" width="{box_w}" height="{box_h}" rx="5" '
                   f'fill="{LAYER_COLOURS[layer]}" stroke="{LAYER_STROKES[layer]}" stroke-width="1.3"/>'
                   f'<text x="{x + 10:.1f}" y="{y + box_h / 2 + 4:.1f}" class="node">{esc(shown)}</text></g>')
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------------------------------------------- HTML

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


def _suppressed(version: ProductVersion) -> str:
    if not version.suppressed:
        return "0"
    items = "".join(f"<li>{esc(k)}: {v:,}</li>" for k, v in sorted(version.suppressed.items()))
    return (f"<details><summary>{version.suppressed_cells:,}</summary><ul class=\"tight\">{items}</ul>"
            f"</details>")


def _reads(reads: Sequence[RecipientReads]) -> str:
    if not reads:
        return '<span class="muted">no reads</span>'
    rows = []
    for r in reads:
        denied = f' <span class="tag fail">{r.denied} denied</span>' if r.denied else ""
        rows.append(f"<li>{esc(r.recipient)}: {r.reads} read{'s' if r.reads != 1 else ''}, "
                    f"{human_bytes(r.bytes)}{denied}</li>")
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


def _product_section(name: str, versions: Sequence[ProductVersion], audit: Sequence[Mapping[str, Any]]) -> str:
    meta = product(name)
    head = (f'<section id="product-{esc(name)}"><h3>{esc(meta.title)} <code>{esc(name)}</code></h3>'
            f'<p class="lead">{esc(meta.description)} Grain: {esc(", ".join(meta.grain))}.</p>')
    if not versions:
        return head + '<p class="muted">Not published yet.</p></section>'
    rows = []
    for v in reversed(versions):
        sources = "".join(f"<li>{esc(k)} <span class=\"tag info\">v{n}</span></li>"
                          for k, n in sorted(v.sources.items()))
        rows.append(
            f'<tr data-product="{esc(name)}" data-version="{v.version}">'
            f'<td class="num"><strong>v{v.version}</strong></td>'
            f'<td>{esc(v.published_at.strftime("%Y-%m-%d %H:%M:%S"))} UTC<br>'
            f'<span class="mono muted">run {esc((v.run_id or "–")[:8])}</span></td>'
            f'<td>{esc(", ".join(v.months) or "–")}</td>'
            f'<td><ul class="sources">{sources}</ul></td>'
            f"<td>{_tags(v)}</td>"
            f'<td class="num">{_suppressed(v)}</td>'
            f'<td class="num">{"–" if v.rows is None else f"{v.rows:,}"}</td>'
            f'<td class="num">{human_duration(v.latency_ms)}</td>'
            f"<td>{_reads(reads_of(audit, name, v.version))}</td>"
            f"<td>{_movement(v)}</td></tr>")
    return (head + "<table class=\"versions\">" + VERSION_COLGROUP
            + "<thead><tr><th class=\"num\">version</th><th>published</th><th>months</th>"
            "<th>sources (Delta version)</th><th>checks</th><th class=\"num\">cells suppressed</th>"
            "<th class=\"num\">rows</th><th class=\"num\">latency</th><th>reads by recipient</th>"
            "<th>bytes read in place / batch copy</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></section>")


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


def build_report(paths: TrustPaths, *, generated: datetime | None = None) -> str:
    """The whole report as one HTML string (nothing is written)."""
    from trust_assets.lib.evaluation.lineage import read_events

    histories = {p.name: product_history(paths, p.name) for p in PRODUCTS}
    audit = read_access_audit(paths)
    events = read_events(paths)
    generated = generated or datetime.now(UTC)
    every = [v for vs in histories.values() for v in vs]

    latencies = [v.latency_ms for v in every if v.latency_ms is not None]
    checks_total = sum(len(v.checks) for v in every)
    checks_passed = sum(v.checks_passed for v in every)
    checks_blocking_failed = sum(v.checks_failed for v in every)
    read_bytes = sum(v.bytes_read or 0 for v in every)
    batch_bytes = sum(v.source_bytes_total or 0 for v in every)
    reads_total = sum(1 for r in audit if not is_denied(r.get("status")))
    cards = [
        ("products published", f"{sum(1 for vs in histories.values() if vs)} / {len(PRODUCTS)}", ""),
        ("published versions", f"{len(every):,}", ""),
        ("checks passed (others warned)", f"{checks_passed:,} / {checks_total:,}",
         "bad" if checks_blocking_failed else ("good" if checks_total else "")),
        ("cells suppressed", f"{sum(v.suppressed_cells for v in every):,}", ""),
        ("median latency", human_duration(int(statistics.median(latencies))) if latencies else "–", ""),
        ("read in place vs batch copy",
         f"{read_bytes / batch_bytes:.0%}" if batch_bytes else "–", "good" if batch_bytes else ""),
        ("reads by recipients", f"{reads_total:,}", ""),
    ]
    card_html = "".join(f'<div class="card {cls}"><div class="value">{esc(value)}</div>'
                        f'<div class="label">{esc(label)}</div></div>' for label, value, cls in cards)

    def series(metric: Any) -> dict[str, list[tuple[int, float]]]:
        return {name: [(v.version, metric(v)) for v in vs if metric(v) is not None]
                for name, vs in histories.items() if vs}

    unit_name, unit_ms = latency_unit(max(latencies, default=0))
    charts = "".join([
        chart(f"Latency: newest source commit to publication ({unit_name})",
              series(lambda v: None if v.latency_ms is None else v.latency_ms / unit_ms),
              y_format=lambda y: f"{y:g}"),
        chart("Cells suppressed per version", series(lambda v: v.suppressed_cells), kind="bar",
              y_format=lambda y: f"{y:,.0f}"),
        chart("Rows per version", series(lambda v: v.rows), y_format=lambda y: f"{y:,.0f}"),
        chart("Bytes read in place per version (MB)",
              series(lambda v: None if v.bytes_read is None else v.bytes_read / 1048576),
              kind="bar", y_format=lambda y: f"{y:g}"),
    ])
    nodes, edges = lineage_graph(histories)
    sections = "".join(_product_section(p.name, histories[p.name], audit) for p in PRODUCTS)
    nav = " · ".join(f'<a href="#product-{esc(p.name)}">{esc(p.name)}</a>' for p in PRODUCTS)
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
        "Delta commit each. Model links follow dbt's naming convention (staging reads its department's "
        "tables).</p>"
        f'<div class="figure">{lineage_svg(nodes, edges)}</div>'
        "<h2>Trends over runs</h2><p class=\"lead\">Latency is the publication commit time minus the newest "
        "source commit the version used. Bytes read in place are the source files the run actually scanned; "
        "a batch file exchange would have copied the whole source tables.</p>"
        f'<div class="charts">{charts}</div>'
        f"<h2>Published product versions</h2><p class=\"lead\">{nav}</p>{sections}"
        f"<h2>Lineage events</h2>{_events_section(events)}"
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
    tmp.write_text(build_report(paths), encoding="utf-8")
    tmp.replace(report_path)  # readers never see a half-written report
    catalog_path = write_catalog(paths, out_dir / CATALOG_FILE)
    return report_path, catalog_path
