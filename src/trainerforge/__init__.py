"""Render a Copier template into a ready PyTorch / Hugging Face Trainer training project."""

__version__ = "0.6.0"
# The template released as __version__, by its `template_source.template_digest`. Projects made
# from it record `_commit: v{__version__}`; any other template installed under this version (a
# checkout between releases, local edits) records `v{__version__}+{digest[:12]}` instead.
# tests/test_release.py says when a template change needs a new version.
TEMPLATE_DIGEST = "0a5c3f242fa98440996f7f33e05321828b8eb16ccd290e4bdd45c00bf7525426"
