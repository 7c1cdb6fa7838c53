"""Object-store access: which URIs are remote, and the options every reader and writer passes to the store.

Credentials never live in the repository. They come from the store's standard environment variables (the same
names the AWS, Azure and Google SDKs and delta-rs's object_store read), or from a settings file named by
``TRUST_STORAGE_SETTINGS`` (JSON: ``{"AWS_ENDPOINT_URL": "...", ...}``; the environment wins over the file). The
same options reach deltalake (Delta reads and writes), obstore (listing) and DuckDB (parquet reads through fsspec,
since DuckDB's httpfs extension cannot be loaded by the pinned DuckDB).

Each storage root may hold credentials of its own: for a URI under ``TRUST_DEPARTMENTS_URI``, a variable
``TRUST_DEPARTMENTS_<NAME>`` (say ``TRUST_DEPARTMENTS_AWS_ACCESS_KEY_ID``) wins over ``<NAME>``; likewise
``TRUST_PUBLISHED_`` and ``TRUST_CANDIDATES_`` for the trust's own roots. So the trust can hold a department's
read-only key for the department's bucket and its own read-write key for its own (docs/deployment.md).
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

REMOTE_SCHEMES = ("s3", "s3a", "az", "abfs", "abfss", "gs")
#: Variables passed through, per store. AWS_ALLOW_HTTP is for local test servers (SeaweedFS over plain HTTP).
_OPTION_NAMES = {
    "s3": ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
           "AWS_DEFAULT_REGION", "AWS_ALLOW_HTTP", "AWS_VIRTUAL_HOSTED_STYLE_REQUEST", "AWS_CONDITIONAL_PUT"),
    "az": ("AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_CLIENT_ID",
           "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_STORAGE_USE_EMULATOR", "AZURE_ALLOW_HTTP"),
    "gs": ("GOOGLE_SERVICE_ACCOUNT", "GOOGLE_SERVICE_ACCOUNT_KEY", "GOOGLE_APPLICATION_CREDENTIALS"),
}
_STORE_OF_SCHEME = {"s3": "s3", "s3a": "s3", "az": "az", "abfs": "az", "abfss": "az", "gs": "gs"}


def scheme(uri: str) -> str:
    """``s3`` for ``s3://b/k``; ``file`` for ``file://`` URIs and plain paths."""
    head, sep, _ = str(uri).partition("://")
    return head.lower() if sep else "file"


def is_remote(uri: str) -> bool:
    return scheme(uri) in REMOTE_SCHEMES


def as_uri(location: str | Path) -> str:
    """A location as a URI: object-store URIs unchanged, local paths as ``file://`` absolute URIs."""
    text = str(location)
    if is_remote(text) or text.startswith("file://"):
        return text.rstrip("/") if text.count("/") > 3 else text
    return Path(text).expanduser().resolve().as_uri()


def local_path(uri: str) -> Path:
    """The local path of a ``file://`` URI (or plain path); raises for an object-store URI."""
    if is_remote(uri):
        raise ValueError(f"{uri} is in object storage, not on the local filesystem")
    return Path(str(uri).removeprefix("file://"))


def _settings_file() -> dict[str, str]:
    path = os.environ.get("TRUST_STORAGE_SETTINGS", "").strip()
    if not path:
        return {}
    try:
        data = json.loads(Path(path).expanduser().read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"TRUST_STORAGE_SETTINGS={path}: cannot read a JSON object of storage options: {exc}"
                         ) from exc
    if not isinstance(data, dict):
        raise ValueError(f"TRUST_STORAGE_SETTINGS={path}: expected a JSON object of storage options")
    return {str(k): str(v) for k, v in data.items()}


def storage_options(uri: str) -> dict[str, str]:
    """Options for the store holding ``uri`` (empty for local files): settings file, then the environment."""
    store = _STORE_OF_SCHEME.get(scheme(uri))
    if store is None:
        return {}
    names = _OPTION_NAMES[store]
    merged = {k: v for k, v in _settings_file().items() if k in names}
    merged.update({k: os.environ[k] for k in names if os.environ.get(k)})
    prefix = _root_prefix(uri)
    if prefix:
        merged.update({k: os.environ[prefix + k] for k in names if os.environ.get(prefix + k)})
    if store == "s3":
        if "AWS_REGION" not in merged and "AWS_DEFAULT_REGION" in merged:
            merged["AWS_REGION"] = merged["AWS_DEFAULT_REGION"]
        merged.pop("AWS_DEFAULT_REGION", None)
        # Concurrent Delta commits on S3 need an atomic put-if-absent: S3 and SeaweedFS honour If-None-Match.
        merged.setdefault("conditional_put", merged.pop("AWS_CONDITIONAL_PUT", "etag"))
    return merged


