"""OAuth client credentials (Delta Sharing profile version 2) with the official client, over HTTPS on loopback."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from pathlib import Path

import delta_sharing
import httpx
import pyarrow as pa
import pytest
from _servers import serve_in_thread
from deltalake import DeltaTable, write_deltalake
from test_sharing_hardening import PRODUCTS, _self_signed

from trust_assets.lib.paths import TrustPaths
from trust_assets.sharing.access_log import read_access_log
from trust_assets.sharing.app import create_app
from trust_assets.sharing.recipients import OAUTH, RecipientStore
from trust_assets.sharing.state import ServerConfig

pytestmark = pytest.mark.integration
TABLE = "/shares/products/schemas/default/tables/local_labour_market_monthly"


class World:
    paths: TrustPaths
    agreements: Path
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    w = World()
    root = tmp_path_factory.mktemp("oauth")
    w.paths = TrustPaths(root / "home").ensure()
    write_deltalake(str(w.paths.published_product("local_labour_market_monthly")), pa.table({
        "month": pa.array([dt.date(2025, 1, 1), dt.date(2025, 2, 1)], pa.date32()),
        "local_authority_code": ["E06000001", "E06000002"], "claimants": [10, 20]}))
    w.agreements = root / "agreements"
    w.agreements.mkdir()
    for name in ("client-a", "client-b", "bearer-c"):
        (w.agreements / f"{name}.yaml").write_text(PRODUCTS.replace("analyst-products", name)
                                                   .replace("recipient: analyst", f"recipient: {name}"))
    w.cert, w.key = _self_signed(root)
    return w


def _server(w: World, **config):
    app = create_app(ServerConfig(paths=w.paths, agreements_dir=w.agreements, tls=True, **config))
    return serve_in_thread(app, ssl_certfile=str(w.cert), ssl_keyfile=str(w.key))


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded"}


def _trust_test_certificate(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the official client trust the test server's self-signed certificate, as a recipient's CA bundle would.

    requests (shares, queries) reads REQUESTS_CA_BUNDLE on each call. aiohttp (fsspec, reading the signed file URLs)
    builds its default SSL context once, when first imported, so SSL_CERT_FILE set after an earlier test imported
    it is ignored: fsspec is given a client whose context trusts the certificate instead.
    """
    import ssl

    import aiohttp
    import fsspec

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(world.cert))
    context = ssl.create_default_context(cafile=str(world.cert))

    async def client(**kwargs):
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context), **kwargs)

    monkeypatch.setitem(fsspec.config.conf, "https", {"get_client": client})


