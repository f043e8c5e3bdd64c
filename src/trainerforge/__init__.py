"""Render a Copier template into a ready PyTorch / Hugging Face Trainer training project."""

__version__ = "0.2.0"
# The template released as __version__, by its `template_source.template_digest`. Projects made
# from it record `_commit: v{__version__}`; any other template installed under this version (a
# checkout between releases, local edits) records `v{__version__}+{digest[:12]}` instead.
# tests/test_release.py says when a template change needs a new version.
TEMPLATE_DIGEST = "fbc27a0361d205f4ba897baa4716635af3ae66da5d77b9acbf9006768732d653"
