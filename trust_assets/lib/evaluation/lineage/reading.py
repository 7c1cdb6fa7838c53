"""Reading the recorded events back (the report and ``trust lineage`` do)."""

from __future__ import annotations

import json
from typing import Any

from trust_assets.lib.paths import TrustPaths


def read_events(paths: TrustPaths) -> list[dict[str, Any]]:
    """Every event under the lineage folder, oldest first; a missing folder means no events yet."""
    events = []
    for path in sorted(paths.lineage.glob("*.jsonl")) if paths.lineage.is_dir() else []:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not a JSON event ({exc.msg})") from exc
    return sorted(events, key=lambda e: e.get("eventTime", ""))
