"""``qaforge export --push-to-hub REPO``: upload an export folder as a Hub dataset repo.

Goes through ``huggingface_hub`` (an optional dependency: ``pip install 'qaforge[hub]'``),
so the token comes from the usual places (``HF_TOKEN``, ``huggingface-cli login``) and the
endpoint from ``HF_ENDPOINT``. The repo is created private unless asked otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qaforge.errors import ExportError


@dataclass(slots=True)
class PushResult:
    repo_id: str
    url: str
    commit_url: str
    private: bool


def push_to_hub(folder: Path, repo_id: str, *, private: bool = True, token: str | None = None,
                message: str = "Upload dataset exported by qaforge") -> PushResult:
    """Create the dataset repo ``repo_id`` (kept as it is when it exists) and upload
    ``folder`` to it in one commit."""
    try:
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError
    except ImportError as exc:
        raise ExportError("--push-to-hub needs huggingface_hub: "
                          "pip install 'qaforge[hub]'") from exc
    api = HfApi(token=token)
    try:
        repo = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = api.upload_folder(repo_id=repo.repo_id, repo_type="dataset",
                                   folder_path=folder, commit_message=message)
    except (HfHubHTTPError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"push to {repo_id} failed: {first}") from exc
    return PushResult(repo.repo_id, str(repo), commit.commit_url, private)
