"""Great Expectations 1.x, wrapped for the audit: one JSON suite per product, validated in an ephemeral context.

dagster-ge only supports GX < 1.0, so the audit calls this module instead. Suites live in expectations/ as plain
JSON without generated ids (reviewable diffs, no ``uncommitted/`` state); anything that depends on the run (the
expected months, the current district codes, the expected row count) is a suite parameter
(``{"$PARAMETER": "name"}``) the caller passes in. A few columns are derived here because GX has no expectation for
them on pandas: ``mom__<measure>`` (month-on-month relative change) is computed for every such column a suite
mentions. GX is imported lazily with analytics off, so importing this module costs nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trust_assets.lib.audit.gx_loading import load_gx
from trust_assets.lib.months import month_index
from trust_assets.lib.paths import EXPECTATIONS_DIR
from trust_assets.lib.registry.products import product as product_spec

#: Prefix of derived month-on-month change columns: mom__<measure> = (x_t - x_{t-1}) / x_{t-1}.
MOM_PREFIX = "mom__"
#: Below this previous value a relative change is too noisy to judge (rounded counts move in steps of 5).
DEFAULT_MOM_MIN_BASE = 100
#: How many unexpected example rows each failed expectation reports.
EXAMPLE_ROWS = 5
#: Long observed values (e.g. 361 district codes) are cut to this many items in metadata.
OBSERVED_ITEMS = 20


class SuiteError(ValueError):
    """A suite file is missing or malformed, or a run parameter it needs was not passed."""


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result, in plain JSON-able values."""

    expectation: str
    column: str | None
    kwargs: dict[str, Any]
    success: bool
    observed_value: Any = None
    unexpected_count: int | None = None
    unexpected_examples: tuple[dict[str, Any], ...] = ()
    exception: str | None = None
    #: critical (the default) blocks publication; warning is reported only (e.g. month-on-month plausibility).
    severity: str = "critical"

    def as_dict(self) -> dict[str, Any]:
        return {"expectation": self.expectation, "column": self.column, "kwargs": self.kwargs,
                "success": self.success, "severity": self.severity, "observed_value": self.observed_value,
                "unexpected_count": self.unexpected_count,
                "unexpected_examples": [dict(r) for r in self.unexpected_examples], "exception": self.exception}


@dataclass(frozen=True)
class SuiteResult:
    """The validation of one release candidate: what Dagster metadata and OpenLineage need."""

    product: str
    suite: str
    success: bool
    results: tuple[ExpectationOutcome, ...]
    rows: int
    seconds: float
    data_docs_index: Path | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success]

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        """Failed critical expectations: any of these stops publication."""
        return [r for r in self.failed if r.severity == "critical"]

    @property
    def passes_gate(self) -> bool:
        """True when nothing critical failed (warnings are reported but do not block)."""
        return not self.blocking_failures

    def to_metadata(self) -> dict[str, Any]:
        """JSON-able summary for Dagster asset-check metadata."""
        return {
            "suite": self.suite, "success": self.success, "passes_gate": self.passes_gate, "rows": self.rows,
            "evaluated": len(self.results), "failed": len(self.failed), "seconds": round(self.seconds, 3),
            "failed_expectations": [r.as_dict() for r in self.failed],
            "data_docs": str(self.data_docs_index) if self.data_docs_index else None,
        }

    def to_openlineage_assertions(self) -> list[dict[str, Any]]:
        """Items for the OpenLineage DataQualityAssertionsDatasetFacet (``assertion``, ``success``, ``column``)."""
        out = []
        for r in self.results:
            item: dict[str, Any] = {"assertion": r.expectation, "success": r.success}
            if r.column:
                item["column"] = r.column
            out.append(item)
        return out


# --------------------------------------------------------------------------------------------------- suites


