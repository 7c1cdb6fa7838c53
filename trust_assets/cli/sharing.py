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
@click.option("--public-url", default=None, help="Base URL clients reach this server on, if behind a proxy.")
def serve(host: str, port: int, agreements_dir: Path | None, url_lifetime: int, public_url: str | None) -> None:
    """Serve department shares and published products over the Delta Sharing protocol."""
    import uvicorn

    from trust_assets.lib.paths import TrustPaths
    from trust_assets.sharing.agreements import AgreementError
    from trust_assets.sharing.app import create_app
    from trust_assets.sharing.state import ServerConfig

    paths = TrustPaths.from_env().ensure()
    try:
        app = create_app(ServerConfig(paths=paths, agreements_dir=agreements_dir, url_lifetime_seconds=url_lifetime,
                                      public_url=public_url))
    except AgreementError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Delta Sharing endpoint: {public_url or default_endpoint(host, port)}")
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")


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
def create(name: str, endpoint: str, days: int, comment: str) -> None:
    """Create recipient NAME and write its profile file (the only copy of its token)."""
    from trust_assets.sharing.recipients import RecipientError

    try:
        issued = _store().create(name, endpoint=endpoint, lifetime=dt.timedelta(days=days), comment=comment)
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
        click.echo(f"{row['recipient']:<24} {row['status']:<8} expires {row['expires_at'] or '-':<21} "
                   f"tokens issued {row['tokens_issued']}")


@click.group()
def audit() -> None:
    """Inspect and verify the access audit log (append-only, hash-chained)."""


@audit.command("verify")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Log file [default: TRUST_HOME/trust/audit/access.jsonl].")
def verify(log_path: Path | None) -> None:
    """Check the hash chain; exits 1 and names the first bad line if a record was edited, deleted or moved."""
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.sharing.access_log import access_log_path, verify_access_log

    path = log_path or access_log_path(TrustPaths.from_env())
    result = verify_access_log(path)
    if result.ok:
        click.echo(f"{path}: ok, {result.records} records, chain intact")
        return
    click.echo(f"{path}: line {result.first_bad_line}: {result.problem}", err=True)
    sys.exit(1)


@audit.command("tail")
@click.option("-n", "count", default=20, show_default=True, type=click.IntRange(1, 10_000))
def tail(count: int) -> None:
    """Print the last N access records."""
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.sharing.access_log import read_access_log

    for record in read_access_log(TrustPaths.from_env())[-count:]:
        click.echo(json.dumps(record, sort_keys=True))
