"""Recipients (hashed tokens, expiry, rotation, revocation), signed file URLs and the hash-chained audit log."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from trust_assets.cli.sharing import audit, recipients
from trust_assets.lib.paths import TrustPaths
from trust_assets.sharing.access_log import AccessLog, read_access_log, verify_access_log
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
    url, expires_ms = signer.sign("http://h", path, "trust", "dsa-a", credential="t1", now=1000)
    assert "month%3D2025-01" in url and expires_ms == 1_060_000
    query = dict(p.split("=") for p in url.split("?")[1].split("&"))
    assert query["tid"] == "t1"
    assert signer.verify(path, query["exp"], "trust", "dsa-a", query["sig"], "t1", now=1001) is None
    assert signer.verify("/delta-sharing/files/month%3D2025-01/a.parquet", query["exp"], "trust", "dsa-a",
                         query["sig"], "t1", now=1001) is None
    assert "signature" in signer.verify(path, query["exp"], "other", "dsa-a", query["sig"], "t1", now=1001)
    assert "signature" in signer.verify(path, query["exp"], "trust", "dsa-a", query["sig"], "t2", now=1001)
    assert "signature" in signer.verify(path, str(int(query["exp"]) + 1), "trust", "dsa-a", query["sig"], "t1",
                                        now=1001)
    assert "signature" in signer.verify(path, query["exp"], "trust", "dsa-a", "\u00e9" * 64, "t1", now=1001)
    assert "expired" in signer.verify(path, query["exp"], "trust", "dsa-a", query["sig"], "t1", now=1061)
    # a URL never outlives the credential that obtained it
    _, capped = signer.sign("http://h", path, "trust", "dsa-a", credential="t1", now=1000, not_after=1030)
    assert capped == 1_030_000


def _log(tmp_path: Path, records: int = 5) -> Path:
    log = AccessLog.for_paths(TrustPaths(tmp_path), checkpoints=False)
    for n in range(records):
        log.append(recipient="trust", table=f"t{n}", status=200)
    return log.path


def test_audit_chain_is_intact_and_readable(tmp_path: Path) -> None:
    path = _log(tmp_path)
    AccessLog.for_paths(TrustPaths(tmp_path)).append(recipient="trust", table="after-restart", status=200)
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


def test_credential_grants_end_with_revocation_rotation_and_expiry(tmp_path: Path) -> None:
    """A URL is bound to the token that obtained it: revoking, rotating or expiry ends it, re-issuing never revives."""
    store = RecipientStore(TrustPaths(tmp_path))
    first = store.create("analyst")
    identity = store.authenticate(first.token)
    assert identity.credential and identity.expires_at == first.expires_at.replace(microsecond=0)
    assert store.grant_refusal("analyst", identity.credential) is None
    store.revoke("analyst")
    assert "revoked at" in store.grant_refusal("analyst", identity.credential)
    second = store.rotate("analyst")  # a new token after revocation...
    assert "revoked at" in store.grant_refusal("analyst", identity.credential)  # ...does not revive old URLs
    new = store.authenticate(second.token).credential
    assert store.grant_refusal("analyst", new) is None
    store.rotate("analyst")
    assert "replaced by rotation" in store.grant_refusal("analyst", new)
    lapsed = store.create("lapsed", expires_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC))
    lapsed_id = next(iter(json.loads(store.path.read_text())["recipients"]["lapsed"]["tokens"]))["sha256"][:16]
    assert "expired at 2025-01-02" in store.grant_refusal("lapsed", lapsed_id)
    assert "not one of" in store.grant_refusal("analyst", "0" * 16)
    assert "no longer exists" in store.grant_refusal("nobody", new)
    assert lapsed.token not in store.path.read_text()


def _verify_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TRUST_HOME", str(tmp_path))
    return CliRunner().invoke(audit, ["verify"])


def test_audit_verify_fails_when_the_log_or_its_head_is_gone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _log(tmp_path)
    head = path.with_name(path.name + ".head")
    assert json.loads(head.read_text())["mac"]  # the head is signed
    path.unlink()  # the log deleted, its head kept
    result = verify_access_log(path, TrustPaths(tmp_path))
    assert not result.ok and "log is missing" in result.problem
    cli = _verify_cli(tmp_path, monkeypatch)
    assert cli.exit_code == 1 and "log is missing" in cli.output
    path = _log(tmp_path / "b")
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:3]) + "\n")  # tail cut off...
    path.with_name(path.name + ".head").unlink()  # ...and the head deleted
    result = verify_access_log(path, TrustPaths(tmp_path / "b"))
    assert not result.ok and "head file access.jsonl.head is missing" in result.problem


def test_audit_verify_refuses_a_forged_head(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:3]) + "\n")
    last = json.loads(lines[2])
    # without the audit key, a head matching the shortened log cannot be signed
    path.with_name(path.name + ".head").write_text(json.dumps({"seq": 3, "hash": last["hash"], "mac": "0" * 64}))
    result = verify_access_log(path, TrustPaths(tmp_path))
    assert not result.ok and "not signed by this trust's audit key" in result.problem


def test_checkpoints_catch_an_emptied_or_replaced_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trust_assets.lib.audit.access_checkpoint import take_checkpoint

    paths = TrustPaths(tmp_path)
    path = _log(tmp_path)
    record = take_checkpoint(paths, "manual")
    assert record["seq"] == 5 and paths.access_checkpoints.exists()
    assert verify_access_log(path, paths).ok and verify_access_log(path, paths).checkpoints == 1
    # log and head both deleted: only the checkpoint, kept in the lineage store, remembers them
    path.unlink()
    path.with_name(path.name + ".head").unlink()
    result = verify_access_log(path, paths)
    assert not result.ok and "recorded 5 records but the log ends at 0" in result.problem
    cli = _verify_cli(tmp_path, monkeypatch)
    assert cli.exit_code == 1 and "emptied" in cli.output
    # a fresh, consistent log in its place (signed by the same key) still contradicts the checkpoint
    log = AccessLog.for_paths(paths, checkpoints=False)
    for n in range(6):
        log.append(recipient="forger", table=f"t{n}", status=200)
    result = verify_access_log(path, paths)
    assert not result.ok and "does not match the checkpoint" in result.problem
    # an edited checkpoint is itself evidence
    lines = paths.access_checkpoints.read_text().splitlines()
    paths.access_checkpoints.write_text(lines[0].replace('"seq":5', '"seq":1') + "\n")
    assert "bad signature" in verify_access_log(path, paths).problem


def test_server_log_checkpoints_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import trust_assets.sharing.access_log as access_log

    monkeypatch.setattr(access_log, "CHECKPOINT_EVERY_RECORDS", 3)
    paths = TrustPaths(tmp_path)
    log = AccessLog.for_paths(paths)
    for n in range(7):
        log.append(recipient="trust", table=f"t{n}", status=200)
    seqs = [json.loads(line)["seq"] for line in paths.access_checkpoints.read_text().splitlines()]
    assert seqs == [1, 4, 7]  # the first record, then every third
    assert verify_access_log(paths.access_log, paths).ok
    assert oct(paths.access_log.stat().st_mode & 0o777) == "0o600"
    assert oct(paths.access_checkpoints.stat().st_mode & 0o777) == "0o600"


def test_cli_creates_an_oauth_client_with_a_version_2_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    monkeypatch.setenv("TRUST_HOME", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(recipients, ["create", "agency", "--oauth", "--endpoint", "https://h/delta-sharing"])
    assert result.exit_code == 0, result.output
    profile = json.loads((tmp_path / "trust/sharing/profiles/agency.share").read_text())
    assert profile["shareCredentialsVersion"] == 2 and profile["type"] == "oauth_client_credentials"
    assert profile["tokenEndpoint"] == "https://h/delta-sharing/oauth/token" and profile["clientId"] == "agency"
    store = RecipientStore(TrustPaths(tmp_path))
    assert store.authenticate(profile["clientSecret"]).recipient is None  # a secret is not a bearer token
    assert store.authenticate_client("agency", profile["clientSecret"]).credential
    assert store.authenticate_client("agency", "wrong").refusal == "unknown client or wrong secret"
    assert json.loads(runner.invoke(recipients, ["list", "--json"]).output)[0]["auth"] == "oauth_client_credentials"
    assert runner.invoke(recipients, ["rotate", "agency", "--endpoint", "https://h/delta-sharing"]).exit_code == 0
    rotated = json.loads((tmp_path / "trust/sharing/profiles/agency.share").read_text())
    assert rotated["type"] == "oauth_client_credentials" and rotated["clientSecret"] != profile["clientSecret"]
    assert "replaced by rotation" in store.authenticate_client("agency", profile["clientSecret"]).refusal