def load_suite_dict(product: str, directory: Path | None = None) -> dict[str, Any]:
    """The suite JSON of one product, checked: named after the product, expectations with type and kwargs, no ids."""
    path = (directory or EXPECTATIONS_DIR) / f"{product}.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise SuiteError(f"no expectation suite for {product!r}: {path}") from None
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("name") != product:
        raise SuiteError(f"{path}: top-level 'name' must be {product!r}")
    expectations = raw.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise SuiteError(f"{path}: 'expectations' must be a non-empty list")
    if "id" in raw:
        raise SuiteError(f"{path}: suite must not carry a generated 'id'")
    for i, exp in enumerate(expectations):
        if not isinstance(exp, dict) or not isinstance(exp.get("type"), str) or not isinstance(exp.get("kwargs"), dict):
            raise SuiteError(f"{path}: expectations[{i}] needs a 'type' string and a 'kwargs' object")
        if "id" in exp:
            raise SuiteError(f"{path}: expectations[{i}] must not carry a generated 'id'")
    return raw


def suite_parameters(suite: Mapping[str, Any]) -> set[str]:
    """Names of the run parameters (``{"$PARAMETER": name}``) a suite needs."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if set(value) == {"$PARAMETER"}:
                found.add(value["$PARAMETER"])
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk([e["kwargs"] for e in suite["expectations"]])
    return found


def _mentioned_columns(suite: Mapping[str, Any]) -> set[str]:
    cols: set[str] = set()
    for exp in suite["expectations"]:
        kw = exp["kwargs"]
        for key in ("column", "column_A", "column_B"):
            if isinstance(kw.get(key), str):
                cols.add(kw[key])
        cols.update(c for c in kw.get("column_list", []) if isinstance(c, str))
    return cols


# --------------------------------------------------------------------------------------------------- derivations


def _iso(value: Any) -> Any:
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _jsonable(value: Any) -> Any:
    """Plain Python for metadata: numpy scalars, dates, sets and long lists made JSON-friendly."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        cut = [_jsonable(v) for v in items[:OBSERVED_ITEMS]]
        return [*cut, f"... {len(items) - OBSERVED_ITEMS} more"] if len(items) > OBSERVED_ITEMS else cut
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return _iso(value)


def _month_ordinal(months: pd.Series) -> pd.Series:
    return pd.to_datetime(months).map(month_index)


def derive_month_on_month(candidate: pd.DataFrame, measures: Iterable[str], grain: tuple[str, ...],
                          previous: pd.DataFrame | None = None, min_base: float = DEFAULT_MOM_MIN_BASE
                          ) -> pd.DataFrame:
    """Add ``mom__<measure>``: the relative change of each cell since the calendar month before.

    The previous month comes from the candidate itself or, for its first month, from ``previous`` (the last
    published version). Null where there is no previous month, either value is suppressed, or the previous value
    is below ``min_base`` (small rounded counts swing by tens of percent for no reason).
    """
    measures = list(measures)
    month, cell = grain[0], list(grain[1:])
    frames = [candidate.assign(__own=True, __pos=np.arange(len(candidate)))]
    if previous is not None and len(previous):
        older = previous[~previous[month].map(_iso).isin(set(candidate[month].map(_iso)))]
        frames.insert(0, older[[*grain, *measures]].assign(__own=False))
    both = pd.concat(frames, ignore_index=True)
    both["__ord"] = _month_ordinal(both[month].map(_iso))
    both = both.sort_values([*cell, "__ord"], kind="stable")
    grouped = both.groupby(cell, sort=False, dropna=False)
    consecutive = grouped["__ord"].diff() == 1
    out = candidate.copy()
    for measure in measures:
        now = pd.to_numeric(both[measure]).astype("Float64")
        before = grouped[measure].shift(1).astype("Float64")
        change = ((now - before) / before).where(consecutive & (before >= min_base))
        own = both["__own"].astype(bool)
        by_position = pd.Series(change[own].to_numpy(), index=both.loc[own, "__pos"].astype(int).to_numpy())
        out[f"{MOM_PREFIX}{measure}"] = pd.array(by_position.sort_index().to_numpy(), dtype="Float64")
    return out


