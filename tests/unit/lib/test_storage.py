"""Storage options come from the store's standard variables or a settings file, never the repository."""

from __future__ import annotations

import json

import pytest

from trust_assets.lib.storage import as_uri, is_remote, scheme, storage_options


def test_schemes_and_uris(tmp_path):
    assert scheme("s3://b/k") == "s3" and scheme("/x") == "file" and scheme("file:///x") == "file"
    assert is_remote("gs://b/k") and not is_remote(str(tmp_path))
    assert as_uri(tmp_path) == tmp_path.resolve().as_uri()
    assert as_uri("s3://departments/dwp/") == "s3://departments/dwp"


def test_s3_options_from_the_environment_with_conditional_put(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ALLOW_HTTP",
                 "AWS_DEFAULT_REGION", "TRUST_STORAGE_SETTINGS", "AWS_CONDITIONAL_PUT", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", "not for s3")
    options = storage_options("s3://departments/dwp/uc_claims")
    assert options == {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_REGION": "eu-west-2",
                       "conditional_put": "etag"}
    assert storage_options("/local/path") == {}


def test_settings_file_fills_what_the_environment_does_not(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.setenv("AWS_REGION", "from-env")
    settings = tmp_path / "storage.json"
    settings.write_text(json.dumps({"AWS_ACCESS_KEY_ID": "from-file", "AWS_REGION": "from-file"}))
    monkeypatch.setenv("TRUST_STORAGE_SETTINGS", str(settings))
    options = storage_options("s3://b/t")
    assert options["AWS_ACCESS_KEY_ID"] == "from-file" and options["AWS_REGION"] == "from-env"
    settings.write_text("[1]")
    with pytest.raises(ValueError, match="TRUST_STORAGE_SETTINGS"):
        storage_options("s3://b/t")


def test_a_root_holds_credentials_of_its_own(monkeypatch):
    monkeypatch.delenv("TRUST_STORAGE_SETTINGS", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "trust-own")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "trust-own-secret")
    monkeypatch.setenv("TRUST_DEPARTMENTS_URI", "s3://departments/")
    monkeypatch.setenv("TRUST_DEPARTMENTS_AWS_ACCESS_KEY_ID", "dept-readonly")
    monkeypatch.setenv("TRUST_DEPARTMENTS_AWS_SECRET_ACCESS_KEY", "dept-readonly-secret")
    department = storage_options("s3://departments/dwp/uc_claims")
    assert department["AWS_ACCESS_KEY_ID"] == "dept-readonly"
    assert department["AWS_SECRET_ACCESS_KEY"] == "dept-readonly-secret"
    assert storage_options("s3://trust/published/p")["AWS_ACCESS_KEY_ID"] == "trust-own"
    # a bucket whose name merely starts with the root's is not under it
    assert storage_options("s3://departments-other/t")["AWS_ACCESS_KEY_ID"] == "trust-own"


def test_candidates_beside_the_published_products_use_the_published_credentials(monkeypatch):
    monkeypatch.delenv("TRUST_STORAGE_SETTINGS", raising=False)
    monkeypatch.delenv("TRUST_CANDIDATES_URI", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "default")
    monkeypatch.setenv("TRUST_PUBLISHED_URI", "s3://trust/lm/published")
    monkeypatch.setenv("TRUST_PUBLISHED_AWS_ACCESS_KEY_ID", "trust-writer")
    assert storage_options("s3://trust/lm/published/p")["AWS_ACCESS_KEY_ID"] == "trust-writer"
    assert storage_options("s3://trust/lm/candidates/p")["AWS_ACCESS_KEY_ID"] == "trust-writer"
    assert storage_options("s3://trust/other/p")["AWS_ACCESS_KEY_ID"] == "default"


def test_a_filesystem_registered_twice_on_one_database_is_kept_not_an_error():
    """dbt-duckdb configures every thread's connection to one database: the second ``http`` must not fail a build."""
    import duckdb

    from trust_assets.lib.sources.share_client import immutable_http_filesystem
    from trust_assets.lib.storage import register_filesystem_once

    database = duckdb.connect()
    register_filesystem_once(database, immutable_http_filesystem("http"))
    cursor = database.cursor()
    with pytest.raises(duckdb.InvalidInputException, match="already been registered"):
        cursor.register_filesystem(immutable_http_filesystem("http"))  # what dbt's second thread hit
    register_filesystem_once(cursor, immutable_http_filesystem("http"))
    assert database.list_filesystems() == ["http"]
