"""The sharing server attacked as issue 12 describes, on loopback: live URLs after agreement edits, broken agreement
files, revoke-then-rotate, oversized and malformed input, forged URLs, the Host header, headers, docs, TLS, modes."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import socket
import time
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _servers import free_port, serve_in_thread
from deltalake import write_deltalake

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.sources import PAYE_EMPLOYMENTS
from trust_assets.sharing.access_log import read_access_log, verify_access_log
from trust_assets.sharing.app import create_app
from trust_assets.sharing.recipients import RecipientStore
from trust_assets.sharing.state import ServerConfig

pytestmark = pytest.mark.integration

TABLE = "/shares/hmrc/schemas/default/tables/paye_employments"
AGREEMENT = """\
id: dsa-hmrc-trust
provider: HMRC
recipient: trust
share: hmrc
purpose: testing the hardened sharing server
lawful_basis: testing only
start_date: 2025-01-01
end_date: 2099-12-31
retention: P0D
status: {status}
disclosure_policy: no_onward_release
tables:
  - schema: default
    name: paye_employments
    source: {{department_table: hmrc/paye_employments}}
    columns: {columns}
    rows: {rows}
"""
PRODUCTS = """\
id: analyst-products
provider: the trust
recipient: analyst
share: products
purpose: testing revocation and rotation
lawful_basis: testing only
start_date: 2025-01-01
end_date: 2099-12-31
retention: P0D
status: active
disclosure_policy: open_government_licence
tables:
  - schema: default
    name: local_labour_market_monthly
    source: {published_product: local_labour_market_monthly}
    columns: all