def test_official_client_reads_with_an_oauth_profile(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _trust_test_certificate(world, monkeypatch)
    with _server(world) as endpoint:
        issued = RecipientStore(world.paths).create("client-a", endpoint=endpoint, auth=OAUTH)
        profile = json.loads(issued.profile_path.read_text())
        assert profile["shareCredentialsVersion"] == 2 and profile["type"] == "oauth_client_credentials"
        assert profile["tokenEndpoint"] == f"{endpoint}/oauth/token" and profile["clientId"] == "client-a"
        assert oct(issued.profile_path.stat().st_mode & 0o777) == "0o600"
        client = delta_sharing.SharingClient(str(issued.profile_path))
        assert [s.name for s in client.list_shares()] == ["products"]
        url = f"{issued.profile_path}#products.default.local_labour_market_monthly"
        frame = delta_sharing.load_as_pandas(url)
        published = DeltaTable(str(world.paths.published_product("local_labour_market_monthly"))).to_pandas()
        assert sorted(frame["claimants"]) == sorted(published["claimants"])
    records = [r for r in read_access_log(world.paths) if r["path"].endswith("/oauth/token")]
    assert records and records[-1]["recipient"] == "client-a" and records[-1]["status"] == 200
    text = world.paths.access_log.read_text()
    assert profile["clientSecret"] not in text and "lma_" not in text
    assert profile["clientSecret"] not in (world.paths.sharing / "recipients.json").read_text()


def test_access_tokens_expire_on_the_server(world: World) -> None:
    store = RecipientStore(world.paths)
    secret = store.create("client-b", auth=OAUTH).token
    with _server(world, access_token_seconds=2) as endpoint, httpx.Client(verify=str(world.cert)) as http:
        answer = http.post(f"{endpoint}/oauth/token", headers=_basic("client-b", secret),
                           content="grant_type=client_credentials")
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
        body = answer.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 2
        auth = {"Authorization": f"Bearer {body['access_token']}"}
        assert http.get(f"{endpoint}/shares", headers=auth).status_code == 200
        lines = http.post(f"{endpoint}{TABLE}/query", headers=auth, json={}).text.splitlines()
        entry = next(json.loads(line)["file"] for line in lines if '"file"' in line)
        assert entry["expirationTimestamp"] <= (time.time() + 2) * 1000  # no URL outlives its access token
        time.sleep(3)
        expired = http.get(f"{endpoint}/shares", headers=auth)
        assert expired.status_code == 401 and "expired at" in expired.json()["message"]
        assert http.get(entry["url"]).status_code == 403
        # a fresh token works until the client is revoked, and then stops at once
        fresh = http.post(f"{endpoint}/oauth/token", headers=_basic("client-b", secret),
                          content="grant_type=client_credentials").json()["access_token"]
        assert http.get(f"{endpoint}/shares", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
        store.revoke("client-b")
        refused = http.get(f"{endpoint}/shares", headers={"Authorization": f"Bearer {fresh}"})
        assert refused.status_code == 401 and "revoked at" in refused.json()["message"]
        again = http.post(f"{endpoint}/oauth/token", headers=_basic("client-b", secret),
                          content="grant_type=client_credentials")
        assert again.status_code == 401 and again.json()["error"] == "invalid_client"


def test_token_endpoint_refuses_bad_clients(world: World) -> None:
    store = RecipientStore(world.paths)
    bearer = store.create("bearer-c").token
    secret = store.create("client-d", auth=OAUTH).token
    with _server(world) as endpoint, httpx.Client(verify=str(world.cert)) as http:
        token_url = f"{endpoint}/oauth/token"
        grant = "grant_type=client_credentials"
        wrong = http.post(token_url, headers=_basic("client-d", "nope"), content=grant)
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
        assert wrong.headers["www-authenticate"].startswith("Basic")
        assert http.post(token_url, content=grant).status_code == 401
        assert http.post(token_url, headers={"Authorization": "Basic %%%"}, content=grant).status_code == 401
        assert http.post(token_url, headers=_basic("bearer-c", bearer), content=grant).status_code == 401
        other = http.post(token_url, headers=_basic("client-d", secret), content="grant_type=password")
        assert other.status_code == 400 and other.json()["error"] == "unsupported_grant_type"
        posted = http.post(token_url, content=f"{grant}&client_id=client-d&client_secret={secret}",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert posted.status_code == 200
        access = posted.json()["access_token"]
        # a client secret is not a bearer token, and an access token cannot be altered
        assert http.get(f"{endpoint}/shares", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
        payload, sig = access[4:].split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        forged_payload = base64.urlsafe_b64encode(json.dumps({**claims, "r": "bearer-c"}).encode()).decode()
        forged = http.get(f"{endpoint}/shares", headers={"Authorization": f"Bearer lma_{forged_payload}.{sig}"})
        assert forged.status_code == 401 and "not recognised" in forged.json()["message"]


def test_official_client_reads_with_a_bearer_profile_over_https(world: World, monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    _trust_test_certificate(world, monkeypatch)
    (world.agreements / "bearer-e.yaml").write_text(PRODUCTS.replace("analyst-products", "bearer-e")
                                                    .replace("recipient: analyst", "recipient: bearer-e"))
    with _server(world) as endpoint:
        issued = RecipientStore(world.paths).create("bearer-e", endpoint=endpoint)
        frame = delta_sharing.load_as_pandas(f"{issued.profile_path}#products.default.local_labour_market_monthly")
        assert sorted(frame["claimants"]) == [10, 20]


def test_public_url_is_the_base_of_every_signed_url(world: World) -> None:
    store = RecipientStore(world.paths)
    (world.agreements / "bearer-f.yaml").write_text(PRODUCTS.replace("analyst-products", "bearer-f")
                                                    .replace("recipient: analyst", "recipient: bearer-f"))
    token = store.create("bearer-f").token
    with _server(world, public_url="https://sharing.example.org") as endpoint:
        response = httpx.post(f"{endpoint}{TABLE}/query", json={}, verify=str(world.cert),
                              headers={"Authorization": f"Bearer {token}", "Host": "evil.example"})
    urls = [json.loads(line)["file"]["url"] for line in response.text.splitlines() if '"file"' in line]
    assert urls and all(u.startswith("https://sharing.example.org/delta-sharing/files/") for u in urls)
