"""The sharing server end to end with the official delta-sharing client, DuckDB and a fuzzer, on loopback."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from pathlib import Path

import delta_sharing
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _servers import free_port, serve_in_thread
from deltalake import DeltaTable, write_deltalake

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.sources import PAYE_EMPLOYMENTS
from trust_assets.lib.sources.share_client import list_shared_files, read_with_duckdb
from trust_assets.sharing.access_log import access_log_path, read_access_log, verify_access_log
from trust_assets.sharing.app import create_app
from trust_assets.sharing.demo import setup_demo_recipient
from trust_assets.sharing.recipients import RecipientStore
from trust_assets.sharing.signing import UrlSigner, load_signing_key
from trust_assets.sharing.state import ServerConfig

pytestmark = pytest.mark.integration

SECRET = "SECRET-EMPLOYER"
PERMITTED = ["person_id", "month", "pay_gbp", "residence_la_code"]
HMRC = "hmrc.default.paye_employments"

AGREEMENT = """\
id: {id}
provider: {provider}
recipient: {recipient}
share: {share}
purpose: testing the sharing server end to end
lawful_basis: testing only
start_date: 2025-01-01
end_date: {end}
retention: P0D
status: {status}
disclosure_policy: no_onward_release
tables:
  - schema: default
    name: {table}
    source: {source}
    columns: {columns}
    rows: {rows}
