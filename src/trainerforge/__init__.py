"""Render a Copier template into a ready PyTorch / Hugging Face Trainer training project."""

__version__ = "0.4.0"
# The template released as __version__, by its `template_source.template_digest`. Projects made
# from it record `_commit: v{__version__}`; any other template installed under this version (a
# checkout between releases, local edits) records `v{__version__}+{digest[:12]}` instead.
# tests/test_release.py says when a template change needs a new version.
TEMPLATE_DIGEST = "e52947da1e754ac9d3be421d15279eb4f064502d7fcbb014e0c5352458884cbe"
