"""Row rules of an agreement and the recipient's partition hints, evaluated against Arrow data.

An agreement says which rows a recipient may receive with short conjunctive rules such as ``month >= 2025-01`` or
``region in [E12000001, E12000002]``. They are parsed once at load (so a typo fails with the file and field named)
and typed only when served, against the real Delta schema, because a published product's schema is known only
from its table. The recipient's ``jsonPredicateHints`` are a separate, best-effort filter on partition values:
they may only narrow what is served, never widen it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from trust_assets.lib.months import first_day

_RULE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|!=|==|=|<|>|not\s+in|in)\s*(.+?)\s*$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


class RuleError(ValueError):
    """A row rule that cannot be parsed or typed; the message names the rule."""


@dataclass(frozen=True)
class RowRule:
    """One comparison between a column and a literal (or a list of literals for ``in``)."""

    column: str
    op: str
    values: tuple[str, ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> RowRule:
        match = _RULE.match(text)
        if not match:
            raise RuleError(f"cannot parse row rule {text!r}; expected '<column> <op> <value>' with op one of "
                            "=, !=, <, <=, >, >=, in, not in")
        column, op, raw = match.groups()
        op = " ".join(op.split()).replace("==", "=")
        if op in ("in", "not in"):
            if not (raw.startswith("[") and raw.endswith("]")):
                raise RuleError(f"row rule {text!r}: '{op}' needs a list like [a, b]")
            values = tuple(_unquote(v) for v in raw[1:-1].split(",") if v.strip())
            if not values:
                raise RuleError(f"row rule {text!r}: empty list")
        else:
            values = (_unquote(raw),)
        return cls(column=column, op=op, values=values, text=text.strip())

    def typed_values(self, type_: pa.DataType) -> list[Any]:
        """The literals converted to the column's type; the error names the rule and the type."""
        try:
            return [_convert(v, type_) for v in self.values]
        except (ValueError, TypeError, pa.ArrowInvalid) as exc:
            raise RuleError(f"row rule {self.text!r}: value does not fit column type {type_}: {exc}") from exc

    def expression(self, schema: pa.Schema) -> pc.Expression:
        """An Arrow filter expression; a null never satisfies a rule (rows are kept only when provably allowed)."""
        if self.column not in schema.names:
            raise RuleError(f"row rule {self.text!r}: column {self.column!r} is not in the table")
        type_ = schema.field(self.column).type
        values = [pa.scalar(v, type=type_) for v in self.typed_values(type_)]
        field = pc.field(self.column)
        if self.op == "in":
            return field.isin(pa.array([v.as_py() for v in values], type=type_))
        if self.op == "not in":
            return ~field.isin(pa.array([v.as_py() for v in values], type=type_)) & field.is_valid()
        value = values[0]
        return {
            "=": field == value,
            "!=": field != value,
            "<": field < value,
            "<=": field <= value,
            ">": field > value,
            ">=": field >= value,
        }[self.op]


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _convert(value: str, type_: pa.DataType) -> Any:
    if pa.types.is_date(type_) or pa.types.is_timestamp(type_):
        # A month written as 2025-01 means its first day, the convention of every month column in the trust.
        day = first_day(value) if _MONTH.match(value) else dt.date.fromisoformat(value[:10])
        return day if pa.types.is_date(type_) else dt.datetime.combine(day, dt.time())
    if pa.types.is_boolean(type_):
        if value.lower() not in ("true", "false"):
            raise ValueError(f"{value!r} is not true or false")
        return value.lower() == "true"
    if pa.types.is_integer(type_):
        return int(value)
    if pa.types.is_floating(type_):
        return float(value)
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return value
    raise TypeError(f"row rules on {type_} columns are not supported")


def rows_expression(rules: tuple[RowRule, ...], schema: pa.Schema) -> pc.Expression | None:
    """All rules AND-ed together, or None when every row is permitted."""
    expression = None
    for rule in rules:
        part = rule.expression(schema)
        expression = part if expression is None else expression & part
    return expression


def partition_value(value: str | None, type_: pa.DataType) -> Any:
    """A Delta partition value string (empty means null) as a Python value of the column's type."""
    if value is None or value == "":
        return None
    return pa.scalar(value).cast(type_).as_py()


def rules_reject_partition(rules: tuple[RowRule, ...], schema: pa.Schema, partition: dict[str, Any]) -> bool:
    """True when a rule on a partition column already excludes every row of a file (no need to read it)."""
    for rule in rules:
        if rule.column not in partition:
            continue
        table = pa.table({rule.column: pa.array([partition[rule.column]], type=schema.field(rule.column).type)})
        if not table.filter(rule.expression(pa.schema([schema.field(rule.column)]))).num_rows:
            return True
    return False


# ---- jsonPredicateHints (the protocol's JSON predicate tree), best effort on partition values ----

_HINT_TYPES = {
    "bool": pa.bool_(), "int": pa.int32(), "long": pa.int64(), "string": pa.string(), "date": pa.date32(),
    "float": pa.float32(), "double": pa.float64(), "timestamp": pa.timestamp("us", tz="UTC"),
}


def parse_json_hints(raw: str | dict | None) -> dict | None:
    """The client sends the tree as a JSON-encoded string; anything unreadable means 'no hint' (best effort)."""
    if raw is None or raw == "":
        return None
    try:
        tree = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    return tree if isinstance(tree, dict) else None


def hint_keeps_file(tree: dict | None, partition_values: dict[str, str | None]) -> bool:
    """Whether a file may match the hint; unknown columns or malformed nodes keep the file."""
    if tree is None:
        return True
    try:
        return _evaluate(tree, partition_values) is not False
    except Exception:  # a malformed hint must never fail the query: the protocol says skip filtering
        return True


def _evaluate(node: dict, values: dict[str, str | None]) -> bool | None:
    op = node.get("op")
    children = node.get("children") or []
    if op == "and":
        results = [_evaluate(c, values) for c in children]
        return False if False in results else (None if None in results else True)
    if op == "or":
        results = [_evaluate(c, values) for c in children]
        return True if True in results else (None if None in results else False)
    if op == "not":
        inner = _evaluate(children[0], values)
        return None if inner is None else not inner
    if op == "isNull":
        leaf = children[0]
        if leaf.get("op") != "column" or leaf.get("name") not in values:
            return None
        return values[leaf["name"]] in (None, "")
    comparisons = {
        "equal": lambda a, b: a == b, "lessThan": lambda a, b: a < b, "lessThanOrEqual": lambda a, b: a <= b,
        "greaterThan": lambda a, b: a > b, "greaterThanOrEqual": lambda a, b: a >= b,
    }
    if op in comparisons and len(children) == 2:
        left, right = (_leaf(c, values) for c in children)
        if left is _UNKNOWN or right is _UNKNOWN:
            return None
        if left is None or right is None:
            return False
        return comparisons[op](left, right)
    return None


_UNKNOWN = object()


def _leaf(node: dict, values: dict[str, str | None]) -> Any:
    type_ = _HINT_TYPES.get(node.get("valueType", ""))
    if type_ is None:
        return _UNKNOWN
    if node.get("op") == "column":
        if node.get("name") not in values:
            return _UNKNOWN
        return partition_value(values[node["name"]], type_)
    if node.get("op") == "literal":
        return partition_value(str(node.get("value")), type_)
    return _UNKNOWN
