"""Render a Copier template into a ready PyTorch / Hugging Face Trainer training project."""

__version__ = "0.3.0"
# The template released as __version__, by its `template_source.template_digest`. Projects made
# from it record `_commit: v{__version__}`; any other template installed under this version (a
# checkout between releases, local edits) records `v{__version__}+{digest[:12]}` instead.
# tests/test_release.py says when a template change needs a new version.
TEMPLATE_DIGEST = "309d6604902f88607fd2bcf03edd0fad3f3fb23f25c5f7f6f01531c1ce20d80c"
