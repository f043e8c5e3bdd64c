"""Render a Copier template into a ready PyTorch / Hugging Face Trainer training project."""

__version__ = "0.5.0"
# The template released as __version__, by its `template_source.template_digest`. Projects made
# from it record `_commit: v{__version__}`; any other template installed under this version (a
# checkout between releases, local edits) records `v{__version__}+{digest[:12]}` instead.
# tests/test_release.py says when a template change needs a new version.
TEMPLATE_DIGEST = "3cbf3636cf0b3844c7ac736748127ba4066c6a5b1d6f7131f23fbdd8985a52dd"
