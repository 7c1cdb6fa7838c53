"""Recipients (hashed tokens, expiry, rotation, revocation), signed file URLs and the hash-chained audit log."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from trust_assets.cli.sharing import audit, recipients
from trust_assets.lib.paths import TrustPaths
from trust_assets.sharing.access_log import AccessLog, access_log_path, read_access_log, verify_access_log
from trust_assets.sharing.recipients import RecipientError, RecipientStore
from trust_assets.sharing.signing import UrlSigner, load_signing_key


def test_tokens_are_stored_hashed_and_refusals_say_why(tmp_path: Path) -> None:
    store = RecipientStore(TrustPaths(tmp_path))
    first = store.create("trust", endpoint="http://127.0.0.1:1/delta-sharing")
    assert first.token not in store.path.read_text()
    assert store.authenticate(first.token).refusal is None
    second = store.rotate("trust", endpoint="http://127.0.0.1:1/delta-sharing")
    assert "replaced by rotation" in store.authenticate(first.token).refusal
    assert json.loads(second.profile_path.read_text())["bearerToken"] == second.token
    store.revoke("trust")
    assert "revoked at" in store.authenticate(second.token).refusal
    lapsed = store.create("lapsed", expires_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC))
    assert store.authenticate(lapsed.token).refusal == "token of recipient lapsed expired at 2025-01-02T00:00:00Z"
    assert store.authenticate("nonsense").recipient is None
    with pytest.raises(RecipientError, match="already exists"):
        store.create("trust")
    with pytest.raises(RecipientError, match="must match"):
        store.create("../etc")


def test_cli_writes_profile_and_lists_without_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUST_HOME", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(recipients, ["create", "analyst-x", "--endpoint", "http://127.0.0.1:9/delta-sharing",
                                        "--days", "3"])
    assert result.exit_code == 0, result.output
    profile = json.loads((tmp_path / "trust/sharing/profiles/analyst-x.share").read_text())
    assert profile["shareCredentialsVersion"] == 1 and profile["endpoint"] == "http://127.0.0.1:9/delta-sharing"
    expires = dt.datetime.fromisoformat(profile["expirationTime"])
    assert dt.timedelta(days=2.9) < expires - dt.datetime.now(dt.UTC) < dt.timedelta(days=3.1)
    listed = runner.invoke(recipients, ["list", "--json"])
    assert json.loads(listed.output)[0]["status"] == "active"
    assert profile["bearerToken"] not in listed.output
    assert runner.invoke(recipients, ["revoke", "analyst-x"]).exit_code == 0
    assert json.loads(runner.invoke(recipients, ["list", "--json"]).output)[0]["status"] == "revoked"
    assert runner.invoke(recipients, ["rotate", "nobody"]).exit_code != 0


def test_signed_urls_survive_decoding_but_not_tampering(tmp_path: Path) -> None:
    signer = UrlSigner(load_signing_key(TrustPaths(tmp_path)), lifetime_seconds=60)
    assert load_signing_key(TrustPaths(tmp_path)) == signer.key  # created once, then reused
    path = "/delta-sharing/files/month=2025-01/a.parquet"
    url, expires_ms = signer.sign("http://h", path, "trust", "dsa-a", now=1000)
    assert "month%3D2025-01" in url and expires_ms == 1_060_000
    query = dict(p.split("=") for p in url.split("?")[1].split("&"))
    assert signer.verify(path, query["exp"], "trust", "dsa-a", query["sig"], now=1001) is None
    assert signer.verify("/delta-sharing/files/month%3D2025-01/a.parquet", query["exp"], "trust", "dsa-a",
                         query["sig"], now=1001) is None
    assert "signature" in signer.verify(path, query["exp"], "other", "dsa-a", query["sig"], now=1001)
    assert "signature" in signer.verify(path, str(int(query["exp"]) + 1), "trust", "dsa-a", query["sig"], now=1001)
    assert "expired" in signer.verify(path, query["exp"], "trust", "dsa-a", query["sig"], now=1061)


def _log(tmp_path: Path, records: int = 5) -> Path:
    log = AccessLog(access_log_path(TrustPaths(tmp_path)))
    for n in range(records):
        log.append(recipient="trust", table=f"t{n}", status=200)
    return log.path


def test_audit_chain_is_intact_and_readable(tmp_path: Path) -> None:
    path = _log(tmp_path)
    AccessLog(path).append(recipient="trust", table="after-restart", status=200)  # continues the chain
    assert verify_access_log(path).ok and verify_access_log(path).records == 6
    assert [r["table"] for r in read_access_log(TrustPaths(tmp_path))][-1] == "after-restart"


@pytest.mark.parametrize(
    ("tamper", "bad_line", "word"),
    [
        (lambda lines: lines.__setitem__(2, lines[2].replace('"status":200', '"status":403')), 3, "edited"),
        (lambda lines: lines.pop(1), 2, "chain broken"),
        (lambda lines: lines.insert(1, lines.pop(3)), 2, "chain broken"),
        (lambda lines: lines.pop(), 5, "removed from the end"),
    ],
    ids=["edited", "deleted", "reordered", "truncated"],
)
def test_audit_verify_names_first_bad_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tamper, bad_line: int,
                                           word: str) -> None:
    path = _log(tmp_path)
    lines = path.read_text().splitlines()
    tamper(lines)
    path.write_text("\n".join(lines) + "\n")
    result = verify_access_log(path)
    assert not result.ok and result.first_bad_line == bad_line and word in result.problem
    monkeypatch.setenv("TRUST_HOME", str(tmp_path))
    cli = CliRunner().invoke(audit, ["verify"])
    assert cli.exit_code == 1 and f"line {bad_line}:" in cli.output
