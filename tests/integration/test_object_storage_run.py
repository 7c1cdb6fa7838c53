"""The pipeline with the departments and the published products in object storage (SeaweedFS, started by
scripts/services.sh start s3), reading the departments with a read-only key: it publishes what a local run of the
same home publishes, writes nothing to the departments' bucket, and the sharing server serves the products from
the store."""

from __future__ import annotations

import shutil
import uuid

import pytest

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
#: The session's tiny home (tests/integration/conftest.py): the same seed, months and first month.
TINY_SEED, TINY_MONTHS, TINY_START = 7, 8, "2025-01"


def _objects(prefix: str) -> dict[str, tuple[int, str | None]]:
    """Every object under a prefix with its size and etag (admin identity)."""
    from obstore.store import from_url

    from trust_assets.lib.storage import _obstore_config

    config, client = _obstore_config(prefix)
    store = from_url(prefix, config=config or None, client_options=client or None)
    return {str(m["path"]): (int(m["size"]), m.get("e_tag")) for batch in store.list() for m in batch}


def _product_rows(location: str, grain: tuple[str, ...]):
    from trust_assets.lib.storage import delta_table

    table = delta_table(location).to_pyarrow_table()
    return table.sort_by([(c, "ascending") for c in grain]).to_pylist()


def test_run_from_object_storage_with_a_read_only_key_equals_the_local_run(
        s3_env, published_home_template, tmp_path, monkeypatch):
    from trust_assets.runs.execute import run_months
    from trust_assets.synth.writer import generate

    tag = f"run-{uuid.uuid4().hex[:8]}"
    departments, published = f"s3://departments/{tag}", f"s3://trust/{tag}/published"
    root = tmp_path / "home"
    monkeypatch.setenv("TRUST_HOME", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster"))
    monkeypatch.setenv("TRUST_DEPARTMENTS_URI", departments)
    monkeypatch.setenv("TRUST_PUBLISHED_URI", published)
    paths = TrustPaths.from_env()
    assert paths.candidates == f"s3://trust/{tag}/candidates"

    # The department writes its tables (its own read-write key: the admin identity here).
    generate(paths, seed=TINY_SEED, scale="tiny", months=TINY_MONTHS, start=TINY_START)
    assert not (root / "departments").exists()
    # Keyed rounding's offsets come from the trust's secret: the same secret as the local run, so the same cells.
    local = TrustPaths(published_home_template)
    paths.secrets.mkdir(parents=True, mode=0o700)
    shutil.copy2(local.disclosure_secret, paths.disclosure_secret)

    # The trust holds only the department's read-only key for the departments' bucket, and its own key for its
    # own root. The read-only key is also the default, so a read or write that forgot its root's options fails.
    readonly = (s3_env["TRUST_S3_DEPARTMENTS_READONLY_ACCESS_KEY_ID"],
                s3_env["TRUST_S3_DEPARTMENTS_READONLY_SECRET_ACCESS_KEY"])
    for prefix in ("", "TRUST_DEPARTMENTS_"):
        monkeypatch.setenv(f"{prefix}AWS_ACCESS_KEY_ID", readonly[0])
        monkeypatch.setenv(f"{prefix}AWS_SECRET_ACCESS_KEY", readonly[1])
    monkeypatch.setenv("TRUST_PUBLISHED_AWS_ACCESS_KEY_ID", s3_env["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("TRUST_PUBLISHED_AWS_SECRET_ACCESS_KEY", s3_env["AWS_SECRET_ACCESS_KEY"])
    from trust_assets.lib.storage import storage_options

    assert storage_options(paths.source_table("dwp", "uc_claims"))["AWS_ACCESS_KEY_ID"].startswith("DEPTREADER")
    before = _objects(f"s3://departments/{tag}/")
    assert before

    outcomes = run_months(paths, [TINY_START], echo=lambda *_: None)
    assert [o.success for o in outcomes] == [True], outcomes[0].message

    assert _objects(f"s3://departments/{tag}/") == before, "the trust wrote to the departments' bucket"
    assert not (root / "trust" / "published").exists() and not (root / "trust" / "candidates").exists()
    for p in PRODUCTS:
        remote = _product_rows(paths.published_product(p.name), p.grain)
        assert remote, p.name
        assert remote == _product_rows(local.published_product(p.name), p.grain), p.name

    _served_from_object_storage(paths, remote_rows={p.name: _product_rows(paths.published_product(p.name), p.grain)
                                                    for p in PRODUCTS[:1]})


def _served_from_object_storage(paths: TrustPaths, remote_rows: dict[str, list[dict]]) -> None:
    """The sharing server (its own signed proxy over projections) serves a product that lives in the store."""
    import delta_sharing
    from _servers import free_port, serve_in_thread

    from trust_assets.lib.paths import AGREEMENTS_DIR
    from trust_assets.sharing.app import create_app
    from trust_assets.sharing.demo import DEMO_SCHEMA, DEMO_SHARE, setup_demo_recipient
    from trust_assets.sharing.state import ServerConfig

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/delta-sharing"
    profile, _ = setup_demo_recipient(paths, endpoint)
    app = create_app(ServerConfig(paths=paths, agreements_dir=AGREEMENTS_DIR, rate_per_second=0))
    with serve_in_thread(app, port):
        for name, rows in remote_rows.items():
            frame = delta_sharing.load_as_pandas(f"{profile}#{DEMO_SHARE}.{DEMO_SCHEMA}.{name}")
            assert len(frame) == len(rows) > 0, name
            assert sorted(frame.columns) == sorted(rows[0]), name
