"""Render a Copier template into a ready PyTorch / Hugging Face Trainer training project."""

__version__ = "0.7.0"
# The template released as __version__, by its `template_source.template_digest`. Projects made
# from it record `_commit: v{__version__}`; any other template installed under this version (a
# checkout between releases, local edits) records `v{__version__}+{digest[:12]}` instead.
# tests/test_release.py says when a template change needs a new version.
TEMPLATE_DIGEST = "6859df09ef27f7b94fac5ff707852d2d8407ce8e62deed78c8bd2d4d149e2b2b"