#: Storage roots whose URIs may carry credentials of their own (``<PREFIX><NAME>`` variables).
ROOT_SETTINGS = ("TRUST_DEPARTMENTS_URI", "TRUST_PUBLISHED_URI", "TRUST_CANDIDATES_URI")


def _root_prefix(uri: str) -> str | None:
    """``TRUST_DEPARTMENTS_`` when ``uri`` lies under TRUST_DEPARTMENTS_URI (and so on); None otherwise."""
    text = str(uri).rstrip("/")
    roots = {setting: os.environ.get(setting, "").strip().rstrip("/") for setting in ROOT_SETTINGS}
    published = roots["TRUST_PUBLISHED_URI"]
    if not roots["TRUST_CANDIDATES_URI"] and is_remote(published) and published.count("/") > 2:
        # candidates derived beside the published products (lib/paths.py) share the published root's credentials
        roots["TRUST_CANDIDATES_URI"] = published.rsplit("/", 1)[0] + "/candidates"
        prefixes = {"TRUST_CANDIDATES_URI": "TRUST_PUBLISHED_"}
    else:
        prefixes = {}
    for setting, root in roots.items():
        if root and is_remote(root) and (text == root or text.startswith(root + "/")):
            return prefixes.get(setting, setting.removesuffix("URI"))
    return None


