"""The ``trust_assets`` code location: loads each stage's definitions from ``defs/`` and joins them.

Loading is lazy (``@dg.definitions``): importing this module builds nothing; Dagster builds the definitions when it
loads the code location, and the dbt manifest (prepared by the set-up command) is read only then.
"""

from __future__ import annotations

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    from trust_assets.defs.build import build_definitions

    return build_definitions()