def prepare_candidate(product: str, candidate: pd.DataFrame, suite: Mapping[str, Any],
                      previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """The frame GX sees: month column as ISO date strings (comparable with JSON parameters) plus derived columns."""
    spec = product_spec(product)
    frame = candidate.reset_index(drop=True)
    if spec.month_column in frame.columns:
        frame[spec.month_column] = frame[spec.month_column].map(_iso)
    mom = sorted(c.removeprefix(MOM_PREFIX) for c in _mentioned_columns(suite) if c.startswith(MOM_PREFIX))
    if mom:
        missing = [m for m in mom if m not in frame.columns]
        if missing:
            raise SuiteError(f"{product}: suite derives month-on-month change of missing columns {missing}")
        prev = None
        if previous is not None:
            prev = previous.reset_index(drop=True)
            prev[spec.month_column] = prev[spec.month_column].map(_iso)
        min_base = float(suite.get("meta", {}).get("mom_min_base", DEFAULT_MOM_MIN_BASE))
        frame = derive_month_on_month(frame, mom, spec.grain, prev, min_base)
    return frame


# --------------------------------------------------------------------------------------------------- validation


def validate_candidate(product: str, candidate: pd.DataFrame, parameters: Mapping[str, Any] | None = None, *,
                       previous: pd.DataFrame | None = None, data_docs_dir: Path | None = None,
                       run_id: str | None = None, suite_dir: Path | None = None,
                       static_dir: Path | None = None) -> SuiteResult:
    """Validate a release candidate against expectations/<product>.json and optionally build Data Docs.

    ``parameters`` fills the suite's ``$PARAMETER`` references (dates may be ``date`` objects; they are compared as
    ISO strings). ``previous`` is the last published version, used for the month-on-month change of the
    candidate's first month. With ``data_docs_dir`` (e.g. ``TrustPaths.reports / "gx" / run_id``) the GX Data
    Docs HTML for this validation is written there and its index.html returned in the result. With
    ``static_dir`` the site's static assets (~4 MB of styles, fonts and scripts) are kept once there, per GX
    version, and the site links to them (``share_static_assets``).
    """
    import time

    started = time.perf_counter()
    suite_dict = load_suite_dict(product, suite_dir)
    params = {k: _jsonable_param(v) for k, v in (parameters or {}).items()}
    missing = sorted(suite_parameters(suite_dict) - set(params))
    if missing:
        raise SuiteError(f"{product}: suite needs run parameters {missing}; pass them in `parameters`")
    frame = prepare_candidate(product, candidate, suite_dict, previous)

    gx = load_gx()
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    built = ExpectationSuite(**json.loads(json.dumps(suite_dict)))
    # GX logs and skips an expectation it cannot build (e.g. a misspelt type): an audit must not shrink silently.
    if len(built.expectations) != len(suite_dict["expectations"]):
        known = {e.expectation_type for e in built.expectations}
        skipped = sorted({e["type"] for e in suite_dict["expectations"]} - known) or ["(invalid kwargs)"]
        raise SuiteError(f"{product}: GX could not build expectations {skipped}; see the log above")
    suite = context.suites.add(built)
    batch = (context.data_sources.add_pandas("release_candidates")
             .add_dataframe_asset(product).add_batch_definition_whole_dataframe("candidate"))
    validation = context.validation_definitions.add(gx.ValidationDefinition(name=product, data=batch, suite=suite))
    actions = []
    if data_docs_dir is not None:
        data_docs_dir = Path(data_docs_dir)
        data_docs_dir.mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site("trust", {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
        actions.append(UpdateDataDocsAction(name="data_docs", site_names=["trust"]))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=f"{product}_audit", validation_definitions=[validation], actions=actions,
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLE_ROWS}))
    run = checkpoint.run(batch_parameters={"dataframe": frame}, expectation_parameters=params,
                         run_id=_run_identifier(run_id))
    (validation_result,) = run.run_results.values()

    spec = product_spec(product)
    grain = [c for c in spec.grain if c in frame.columns]
    outcomes = tuple(_outcome(r, frame, grain) for r in validation_result.results)
    index = data_docs_dir / "index.html" if data_docs_dir is not None else None
    if index is not None and not index.exists():
        raise RuntimeError(f"GX did not write Data Docs to {index}")
    if data_docs_dir is not None and static_dir is not None:
        share_static_assets(data_docs_dir, Path(static_dir) / f"gx-{gx.__version__}")
    return SuiteResult(product=product, suite=suite_dict["name"], success=bool(run.success), results=outcomes,
                       rows=len(frame), seconds=time.perf_counter() - started, data_docs_index=index,
                       parameters={k: _jsonable(v) for k, v in params.items()})


