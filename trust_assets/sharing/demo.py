"""The analyst side of the demo: an example recipient of the published products and a snippet to read one."""

from __future__ import annotations

from pathlib import Path

from trust_assets.lib.paths import TrustPaths
from trust_assets.sharing.recipients import RecipientStore

#: The recipient named in agreements/published-products.yaml.
DEMO_RECIPIENT = "analyst-example"
DEMO_SHARE = "products"
DEMO_SCHEMA = "default"


def setup_demo_recipient(paths: TrustPaths, endpoint: str, product: str = "local_labour_market_monthly"
                         ) -> tuple[Path, str]:
    """Create (or re-issue) the example analyst's token; returns its profile path and a three-line snippet.

    A token is only ever shown once, so re-running the demo rotates the token and rewrites the profile.
    """
    store = RecipientStore(paths.ensure())
    if store.exists(DEMO_RECIPIENT):
        issued = store.rotate(DEMO_RECIPIENT, endpoint=endpoint)
    else:
        issued = store.create(DEMO_RECIPIENT, endpoint=endpoint, comment="example analyst (demo)")
    assert issued.profile_path is not None
    snippet = (
        "import delta_sharing\n"
        f'url = "{issued.profile_path}#{DEMO_SHARE}.{DEMO_SCHEMA}.{product}"\n'
        "df = delta_sharing.load_as_pandas(url, version=delta_sharing.get_table_version(url))"
    )
    return issued.profile_path, snippet