"""
COLUMNS = "[person_id, month, pay_gbp, residence_la_code]"
ROWS = "['month >= 2025-01']"


def _paye(month: dt.date, n: int, offset: int = 0) -> pa.Table:
    return pa.table({
        "person_id": [f"p{offset + i}" for i in range(n)], "employer_id": [f"E{i}" for i in range(n)],
        "month": pa.array([month] * n, pa.date32()), "pay_gbp": [1000.0 + offset + i for i in range(n)],
        "residence_la_code": ["E06000001"] * n,
        "employment_start_date": pa.array([dt.date(2020, 1, 1)] * n, pa.date32()),
    }, schema=PAYE_EMPLOYMENTS.schema)


class World:
    root: Path
    paths: TrustPaths
    agreements: Path
    endpoint: str
    tokens: dict[str, str]

    def write_agreement(self, status: str = "active", columns: str = COLUMNS, rows: str = ROWS) -> None:
        (self.agreements / "dsa-hmrc-trust.yaml").write_text(AGREEMENT.format(status=status, columns=columns,
                                                                              rows=rows))

    def get(self, path: str, who: str | None = "trust", method: str = "GET", **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if who:
            headers["Authorization"] = f"Bearer {self.tokens.get(who, who)}"
        return httpx.request(method, f"{self.endpoint}{path}", headers=headers, timeout=30, **kwargs)

    def urls(self, who: str = "trust", table: str = TABLE, body: dict | None = None) -> list[str]:
        response = self.get(f"{table}/query", who, "POST", json=body or {})
        assert response.status_code == 200, response.text
        return [json.loads(line)["file"]["url"] for line in response.text.splitlines() if '"file"' in line]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    w = World()
    w.root = tmp_path_factory.mktemp("hardening")
    w.paths = TrustPaths(w.root).ensure()
    source = str(w.paths.source_table("hmrc", "paye_employments"))
    write_deltalake(source, _paye(dt.date(2025, 1, 1), 4), partition_by=["month"])
    write_deltalake(source, _paye(dt.date(2025, 2, 1), 3, 100), mode="append", partition_by=["month"])
    write_deltalake(str(w.paths.published_product("local_labour_market_monthly")), pa.table({
        "month": pa.array([dt.date(2025, 1, 1)], pa.date32()), "local_authority_code": ["E06000001"],
        "claimants": [10]}))
    w.agreements = w.root / "agreements"
    w.agreements.mkdir()
    w.write_agreement()
    (w.agreements / "analyst-products.yaml").write_text(PRODUCTS)
    port = free_port()
    w.endpoint = f"http://127.0.0.1:{port}/delta-sharing"
    store = RecipientStore(w.paths)
    w.tokens = {name: store.create(name).token for name in ("trust", "analyst")}
    app = create_app(ServerConfig(paths=w.paths, agreements_dir=w.agreements, url_lifetime_seconds=600,
                                  rate_per_second=10_000, rate_burst=100_000))
    with serve_in_thread(app, port):
        yield w


@pytest.fixture
def restore(world: World):
    yield world
    world.write_agreement()


def _columns(url: str) -> list[str]:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    return pq.read_table(io.BytesIO(response.content)).column_names


# ---- 1. authorisation at every use ----

def test_narrowing_an_agreement_cancels_urls_already_issued(restore: World) -> None:
    w = restore
    before = w.urls()
    assert len(before) == 2 and "pay_gbp" in _columns(before[0])
    w.write_agreement(columns="[person_id, month]")  # a column removed
    for url in before:
        refused = httpx.get(url)
        assert refused.status_code == 403 and "has changed since this URL was issued" in refused.json()["message"]
    assert _columns(w.urls()[0]) == ["person_id", "month"]  # the next query follows the new terms at once
    w.write_agreement(rows="['month >= 2025-02']")  # the same columns as before, but January dropped
    assert all(httpx.get(url).status_code == 403 for url in before)
    assert len(w.urls()) == 1
    w.write_agreement()  # terms back as they were: the file is again exactly what they allow
    assert httpx.get(before[0]).status_code == 200


# ---- 2. fail closed ----

def test_an_invalid_agreement_edit_fails_closed(restore: World, caplog: pytest.LogCaptureFixture) -> None:
    w = restore
    url = w.urls()[0]
    path = w.agreements / "dsa-hmrc-trust.yaml"
    # breaks the schema *and* withdraws: the withdrawal is honoured, nothing falls back to the old file
    path.write_text(path.read_text().replace("status: active", "status: withdrawn").replace("retention: P0D",
                                                                                            "retention: forever"))
    for response in (httpx.get(url), w.get(f"{TABLE}/metadata"), w.get(f"{TABLE}/query", method="POST", json={})):
        assert response.status_code == 403 and "withdrawn" in response.json()["message"], response.text
    assert "retention" in caplog.text and "suspended" in caplog.text  # the operator is told what is wrong
    assert [s["name"] for s in w.get("/shares").json()["items"]] == []
    # broken without a withdrawal: 503 (retry later), never the previous, valid terms
    w.write_agreement(columns="[person_id, shoe_size]")
    assert httpx.get(url).status_code == 503
    refused = w.get(f"{TABLE}/metadata")
    assert refused.status_code == 503 and refused.headers["retry-after"] == "60"
    # the other recipient's share is untouched
    assert w.get("/shares/products/schemas/default/tables/local_labour_market_monthly/metadata",
                 "analyst").status_code == 200
    # garbage in a file the server knew: still only that file's share is blocked (it remembers whose it was)
    path.write_text("{{{ not yaml at all")
    assert w.get(f"{TABLE}/metadata").status_code == 503
    assert w.get("/shares/products/all-tables", "analyst").status_code == 200
    # a new file that does not even say whose share it is suspends every share
    mystery = w.agreements / "mystery.yaml"
    mystery.write_text("{{{ not yaml at all")
    try:
        assert w.get("/shares/products/all-tables", "analyst").status_code == 503
        assert w.get("/shares", "analyst").status_code == 503
    finally:
        mystery.unlink()
    w.write_agreement()
    assert httpx.get(url).status_code == 200 and w.get("/shares").status_code == 200


# ---- 3. revocation is permanent; expiry ends URLs ----

def test_revoke_then_rotate_does_not_revive_urls(world: World) -> None:
    w = world
    table = "/shares/products/schemas/default/tables/local_labour_market_monthly"
    store = RecipientStore(w.paths)
    issued = store.create("flaky")
    (w.agreements / "flaky-products.yaml").write_text(
        PRODUCTS.replace("analyst-products", "flaky-products").replace("recipient: analyst", "recipient: flaky"))
    w.tokens["flaky"] = issued.token
    url = w.urls("flaky", table)[0]
    assert httpx.get(url).status_code == 200
    store.revoke("flaky")
    assert httpx.get(url).status_code == 403
    w.tokens["flaky"] = store.rotate("flaky").token
    refused = httpx.get(url)
    assert refused.status_code == 403 and "revoked at" in refused.json()["message"]
    fresh = w.urls("flaky", table)[0]
    assert httpx.get(fresh).status_code == 200
    store.rotate("flaky")  # routine rotation ends what the retired token obtained, too
    assert httpx.get(fresh).status_code == 403


def test_a_token_expiring_stops_its_urls(world: World) -> None:
    w = world
    store = RecipientStore(w.paths)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)
    (w.agreements / "brief-products.yaml").write_text(
        PRODUCTS.replace("analyst-products", "brief-products").replace("recipient: analyst", "recipient: brief"))
    w.tokens["brief"] = store.create("brief", expires_at=expires).token
    response = w.get("/shares/products/schemas/default/tables/local_labour_market_monthly/query", "brief", "POST",
                     json={})
    entry = next(json.loads(line)["file"] for line in response.text.splitlines() if '"file"' in line)
    assert entry["expirationTimestamp"] <= expires.timestamp() * 1000  # never promised beyond the token
    assert httpx.get(entry["url"]).status_code == 200
    time.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 1.1)
    assert httpx.get(entry["url"]).status_code == 403


# ---- 4. bounded input, never a 5xx ----

def test_oversized_bodies_and_headers_are_refused_and_not_logged(world: World) -> None:
    w = world
    big = w.get(f"{TABLE}/query", method="POST", content=b'{"predicateHints": ["' + b"x" * (2 << 20) + b'"]}',
                headers={"content-type": "application/json"})
    assert big.status_code == 413 and big.json()["errorCode"] == "REQUEST_TOO_LARGE"
    header = w.get("/shares", headers={"x-padding": "y" * 10_000})
    assert header.status_code == 431
    long_hint = json.dumps({"op": "and", "children": [
        {"op": "equal", "children": [{"op": "column", "name": "month", "valueType": "date"},
                                     {"op": "literal", "value": f"2025-01-{1 + i % 28:02d}", "valueType": "date"}]}
        for i in range(40)]})
    assert len(long_hint) > 2000
    assert w.get(f"{TABLE}/query", method="POST", json={"jsonPredicateHints": long_hint}).status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        logged = [r for r in read_access_log(w.paths) if isinstance(r.get("predicates"), dict)
                  and isinstance(r["predicates"].get("jsonPredicateHints"), dict)]
        if logged:
            break
        time.sleep(0.05)
    assert logged[-1]["predicates"]["jsonPredicateHints"]["bytes"] == len(long_hint)
    assert long_hint not in w.paths.access_log.read_text()
    assert max(len(line) for line in w.paths.access_log.read_text().splitlines()) < 8000


def _token(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode() if not isinstance(value, bytes) else value
                                    ).decode().rstrip("=")


FUZZ = [
    ("GET", "/shares", {"params": {"pageToken": _token({"o": 1e400})}}, 400),
    ("GET", "/shares", {"params": {"pageToken": _token(b'{"o": 1' + b"0" * 400 + b"}")}}, 400),
    ("GET", "/shares", {"params": {"pageToken": _token({"o": True})}}, 400),
    ("GET", "/shares", {"params": {"pageToken": _token([[[[[[]]]]]])}}, 400),
    ("GET", "/shares", {"params": {"pageToken": _token(b"[" * 180)}}, 400),
    ("GET", "/shares", {"params": {"pageToken": "%%%not base64!!"}}, 400),
    ("GET", "/shares", {"params": {"pageToken": "é\u0000\U0001f600"}}, 400),
    ("GET", "/shares", {"params": {"pageToken": "A" * 5000}}, 400),
    ("GET", "/shares", {"params": {"maxResults": "1e400"}}, 400),
    ("GET", "/shares", {"params": {"maxResults": str(10**40)}}, 400),
    ("POST", f"{TABLE}/query", {"content": b"[" * 5000 + b"]" * 5000}, 400),
    ("POST", f"{TABLE}/query", {"content": b'{"a":' * 5000 + b"1" + b"}" * 5000}, 400),
    ("POST", f"{TABLE}/query", {"json": {"jsonPredicateHints": "[" * 5000 + "]" * 5000}}, 400),
    ("POST", f"{TABLE}/query", {"json": {"jsonPredicateHints": '{"op":"not","children":[' * 3000 + "{}" +
                                         "]}" * 3000}}, 400),
    ("POST", f"{TABLE}/query", {"json": {"jsonPredicateHints": "x" * (70 << 10)}}, 400),
    ("POST", f"{TABLE}/query", {"json": {"predicateHints": ["a"] * 101}}, 400),
    ("POST", f"{TABLE}/query", {"json": {"version": 10**30}}, 404),
    ("POST", f"{TABLE}/query", {"content": b'{"version": 1e400}'}, 400),
    ("POST", f"{TABLE}/query", {"content": b'{"limitHint": NaN}'}, 400),
    ("POST", f"{TABLE}/query", {"content": b"\x00\xff\xfe"}, 400),
    ("POST", f"{TABLE}/query", {"json": {"timestamp": "\u0000"}}, 400),
    ("POST", f"{TABLE}/query", {"json": {"timestamp": "9999-12-31T23:59:59+23:59"}}, 200),
    ("POST", f"{TABLE}/query", {"json": {"jsonPredicateHints": json.dumps(
        {"op": "equal", "children": [{"op": "column", "name": "month", "valueType": "date"},
                                     {"op": "literal", "value": "1e400", "valueType": "date"}]})}}, 200),
    ("GET", f"{TABLE}/changes", {"params": {"startingVersion": str(10**30)}}, 400),
    ("GET", f"{TABLE}/changes", {"params": {"startingTimestamp": "\U0001f600"}}, 400),
    ("GET", f"{TABLE}/version", {"params": {"startingTimestamp": "0000-00-00"}}, 400),
    ("GET", f"{TABLE}/metadata", {"params": {"version": "-1"}}, 400),
    ("GET", "/shares/h%00mrc/schemas", {}, 404),
    ("GET", "/shares/\U0001f600/all-tables", {}, 404),
    ("GET", "/files/" + "a" * 64 + ".parquet", {"params": {"exp": "1", "rcp": "trust", "agr": "x",
                                                          "sig": "\u00e9" * 64}}, 403),
    ("GET", "/files/" + "a" * 64 + ".parquet", {"params": {"exp": "9" * 400, "rcp": "t", "agr": "x", "sig": "0"}},
     400),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), FUZZ, ids=[str(i) for i in range(len(FUZZ))])
def test_fuzz_corpus_gets_clear_4xx_never_5xx(world: World, method: str, path: str, kwargs: dict,
                                               status: int) -> None:
    response = world.get(path, method=method, **kwargs)
    assert response.status_code == status, response.text
    if status != 200:
        assert set(response.json()) == {"errorCode", "message"}
    for internal in ("Traceback", "deltalake", "kernel", "Generic", "pyarrow", "RecursionError", "OverflowError"):
        assert internal not in response.text


def test_an_unexpected_error_is_one_clean_500_and_the_connection_lives_on(world: World,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import trust_assets.sharing.routes.shares as shares

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals /var/lib/x")

    monkeypatch.setattr(shares, "paginate", explode)
    host, port = world.endpoint.split("//")[1].split("/")[0].split(":")
    request = (f"GET /delta-sharing/shares HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer "
               f"{world.tokens['trust']}\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        first = _read_response(sock)
        assert first.startswith(b"HTTP/1.1 500") and b"secret internals" not in first and b"INTERNAL_ERROR" in first
        monkeypatch.undo()
        sock.sendall(request)  # same connection: not reset
        assert _read_response(sock).startswith(b"HTTP/1.1 200")


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(
        b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    paths = TrustPaths(tmp_path).ensure()
    token = RecipientStore(paths).create("trust").token
    folder = tmp_path / "agreements"
    folder.mkdir()
    app = create_app(ServerConfig(paths=paths, agreements_dir=folder, rate_per_second=0.5, rate_burst=3))
    with serve_in_thread(app) as endpoint, httpx.Client(timeout=10) as client:
        auth = {"Authorization": f"Bearer {token}"}
        statuses = [client.get(f"{endpoint}/shares", headers=auth).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get(f"{endpoint}/shares", headers=auth)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        # guessing tokens is limited per client address
        guesses = [client.get(f"{endpoint}/shares", headers={"Authorization": f"Bearer guess{i}"}).status_code
                   for i in range(4)]
        assert guesses == [401, 401, 401, 429]


# ---- forged URLs, the Host header, headers, docs ----

def test_forged_file_requests_are_logged_as_claims_not_as_the_recipient(world: World) -> None:
    forged = f"{world.endpoint}/files/{'b' * 64}.parquet?exp=9999999999&rcp=analyst&agr=analyst-products&tid=x&sig=00"
    assert httpx.get(forged).status_code == 403
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        records = [r for r in read_access_log(world.paths) if r.get("file") == "b" * 64]
        if records:
            break
        time.sleep(0.05)
    assert records[-1]["claimed_recipient"] == "analyst" and "recipient" not in records[-1]


def test_signed_urls_never_follow_the_host_header(world: World) -> None:
    response = world.get(f"{TABLE}/query", method="POST", json={}, headers={"Host": "evil.example:666"})
    urls = [json.loads(line)["file"]["url"] for line in response.text.splitlines() if '"file"' in line]
    assert urls and all(u.startswith(world.endpoint.rsplit("/delta-sharing", 1)[0] + "/delta-sharing/files/")
                        for u in urls)
    forwarded = world.get(f"{TABLE}/query", method="POST", json={},
                          headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"})
    assert "evil" not in forwarded.text and "https://" not in forwarded.text


def test_security_headers_challenge_and_no_docs(world: World) -> None:
    ok = world.get("/shares")
    for response in (ok, world.get("/shares", None), httpx.get(world.urls()[0])):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "server" not in response.headers and "strict-transport-security" not in response.headers
    unauthenticated = world.get("/shares", None)
    assert unauthenticated.headers["www-authenticate"] == 'Bearer realm="delta-sharing"'
    wrong = world.get("/shares", "nope")
    assert wrong.headers["www-authenticate"] == 'Bearer realm="delta-sharing", error="invalid_token"'
    base = world.endpoint.rsplit("/delta-sharing", 1)[0]
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert httpx.get(base + path).status_code == 404
    missing = world.get(f"{TABLE}/metadata", params={"version": 999})
    assert missing.status_code == 404 and missing.json()["message"] == ("version 999 of the table does not exist "
                                                                         "or is no longer available")


def test_api_docs_only_when_asked(tmp_path: Path) -> None:
    paths = TrustPaths(tmp_path).ensure()
    folder = tmp_path / "agreements"
    folder.mkdir()
    app = create_app(ServerConfig(paths=paths, agreements_dir=folder, api_docs=True))
    with serve_in_thread(app) as endpoint:
        base = endpoint.rsplit("/delta-sharing", 1)[0]
        assert httpx.get(base + "/openapi.json").status_code == 200
        docs = httpx.get(base + "/docs")
        assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers["content-security-policy"]


# ---- TLS, through the command line, and file modes ----

def _self_signed(folder: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_trust_serve_over_tls(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    cert, key = _self_signed(tmp_path)
    root = tmp_path / "home"
    paths = TrustPaths(root).ensure()
    token = RecipientStore(paths).create("trust").token
    folder = tmp_path / "agreements"
    folder.mkdir()
    port = free_port()
    driver = tmp_path / "serve.py"
    driver.write_text("from trust_assets.cli.sharing import serve\nserve()\n")
    server = subprocess.Popen([sys.executable, str(driver), "--port", str(port), "--agreements", str(folder),
                               "--tls-cert", str(cert), "--tls-key", str(key)],
                              env={**os.environ, "TRUST_HOME": str(root)}, stdout=subprocess.DEVNULL)
    try:
        endpoint = f"https://127.0.0.1:{port}/delta-sharing"
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"{endpoint}/shares", verify=str(cert),
                                     headers={"Authorization": f"Bearer {token}"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "server did not start"
                time.sleep(0.2)
        assert response.status_code == 200 and response.json() == {"items": []}
        assert response.headers["strict-transport-security"].startswith("max-age=")
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/delta-sharing/shares", timeout=5)  # no plaintext on the TLS port
    finally:
        server.terminate()
        server.wait(timeout=20)
    half = subprocess.run([sys.executable, str(driver), "--tls-cert", str(cert)], capture_output=True, text=True,
                          env={**os.environ, "TRUST_HOME": str(root)}, timeout=60)
    assert half.returncode == 2 and "give both --tls-cert and --tls-key" in half.stderr


def test_trust_state_is_private(world: World) -> None:
    assert verify_access_log(world.paths.access_log, world.paths).ok
    checked = 0
    for path in [world.paths.trust, *world.paths.trust.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        if path.is_dir():
            assert mode == 0o700, path
        else:
            assert mode == 0o600, path
            checked += 1
    names = {p.name for p in world.paths.trust.rglob("*")}
    assert {"access.jsonl", "access.jsonl.head", "recipients.json", "signing.key", "audit.key"} <= names
    assert checked > 10