def share_static_assets(site: Path, shared: Path) -> None:
    """Replace a Data Docs site's ``static/`` by a relative symlink to one shared copy (made from the first site).

    GX copies its static assets into every site it builds: per product per run that was ~16 MB a run. The HTML
    refers to them as ``static/...`` relative paths, so a symlink keeps every page working from the file system.
    """
    import shutil

    static = site / "static"
    if not static.is_dir() or static.is_symlink():
        return
    if shared.is_dir():
        shutil.rmtree(static)
    else:
        shared.parent.mkdir(parents=True, exist_ok=True)
        static.rename(shared)
    static.symlink_to(os.path.relpath(shared, site), target_is_directory=True)


def _jsonable_param(value: Any) -> Any:
    """Run parameters as JSON-like values; dates as ISO strings, like the month column GX sees."""
    if isinstance(value, list | tuple | set | frozenset | pd.Series | np.ndarray | pd.Index):
        return [_jsonable_param(v) for v in value]
    if isinstance(value, np.datetime64):
        return _iso(pd.Timestamp(value))
    return _iso(value.item() if isinstance(value, np.generic) else value)


def _run_identifier(run_id: str | None) -> Any:
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_name=run_id or f"adhoc-{uuid.uuid4().hex[:8]}")


def _outcome(result: Any, frame: pd.DataFrame, grain: list[str]) -> ExpectationOutcome:
    config = result.expectation_config
    kwargs = {k: _jsonable(v) for k, v in config.kwargs.items() if k not in ("batch_id",)}
    column = kwargs.get("column") if isinstance(kwargs.get("column"), str) else None
    if column is None and isinstance(kwargs.get("column_A"), str):
        column = kwargs["column_A"]
    details = result.result or {}
    examples: tuple[dict[str, Any], ...] = ()
    indices = details.get("partial_unexpected_index_list") or []
    if indices and not result.success:
        shown = list(dict.fromkeys([*grain, *_result_columns(kwargs)]))
        rows = frame.loc[[i for i in indices if i in frame.index][:EXAMPLE_ROWS], shown]
        examples = tuple({k: _jsonable(v) for k, v in row.items()} for row in rows.to_dict("records"))
    elif details.get("partial_unexpected_list") and not result.success:
        examples = tuple({"value": _jsonable(v)} for v in details["partial_unexpected_list"][:EXAMPLE_ROWS])
    severity = getattr(config, "severity", None)
    exception = None
    info = result.exception_info or {}
    if info.get("raised_exception"):
        exception = str(info.get("exception_message"))
    return ExpectationOutcome(
        expectation=config.type, column=column, kwargs=kwargs, success=bool(result.success),
        observed_value=_jsonable(details.get("observed_value")),
        unexpected_count=details.get("unexpected_count"), unexpected_examples=examples, exception=exception,
        severity=str(getattr(severity, "value", severity) or "critical"))


def _result_columns(kwargs: Mapping[str, Any]) -> list[str]:
    cols = [kwargs[k] for k in ("column", "column_A", "column_B") if isinstance(kwargs.get(k), str)]
    return cols + [c for c in kwargs.get("column_list") or [] if isinstance(c, str)]

