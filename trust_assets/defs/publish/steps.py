"""Release steps: work that must succeed before a release counts as complete.

Each step is a plain callable ``(ReleaseContext) -> None`` (``trust_assets.lib.publish.releases``) that raises to
abort. The publish step runs them in order after every product commit and before the release manifest row, and
recovery runs them again when it completes an interrupted release, so a step must be idempotent per run id.
Add a step by appending it to ``RELEASE_STEPS`` (for example the disclosure ledger append, or the access-log
checkpoint).
"""

from __future__ import annotations

from trust_assets.lib.publish.releases import ReleaseContext, ReleaseStep


def access_log_checkpoint(context: ReleaseContext) -> None:
    """The access log's count and last hash as of this release, kept away from the log (issue 12)."""
    from trust_assets.lib.audit.access_checkpoint import checkpoint_release

    checkpoint = checkpoint_release(context.paths, context.run_id)
    context.log(f"access log checkpoint: {checkpoint['seq']} records")


#: Run in this order before the manifest row is committed.
RELEASE_STEPS: list[ReleaseStep] = [access_log_checkpoint]
