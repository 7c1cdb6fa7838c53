"""``trust serve``, ``trust recipients ...`` and ``trust audit ...``: the sharing server's operator commands."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def default_endpoint(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    return f"http://{host}:{port}/delta-sharing"


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Interface to listen on (loopback by default).")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option("--agreements", "agreements_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of agreement YAML files [default: the repo's agreements/].")
@click.option("--url-lifetime", default=3600, show_default=True, type=click.IntRange(10, 7 * 24 * 3600),
              help="Seconds a signed file URL stays valid.")
@click.option("--public-url", default=None,
              help="Base URL clients reach this server on (e.g. https://sharing.example.org behind a proxy); "
                   "signed file URLs use it. Default: the address served on. The Host header is never used.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="PEM certificate (chain) to serve HTTPS with; needs --tls-key.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="PEM private key of --tls-cert.")
@click.option("--rate-limit", default=50.0, show_default=True, type=click.FloatRange(0, 100_000),
              help="Requests per second per recipient (0: no limit); beyond it, 429 with Retry-After.")
@click.option("--rate-burst", default=200, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Requests a recipient may make at once before the rate limit applies.")
@click.option("--api-docs", is_flag=True, help="Also serve /openapi.json and /docs (off by default).")
@click.option("--access-token-lifetime", default=3600, show_default=True, type=click.IntRange(60, 24 * 3600),
              help="Seconds an OAuth access token from the token endpoint stays valid.")
def serve(host: str, port: int, agreements_dir: Path | None, url_lifetime: int, public_url: str | None,
          tls_cert: Path | None, tls_key: Path | None, rate_limit: float, rate_burst: int, api_docs: bool,
          access_token_lifetime: int) -> None:
    """Serve department shares and published products over the Delta Sharing protocol."""
    import uvicorn

    from trust_assets.lib.paths import TrustPaths
    from trust_assets.sharing.agreements import AgreementError
    from trust_assets.sharing.app import create_app
    from trust_assets.sharing.limits import MAX_HEADER_BYTES
    from trust_assets.sharing.state import ServerConfig

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("give both --tls-cert and --tls-key, or neither")
    tls = tls_cert is not None
    public = public_url.rstrip("/").removesuffix("/delta-sharing") if public_url else None
    paths = TrustPaths.from_env().ensure()
    try:
        app = create_app(ServerConfig(paths=paths, agreements_dir=agreements_dir, url_lifetime_seconds=url_lifetime,
                                      public_url=public, tls=tls, rate_per_second=rate_limit,
                                      rate_burst=rate_burst, api_docs=api_docs,
                                      access_token_seconds=access_token_lifetime))
    except AgreementError as exc:
        raise click.ClickException(str(exc)) from None
    shown = public or f"{'https' if tls else 'http'}://{host}:{port}"
    click.echo(f"Delta Sharing endpoint: {shown}/delta-sharing")
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", proxy_headers=False,
                server_header=False, http="h11", h11_max_incomplete_event_size=MAX_HEADER_BYTES * 2,
                ssl_certfile=str(tls_cert) if tls_cert else None, ssl_keyfile=str(tls_key) if tls_key else None)


@click.group()
def recipients() -> None:
    """Create, rotate, revoke and list Delta Sharing recipients (tokens are stored hashed)."""


def _store():
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.sharing.recipients import RecipientStore

    return RecipientStore(TrustPaths.from_env().ensure())


_endpoint = click.option("--endpoint", default=default_endpoint(), show_default=True,
                         help="Server URL written into the profile file.")
_days = click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650),
                     help="Days until the token expires.")


@recipients.command("create")
@click.argument("name")
@_endpoint
@_days
@click.option("--comment", default="", help="Who this recipient is.")
@click.option("--oauth", is_flag=True,
              help="An OAuth client (profile version 2, oauth_client_credentials: client id NAME and a secret) "
                   "instead of a bearer token; the server's token endpoint issues it short-lived access tokens.")
def create(name: str, endpoint: str, days: int, comment: str, oauth: bool) -> None:
    """Create recipient NAME and write its profile file (the only copy of its token or client secret)."""
    from trust_assets.sharing.recipients import BEARER, OAUTH, RecipientError

    try:
        issued = _store().create(name, endpoint=endpoint, lifetime=dt.timedelta(days=days), comment=comment,
                                 auth=OAUTH if oauth else BEARER)
    except RecipientError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {name}; token expires {issued.expires_at:%Y-%m-%dT%H:%M:%SZ}; profile: {issued.profile_path}")


@recipients.command("rotate")
@click.argument("name")
@_endpoint
@_days
def rotate(name: str, endpoint: str, days: int) -> None:
    """Issue NAME a new token (the old one stops working now) and rewrite its profile file."""
    from trust_assets.sharing.recipients import RecipientError

    try:
        issued = _store().rotate(name, endpoint=endpoint, lifetime=dt.timedelta(days=days))
    except RecipientError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"rotated {name}; token expires {issued.expires_at:%Y-%m-%dT%H:%M:%SZ}; profile: {issued.profile_path}")


@recipients.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke every token of NAME at once; its signed file URLs stop working too."""
    from trust_assets.sharing.recipients import RecipientError

    try:
        count = _store().revoke(name)
    except RecipientError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"revoked {name} ({count} live token(s))")


@recipients.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_recipients(as_json: bool) -> None:
    """List recipients with their status and token expiry."""
    rows = _store().list()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no recipients")
        return
    for row in rows:
        click.echo(f"{row['recipient']:<24} {row['auth']:<24} {row['status']:<8} "
                   f"expires {row['expires_at'] or '-':<21} tokens issued {row['tokens_issued']}")


@click.group()
def audit() -> None:
    """Inspect and verify the access audit log (append-only, hash-chained)."""


@audit.command("verify")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Log file [default: TRUST_HOME/trust/audit/access.jsonl].")
def verify(log_path: Path | None) -> None:
    """Check the chain, the signed head and every checkpoint; exits 1 naming the first problem.

    Fails when a record was edited, deleted, moved or cut off the end, when the log or its head is missing or
    forged, or when the log holds fewer records than a checkpoint taken earlier (an emptied or replaced log).
    """
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.sharing.access_log import verify_access_log

    paths = TrustPaths.from_env()
    path = log_path or paths.access_log
    result = verify_access_log(path, paths)
    if result.ok:
        click.echo(f"{path}: ok, {result.records} records, chain intact, head signed, "
                   f"{result.checkpoints} checkpoint(s) consistent")
        return
    where = f"line {result.first_bad_line}: " if result.first_bad_line else ""
    click.echo(f"{path}: {where}{result.problem}", err=True)
    sys.exit(1)


@audit.command("checkpoint")
def checkpoint() -> None:
    """Record the log's current count and last hash in the lineage store (the server does this periodically)."""
    from trust_assets.lib.audit.access_checkpoint import take_checkpoint
    from trust_assets.lib.paths import TrustPaths

    record = take_checkpoint(TrustPaths.from_env().ensure(), "manual")
    click.echo(f"checkpoint: {record['seq']} records, last hash {record['hash'][:16]}…")


@audit.command("tail")
@click.option("-n", "count", default=20, show_default=True, type=click.IntRange(1, 10_000))
def tail(count: int) -> None:
    """Print the last N access records."""
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.sharing.access_log import read_access_log

    for record in read_access_log(TrustPaths.from_env())[-count:]:
        click.echo(json.dumps(record, sort_keys=True))
