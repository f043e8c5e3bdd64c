"""Every template content has one version: a template change needs a new version and its entry.

`trainerforge.TEMPLATE_DIGEST` is the digest of the template released as `__version__`, which the
template history tags `v{__version__}`; any other template installed under that version gets a
`+{digest}` tag of its own (see `template_source`). So the template in this repository must be the
one its version declares, and a version, once given a template, keeps it.
"""

from __future__ import annotations

import re

import earlier_releases
import pytest
from earlier_releases import INIT, ROOT, declarations
from packaging.version import Version

from trainerforge import TEMPLATE_DIGEST, __version__
from trainerforge.template_source import template_digest

ENTRY = re.compile(r"^## (\S+) \((\d{4}-\d{2}-\d{2})\)$", re.MULTILINE)


def changelog_versions() -> list[str]:
    return [match[0] for match in ENTRY.findall((ROOT / "CHANGELOG.md").read_text())]


def test_the_template_is_the_one_its_version_declares():
    digest = template_digest(ROOT)
    assert digest == TEMPLATE_DIGEST, (
        f"the template changed since {__version__} was released: raise __version__ in {INIT}, "
        "add its CHANGELOG.md entry (what changed for generated projects), "
        f'and set TEMPLATE_DIGEST = "{digest}"'
    )


def test_the_changelog_starts_with_this_version_and_goes_back_in_order():
    versions = changelog_versions()
    assert versions, "CHANGELOG.md has no '## VERSION (YYYY-MM-DD)' entry"
    assert versions[0] == __version__, f"CHANGELOG.md has no entry for {__version__} at the top"
    parsed = [Version(version) for version in versions]
    assert parsed == sorted(set(parsed), reverse=True), versions


def test_no_version_ever_declared_two_templates():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the declared history is in git")
    seen: dict[str, tuple[str, str]] = {}
    declared = [("the work tree", *earlier_releases.declared((ROOT / INIT).read_text()))]
    declared += [(commit[:10], version, digest) for commit, version, digest in declarations()]
    for where, version, digest in declared:
        if not digest:
            continue  # before versions declared their template
        first = seen.setdefault(version, (digest, where))
        assert first[0] == digest, (
            f"{version} declares template {digest[:12]} in {where} and {first[0][:12]} in "
            f"{first[1]}: a released version keeps its template; give the new one a new version"
        )