def _obstore_config(uri: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(store config, client options) for obstore from :func:`storage_options`."""
    config: dict[str, Any] = {}
    client: dict[str, Any] = {}
    for key, value in storage_options(uri).items():
        lowered = key.lower()
        if lowered.endswith("allow_http"):
            client["allow_http"] = value.lower() in ("1", "true", "yes")
        elif lowered == "conditional_put":
            continue
        else:
            config[lowered] = value
    return config, client


def fsspec_filesystem(uri: str) -> Any:
    """An fsspec filesystem for the store holding ``uri`` (obstore underneath), for DuckDB's ``read_parquet``."""
    config, client = _obstore_config(uri)
    protocol = {"s3a": "s3", "az": "az", "abfs": "abfs", "abfss": "abfs", "gs": "gs"}.get(scheme(uri), scheme(uri))
    return _ranged_store_class()(protocol, config=config or None, client_options=client or None)


@cache
def _ranged_store_class() -> Any:
    """obstore's fsspec store whose files for reading are fsspec's buffered files over ranged GETs.

    obstore 0.12.1's own ``BufferedFile`` returns short reads past its first block (DuckDB's ``read_parquet`` of a
    10 MB file on SeaweedFS: "Failed to read 2097152 bytes from Python file at offset 4194304: only 0 bytes
    returned"), and DuckDB takes a short read as an error. Each read here is whole: fsspec's readahead cache over
    ``cat_file(path, start, end)``, which is one ranged GET.
    """
    from fsspec.spec import AbstractBufferedFile
    from obstore.fsspec import FsspecStore

    class RangedFile(AbstractBufferedFile):
        def _fetch_range(self, start: int, end: int) -> bytes:
            if start >= end:
                return b""
            return bytes(self.fs.cat_file(self.path, start=start, end=end))

    class RangedStore(FsspecStore):
        def _open(self, path: str, mode: str = "rb", block_size: Any = None, autocommit: Any = True,
                  cache_options: Any = None, **kwargs: Any) -> Any:
            if mode != "rb":
                return super()._open(path, mode, block_size, autocommit, cache_options, **kwargs)
            return RangedFile(self, path, mode="rb", block_size=block_size or 4 * 2**20, cache_type="readahead",
                              size=self.size(path))

    return RangedStore


def duckdb_connect(database: str = ":memory:", uris: tuple[str, ...] = ()) -> Any:
    """A DuckDB connection able to read the object-store URIs among ``uris`` (fsspec filesystems registered)."""
    import duckdb

    con = duckdb.connect(database)
    register_filesystems(con, uris)
    return con


def register_filesystems(con: Any, uris: tuple[str, ...] | list[str] = ()) -> None:
    """Register one fsspec filesystem per remote scheme: the given URIs', or those the trust's roots use.

    DuckDB reads department files (the trust's own tables go through deltalake), so a scheme the departments'
    root uses is registered with that root's options (its credentials, when the trust holds a key of its own for
    the departments' store).
    """
    wanted = {scheme(u): u for u in uris if is_remote(u)} if uris else {}
    if not uris:
        departments = os.environ.get("TRUST_DEPARTMENTS_URI", "").strip()
        wanted = {name: f"{name}://" for name in configured_remote_schemes()}
        if departments and is_remote(departments):
            wanted[scheme(departments)] = departments
    for name in sorted(wanted):
        register_filesystem_once(con, fsspec_filesystem(wanted[name]))


def register_filesystem_once(con: Any, filesystem: Any) -> None:
    """Register an fsspec filesystem on a DuckDB connection unless its database already has one by that name.

    The registry belongs to the database, not the connection: dbt-duckdb configures each thread's connection to
    one database, so a second registration of ``http`` failed the whole build now and then ("Filesystem with
    name http has already been registered"), seen when three dbt builds ran side by side. Checking first would
    race the same way, so the refusal itself is what is tolerated.
    """
    import duckdb

    try:
        con.register_filesystem(filesystem)
    except duckdb.InvalidInputException as exc:
        if "already been registered" not in str(exc):
            raise


def configured_remote_schemes() -> set[str]:
    """Remote schemes named by the trust's storage roots (so dbt's connection can read them)."""
    roots = [os.environ.get(v, "") for v in ("TRUST_DEPARTMENTS_URI", "TRUST_PUBLISHED_URI")]
    return {scheme(r) for r in roots if r and is_remote(r)}


def list_names(prefix: str) -> list[str]:
    """Names directly under a folder (local) or prefix (object store), e.g. a table's ``_delta_log/``."""
    if not is_remote(prefix):
        path = local_path(prefix)
        return sorted(p.name for p in path.iterdir()) if path.is_dir() else []
    from obstore.store import from_url

    base = prefix.rstrip("/") + "/"
    config, client = _obstore_config(base)
    store = from_url(base, config=config or None, client_options=client or None)  # type: ignore[arg-type]
    listed = store.list_with_delimiter()  # one level, like iterdir: objects and the "folders" beside them
    names = [str(meta["path"]).rstrip("/").rsplit("/", 1)[-1] for meta in listed["objects"]]
    names += [str(folder).rstrip("/").rsplit("/", 1)[-1] for folder in listed["common_prefixes"]]
    return sorted(names)


def delta_table(uri: str, version: int | None = None) -> Any:
    """A ``deltalake.DeltaTable`` at ``uri`` (local or object store) with the store's options."""
    from deltalake import DeltaTable

    return DeltaTable(str(uri), version=version, storage_options=storage_options(str(uri)) or None)


def is_delta_table(uri: str) -> bool:
    """Whether a Delta table (a ``_delta_log``) exists at ``uri``, local or in object storage."""
    from deltalake import DeltaTable

    return bool(DeltaTable.is_deltatable(str(uri), storage_options=storage_options(str(uri)) or None))


def remove_tree(uri: str) -> None:
    """Delete everything under a folder (local) or prefix (object store): a table being replaced."""
    if not is_remote(uri):
        import shutil

        shutil.rmtree(local_path(uri), ignore_errors=True)
        return
    from obstore.store import from_url

    base = uri.rstrip("/") + "/"
    config, client = _obstore_config(base)
    store = from_url(base, config=config or None, client_options=client or None)  # type: ignore[arg-type]
    for batch in store.list():
        paths = [str(meta["path"]) for meta in batch]
        if paths:
            store.delete(paths)


def canonical(location: str | Path) -> str:
    """One spelling per location, for keys and comparisons: a resolved local path, or the URI without a slash."""
    text = str(location)
    if is_remote(text):
        return text.rstrip("/")
    return str(local_path(text).resolve())


def join_location(base: str | Path, relative: str) -> str:
    """A file inside a table: ``base/relative`` for a local folder or an object-store prefix."""
    return str(base).rstrip("/") + "/" + relative.lstrip("/")


def exists(location: str) -> bool:
    """Whether a file exists (local) or an object does (object store)."""
    if not is_remote(location):
        return local_path(location).exists()
    return bool(fsspec_filesystem(location).exists(location))


def read_bytes(location: str) -> bytes:
    """The whole content of a small file (a Delta log entry), local or in object storage."""
    if not is_remote(location):
        return local_path(location).read_bytes()
    return bytes(fsspec_filesystem(location).cat_file(location))


def open_input(location: str) -> Any:
    """A seekable binary file for a parquet reader: the local file, or ranged reads from the object store."""
    if not is_remote(location):
        return open(local_path(location), "rb")
    return fsspec_filesystem(location).open(location, "rb")
