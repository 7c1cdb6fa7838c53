"""Storage roots: department tables and published products may live in object storage; the rest under TRUST_HOME."""

from __future__ import annotations

import pytest

from trust_assets.lib.paths import TrustPaths

ROOTS = ("TRUST_DEPARTMENTS_URI", "TRUST_PUBLISHED_URI", "TRUST_CANDIDATES_URI")


@pytest.fixture
def home(tmp_path, monkeypatch):
    for name in ROOTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRUST_HOME", str(tmp_path))
    return tmp_path


def test_defaults_are_the_folders_under_trust_home(home):
    paths = TrustPaths.from_env()
    assert paths.source_table("dwp", "uc_claims") == str(home / "departments" / "dwp" / "uc_claims")
    assert paths.published_product("p") == str(home / "trust" / "published" / "p")
    assert paths.candidate("p") == str(home / "trust" / "candidates" / "p")
    assert paths.releases == str(home / "trust" / "published" / "_releases")
    paths.ensure()
    assert (home / "trust" / "published").is_dir() and (home / "trust" / "candidates").is_dir()


def test_object_store_roots_and_candidates_beside_the_published_products(home, monkeypatch):
    monkeypatch.setenv("TRUST_DEPARTMENTS_URI", "s3://departments/")
    monkeypatch.setenv("TRUST_PUBLISHED_URI", "s3://trust/labour-market/published")
    paths = TrustPaths.from_env()
    assert paths.source_table("hmrc", "paye_employments") == "s3://departments/hmrc/paye_employments"
    assert paths.published_product("p") == "s3://trust/labour-market/published/p"
    assert paths.candidate("p") == "s3://trust/labour-market/candidates/p"
    assert paths.disclosure_ledger == home / "trust" / "ledger"  # true values stay local
    assert paths.candidate_ledger.is_relative_to(home)
    paths.ensure()
    assert not (home / "trust" / "published").exists()
    monkeypatch.setenv("TRUST_CANDIDATES_URI", "s3://trust-private/candidates")
    assert TrustPaths.from_env().candidate("p") == "s3://trust-private/candidates/p"


def test_a_bucket_root_for_published_products_needs_a_candidates_setting(home, monkeypatch):
    monkeypatch.setenv("TRUST_PUBLISHED_URI", "s3://trust")
    with pytest.raises(ValueError, match="TRUST_CANDIDATES_URI"):
        _ = TrustPaths.from_env().candidates


def test_file_uris_and_relative_paths_become_absolute_paths(home, monkeypatch):
    monkeypatch.setenv("TRUST_DEPARTMENTS_URI", f"file://{home}/elsewhere/")
    monkeypatch.chdir(home)
    monkeypatch.setenv("TRUST_PUBLISHED_URI", "out/published")
    paths = TrustPaths.from_env()
    assert paths.departments == str(home / "elsewhere")
    assert paths.published == str(home / "out" / "published")
    assert paths.candidates == str(home / "out" / "candidates")