"""


def _agreement(folder: Path, id: str, recipient: str, share: str, table: str, source: str, columns: str = "all",
               rows: str = "[]", end: str = "2099-12-31", status: str = "active") -> None:
    (folder / f"{id}.yaml").write_text(AGREEMENT.format(
        id=id, provider="test", recipient=recipient, share=share, table=table, source=source, columns=columns,
        rows=rows, end=end, status=status))


def _paye(month: dt.date, n: int, offset: int = 0) -> pa.Table:
    return pa.table({
        "person_id": [f"p{offset + i}" for i in range(n)], "employer_id": [f"{SECRET}-{i}" for i in range(n)],
        "month": pa.array([month] * n, pa.date32()), "pay_gbp": [1000.0 + offset + i for i in range(n)],
        "residence_la_code": [("E06000001", "E06000002")[i % 2] for i in range(n)],
        "employment_start_date": pa.array([dt.date(2020, 1, 1)] * n, pa.date32()),
    }, schema=PAYE_EMPLOYMENTS.schema)


class World:
    """A TRUST_HOME with a department table, a published product, agreements, recipients and a live server."""

    endpoint: str
    paths: TrustPaths
    agreements: Path
    profiles: dict[str, Path]
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("sharing")
    w = World()
    w.paths = TrustPaths(root).ensure()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRUST_HOME", str(root))
        source = str(w.paths.source_table("hmrc", "paye_employments"))
        write_deltalake(source, _paye(dt.date(2025, 1, 1), 6), partition_by=["month"])  # v0
        write_deltalake(source, _paye(dt.date(2025, 2, 1), 5, 100), mode="append", partition_by=["month"])  # v1
        write_deltalake(source, _paye(dt.date(2025, 3, 1), 4, 200), mode="append", partition_by=["month"])  # v2
        DeltaTable(source).delete("month = '2025-03-01'")  # v3: removes the March file
        product = str(w.paths.published_product("local_labour_market_monthly"))
        for version in range(2):
            write_deltalake(product, pa.table({
                "month": pa.array([dt.date(2025, 1 + version, 1)] * 2, pa.date32()),
                "local_authority_code": ["E06000001", "E06000002"], "claimants": [10 + version, 20 + version]}),
                mode="append")
        w.agreements = root / "agreements"
        w.agreements.mkdir()
        hmrc = "{department_table: hmrc/paye_employments}"
        llm = "{published_product: local_labour_market_monthly}"
        _agreement(w.agreements, "dsa-hmrc-trust", "trust", "hmrc", "paye_employments", hmrc,
                   columns=json.dumps(PERMITTED), rows="['month >= 2025-02']")
        _agreement(w.agreements, "trust-products", "trust", "products", "local_labour_market_monthly", llm)
        _agreement(w.agreements, "dsa-dwp-old", "trust", "dwp", "uc_claims", "{department_table: dwp/uc_claims}",
                   end="2025-06-30")
        _agreement(w.agreements, "published-products", "analyst-example", "products",
                   "local_labour_market_monthly", llm)
        _agreement(w.agreements, "analyst-two-products", "analyst-two", "products", "local_labour_market_monthly",
                   llm)
        port = free_port()
        w.endpoint = f"http://127.0.0.1:{port}/delta-sharing"
        store = RecipientStore(w.paths)
        issued = {name: store.create(name, endpoint=w.endpoint) for name in ("trust", "analyst-two", "revoked")}
        issued["lapsed"] = store.create("lapsed", expires_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC))
        old = store.create("rotated").token
        issued["rotated"] = store.rotate("rotated")
        store.revoke("revoked")
        w.tokens = {name: i.token for name, i in issued.items()} | {"rotated-old": old}
        w.profiles = {name: i.profile_path for name, i in issued.items() if i.profile_path}
        app = create_app(ServerConfig(paths=w.paths, agreements_dir=w.agreements, url_lifetime_seconds=600,
                                      rate_per_second=0))
        with serve_in_thread(app, port):
            yield w


def _get(w: World, path: str, who: str | None = "trust", method: str = "GET", **kwargs) -> httpx.Response:
    headers = kwargs.pop("headers", {})
    if who:
        headers["Authorization"] = f"Bearer {w.tokens.get(who, who)}"
    return httpx.request(method, f"{w.endpoint}{path}", headers=headers, timeout=30, **kwargs)


def _query(w: World, body: dict | None = None, who: str = "trust", table: str = HMRC) -> list[dict]:
    share, schema, name = table.split(".")
    response = _get(w, f"/shares/{share}/schemas/{schema}/tables/{name}/query", who, "POST", json=body or {})
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def _expected(w: World, version: int) -> pa.Table:
    table = DeltaTable(str(w.paths.source_table("hmrc", "paye_employments")), version=version).to_pyarrow_table()
    return table.filter(pa.compute.field("month") >= dt.date(2025, 2, 1)).select(PERMITTED)


def test_official_client_lists_and_reads_a_pinned_version_with_a_limit(world: World) -> None:
    client = delta_sharing.SharingClient(str(world.profiles["trust"]))
    assert sorted(s.name for s in client.list_shares()) == ["hmrc", "products"]  # expired dwp not listed
    assert {t.name for t in client.list_all_tables()} == {"paye_employments", "local_labour_market_monthly"}
    url = f"{world.profiles['trust']}#{HMRC}"
    assert delta_sharing.get_table_version(url) == 3
    frame = delta_sharing.load_as_pandas(url, version=2)
    expected = _expected(world, 2)
    assert list(frame.columns) == PERMITTED
    assert sorted(frame["person_id"]) == sorted(expected.column("person_id").to_pylist())
    assert len(delta_sharing.load_as_pandas(url, version=2, limit=3)) == 3
    assert sorted(delta_sharing.load_as_pandas(url)["person_id"]) == sorted(_expected(world, 3)["person_id"]
                                                                            .to_pylist())
    metadata = delta_sharing.get_table_metadata(url)
    assert [f["name"] for f in json.loads(metadata.schema_string)["fields"]] == PERMITTED


def test_a_product_is_served_only_at_versions_a_complete_release_names(world: World) -> None:
    """v1 of the product belongs to a release that never finished (no manifest row): it is never served."""
    import shutil

    from trust_assets.lib.publish.releases import ReleaseContext, record_release

    product = "/shares/products/schemas/default/tables/local_labour_market_monthly"
    assert _get(world, product + "/version").headers["delta-table-version"] == "1"  # no manifest: legacy home
    record_release(ReleaseContext(paths=world.paths, run_id="release-of-v0", months=("2025-01",),
                                  products={"local_labour_market_monthly": 0}, pins={}, log=lambda _: None))
    try:
        assert _get(world, product + "/version").headers["delta-table-version"] == "0"
        lines = _query(world, table="products.default.local_labour_market_monthly")
        assert sum(1 for line in lines if "file" in line) == 1  # v0 has one file; v1 appended a second
        refused = _get(world, product + "/query", method="POST", json={"version": 1})
        assert refused.status_code == 404 and "not part of a complete release" in refused.text
        assert _query(world, {"version": 0}, table="products.default.local_labour_market_monthly")
        changes = _get(world, product + "/changes?startingVersion=0&endingVersion=1")
        assert changes.status_code == 400 and "beyond the latest version 0" in changes.text
    finally:
        shutil.rmtree(world.paths.releases)


def test_change_feed_synthesised_from_the_delta_log(world: World) -> None:
    url = f"{world.profiles['trust']}#{HMRC}"
    changes = delta_sharing.load_table_changes_as_pandas(url, starting_version=0, ending_version=3)
    inserts = changes[changes["_change_type"] == "insert"]
    deletes = changes[changes["_change_type"] == "delete"]
    # v0 (January) is outside the agreement: no change from it is served
    assert sorted(inserts["_commit_version"].unique()) == [1, 2]
    assert len(inserts) == 5 + 4 and len(deletes) == 4
    assert set(deletes["_commit_version"]) == {3} and set(deletes["month"].astype(str)) == {"2025-03-01"}
    assert "employer_id" not in changes.columns


def test_pagination_and_partition_hints(world: World) -> None:
    first = _get(world, "/shares", params={"maxResults": 1}).json()
    assert len(first["items"]) == 1 and first["nextPageToken"]
    second = _get(world, "/shares", params={"maxResults": 1, "pageToken": first["nextPageToken"]}).json()
    assert [first["items"][0]["name"], second["items"][0]["name"]] == ["hmrc", "products"]
    assert "nextPageToken" not in second
    hint = json.dumps({"op": "equal", "children": [{"op": "column", "name": "month", "valueType": "date"},
                                                   {"op": "literal", "value": "2025-02-01", "valueType": "date"}]})
    lines = _query(world, {"jsonPredicateHints": hint, "predicateHints": ["month = '2025-02-01'"], "version": 2})
    files = [line["file"] for line in lines if "file" in line]
    assert [f["partitionValues"]["month"] for f in files] == ["2025-02-01"]


@pytest.mark.parametrize(
    ("who", "path", "status", "words"),
    [
        (None, "/shares", 401, "missing bearer token"),
        ("wrong-token", "/shares", 401, "not recognised"),
        ("lapsed", "/shares", 401, "expired at 2025-01-02T00:00:00Z"),
        ("revoked", "/shares", 401, "revoked at"),
        ("rotated-old", "/shares", 401, "replaced by rotation"),
        ("analyst-two", "/shares/hmrc/schemas", 403, "not granted to recipient analyst-two"),
        ("trust", "/shares/dwp/schemas/default/tables/uc_claims/metadata", 403, "dsa-dwp-old expired on 2025-06-30"),
        ("trust", "/shares/nope/schemas", 404, "does not exist"),
        ("trust", "/shares/hmrc/schemas/default/tables/..%2F..%2Ftrust%2Fsharing/metadata", 404, ""),
        ("trust", "/shares/hmrc/schemas/..%2Fdefault/tables/paye_employments/metadata", 404, ""),
        ("trust", "/shares/hmrc/schemas/default/tables/secret/metadata", 404, "does not exist"),
        ("trust", "/files/..%2F..%2Fsigning.key?exp=1&rcp=trust&agr=dsa-hmrc-trust&sig=0", 404, ""),
        ("trust", "/shares?pageToken=garbage", 400, "pageToken"),
        ("trust", "/shares?maxResults=-1", 400, "maxResults"),
    ],
)
def test_auth_matrix(world: World, who: str | None, path: str, status: int, words: str) -> None:
    response = _get(world, path, who)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errorCode", "message"} and words in body["message"]


def test_bad_query_requests_are_400_not_500(world: World) -> None:
    base = "/shares/hmrc/schemas/default/tables/paye_employments"
    assert _get(world, f"{base}/query", method="POST", json={"limitHint": -1}).status_code == 400
    assert _get(world, f"{base}/query", method="POST", json={"version": 99}).status_code == 404
    assert _get(world, f"{base}/query", method="POST", json={"version": 1, "timestamp": "x"}).status_code == 400
    assert _get(world, f"{base}/query", method="POST", content=b"{not json").status_code == 400
    assert _get(world, f"{base}/changes", params={"startingVersion": 2, "endingVersion": 1}).status_code == 400
    assert _get(world, f"{base}/changes").status_code == 400
    delta_only = _get(world, f"{base}/query", method="POST", json={},
                      headers={"delta-sharing-capabilities": "responseformat=delta"})
    assert delta_only.status_code == 400 and delta_only.json()["errorCode"] == "UNSUPPORTED_RESPONSE_FORMAT"
    both = _get(world, f"{base}/metadata", headers={"delta-sharing-capabilities": "responseformat=delta,parquet"})
    assert both.headers["delta-sharing-capabilities"] == "responseformat=parquet"
    head = _get(world, "/shares/hmrc/schemas/default/tables/paye_employments", method="HEAD")
    assert head.status_code == 200 and head.headers["delta-table-version"] == "3"


def test_columns_and_rows_outside_the_agreement_are_never_served(world: World) -> None:
    for version in range(4):
        for line in _query(world, {"version": version}):
            if "file" not in line:
                continue
            body = httpx.get(line["file"]["url"], timeout=30)
            assert body.status_code == 200 and len(body.content) == line["file"]["size"]
            table = pq.read_table(io.BytesIO(body.content))
            assert table.column_names == PERMITTED
            assert min(table.column("month").to_pylist()) >= dt.date(2025, 2, 1)
    # nothing in the projection cache holds a forbidden column or row, whatever was asked
    for cached in (world.paths.sharing / "cache").glob("*/*.parquet"):
        table = pq.read_table(cached)
        assert "employer_id" not in table.column_names and "employment_start_date" not in table.column_names
        if "month" in table.column_names and cached.stat().st_size and table.num_rows:
            assert SECRET not in str(table.to_pylist())


def test_file_urls_serve_ranges_and_refuse_tampering(world: World) -> None:
    entry = next(line["file"] for line in _query(world) if "file" in line)
    url = entry["url"]
    head = httpx.head(url)
    assert head.headers["content-length"] == str(entry["size"]) and head.headers["accept-ranges"] == "bytes"
    assert head.headers["content-type"] == "application/octet-stream"
    part = httpx.get(url, headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == b"PAR1"
    # fsspec and other clients may decode or re-encode the path: the canonical form still verifies
    assert httpx.get(url.replace(".parquet?", "%2Eparquet?")).status_code == 200
    path, query = url.split("?")
    params = dict(p.split("=") for p in query.split("&"))
    tampered_sig = f"{path}?" + query.replace(params["sig"], "0" * 64)
    other_key = path[:-72] + "0" * 64 + ".parquet?" + query
    other_agreement = f"{path}?" + query.replace("agr=dsa-hmrc-trust", "agr=trust-products")
    for bad in (tampered_sig, other_key, other_agreement):
        response = httpx.get(bad)
        assert response.status_code == 403 and "signature" in response.json()["message"]
    signer = UrlSigner(load_signing_key(world.paths), lifetime_seconds=60)
    server_path = path.split(":", 2)[2][path.split(":", 2)[2].index("/"):]
    expired, _ = signer.sign(path.split("/delta-sharing")[0], server_path, "trust", "dsa-hmrc-trust", now=0)
    response = httpx.get(expired)
    assert response.status_code == 403 and "expired" in response.json()["message"]


def test_revocation_and_withdrawal_apply_to_live_urls(world: World) -> None:
    table = "products.default.local_labour_market_monthly"
    url = next(line["file"]["url"] for line in _query(world, who="analyst-two", table=table) if "file" in line)
    assert httpx.get(url).status_code == 200
    path = world.agreements / "analyst-two-products.yaml"
    path.write_text(path.read_text().replace("status: active", "status: withdrawn"))
    response = httpx.get(url)
    assert response.status_code == 403 and "analyst-two-products has been withdrawn" in response.json()["message"]
    metadata = _get(world, "/shares/products/schemas/default/tables/local_labour_market_monthly/metadata",
                    "analyst-two")
    assert metadata.status_code == 403 and "withdrawn" in metadata.json()["message"]
    path.write_text(path.read_text().replace("status: withdrawn", "status: active"))
    assert httpx.get(url).status_code == 200
    RecipientStore(world.paths).revoke("analyst-two")
    assert httpx.get(url).status_code == 403


def test_pipeline_client_urls_read_by_duckdb_through_fsspec(world: World) -> None:
    import duckdb
    import fsspec

    files = list_shared_files(world.profiles["trust"], HMRC, version=2)
    assert files.version == 2 and files.schema.names == PERMITTED and files.partition_columns == ["month"]
    relation = read_with_duckdb(files)
    got = sorted(relation.fetchall())
    expected = sorted(tuple(r.values()) for r in _expected(world, 2).to_pylist())
    assert got == expected
    # the documented limitation: plain fsspec HTTP lacks modified(), which DuckDB calls
    con = duckdb.connect()
    con.register_filesystem(fsspec.filesystem("http"))
    with pytest.raises(duckdb.NotImplementedException, match="modified"):
        con.read_parquet(files.urls).fetchall()


def test_demo_recipient_snippet_reads_a_product(world: World) -> None:
    profile, snippet = setup_demo_recipient(world.paths, world.endpoint)
    assert len(snippet.splitlines()) == 3 and str(profile) in snippet
    scope: dict = {}
    exec(snippet, scope)
    published = DeltaTable(str(world.paths.published_product("local_labour_market_monthly"))).to_pandas()
    assert sorted(scope["df"]["claimants"]) == sorted(published["claimants"])


def test_openapi_fuzzed_without_server_errors(world: World) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    app = create_app(ServerConfig(paths=world.paths, agreements_dir=world.agreements, api_docs=True,
                                  rate_per_second=0))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    auth = {"Authorization": f"Bearer {world.tokens['trust']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case) -> None:
            response = case.call(headers=auth)
            assert response.status_code < 500, (case.path, case.path_parameters, case.body, response.text)

        check()


def test_load_smoke(world: World) -> None:
    from trust_assets.bench.sharing_load import run_load

    figures = run_load(world.endpoint, world.tokens["trust"], HMRC, clients=4, seconds=2)
    assert figures["errors"] == 0 and figures["requests"] > 10 and figures["p99_ms"] >= figures["p50_ms"]


def test_every_request_is_audited_and_the_chain_verifies(world: World) -> None:
    # runs last: the fuzzer's second app instance has written to the same log, and the chain must still hold
    _get(world, "/shares/hmrc/schemas", "analyst-two")
    _query(world, {"version": 2, "limitHint": 1})

    def this_query(records: list[dict]) -> list[dict]:
        return [r for r in records if r["path"].endswith("/query") and r.get("version") == 2
                and r.get("recipient") == "trust" and r.get("limit") == 1]

    # The middleware appends a request's record once the response has gone out: wait (bounded) for ours.
    deadline = time.monotonic() + 5
    while not this_query(read_access_log(world.paths)) and time.monotonic() < deadline:
        time.sleep(0.05)
    records = read_access_log(world.paths)
    assert verify_access_log(access_log_path(world.paths)).ok
    refused = [r for r in records if r["status"] == 403 and r.get("share") == "hmrc"]
    assert refused and refused[-1]["recipient"] == "analyst-two"
    query = this_query(records)[-1]
    assert query["recipient"] == "trust" and query["agreement"] == "dsa-hmrc-trust" and query["files"] >= 1
    assert query["limit"] == 1 and query["table"] == "paye_employments"
    reads = [r for r in records if "/files/" in r["path"] and r["method"] == "GET" and r["status"] in (200, 206)]
    assert reads and all(r["agreement"] == "dsa-hmrc-trust" for r in reads if r.get("share") == "hmrc")
    # bytes actually sent: a client that hangs up early is recorded with what it really received
    assert any(r["status"] == 206 and r["bytes_sent"] == 4 for r in reads)
    assert sum(r["bytes_sent"] for r in reads) > 0
