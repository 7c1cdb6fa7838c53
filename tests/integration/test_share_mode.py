"""The pipeline reads department tables through Delta Sharing and publishes exactly what direct reads publish.

Two copies of one generated home: one run reads the Delta tables by path, the other through a sharing server on
loopback (the departments' side of the trust, agreements in agreements/), authenticated as recipient `trust`.
"""

from __future__ import annotations

import shutil

import pytest
from deltalake import DeltaTable

from trust_assets.lib.paths import AGREEMENTS_DIR, TrustPaths
from trust_assets.lib.publish.commit import content_hash
from trust_assets.lib.registry.products import PRODUCTS

pytestmark = pytest.mark.integration
MONTHS = ["2025-01", "2025-02"]


def published_hashes(paths: TrustPaths) -> dict[str, str]:
    return {p.name: content_hash(DeltaTable(str(paths.published_product(p.name))).to_pyarrow_table(), list(p.grain))
            for p in PRODUCTS}


def test_share_reads_publish_the_same_products_as_direct_reads(tmp_path, monkeypatch):
    from _servers import free_port, serve_in_thread

    from trust_assets.runs.execute import run_months
    from trust_assets.sharing.app import create_app
    from trust_assets.sharing.recipients import RecipientStore
    from trust_assets.sharing.state import ServerConfig
    from trust_assets.synth.writer import generate

    direct = TrustPaths(tmp_path / "direct")
    generate(direct, seed=11, scale="tiny", months=3, start="2025-01")
    shared = TrustPaths(tmp_path / "shared")
    shutil.copytree(direct.root, shared.root)

    monkeypatch.setenv("TRUST_HOME", str(direct.root))
    (outcome,) = run_months(direct, MONTHS)
    assert outcome.success, outcome.message

    # the same cell-key secret, so keyed rounding perturbs the same cells the same way in both homes
    shared.ensure()
    shutil.copy2(direct.disclosure_secret, shared.disclosure_secret)
    monkeypatch.setenv("TRUST_HOME", str(shared.root))
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/delta-sharing"
    issued = RecipientStore(shared.ensure()).create("trust", endpoint=endpoint)
    app = create_app(ServerConfig(paths=shared, agreements_dir=AGREEMENTS_DIR))
    with serve_in_thread(app, port=port):
        (outcome,) = run_months(shared, MONTHS, share_profile=str(issued.profile_path))
    assert outcome.success, outcome.message

    assert published_hashes(shared) == published_hashes(direct)
    entry = DeltaTable(str(shared.published_product(PRODUCTS[0].name))).history(limit=1)[0]
    assert "hmrc/paye_employments" in entry["trust.sources"]
    # The shared run read department rows only over the protocol: the audit log names recipient `trust`.
    from trust_assets.sharing.access_log import read_access_log

    tables = {r.get("table") for r in read_access_log(shared) if r.get("recipient") == "trust"}
    assert {"uc_claims", "paye_employments", "fe_learner_aims", "business_register"} <= tables
