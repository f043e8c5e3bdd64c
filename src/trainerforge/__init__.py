"""Render a Copier template into a ready PyTorch / Hugging Face Trainer training project."""

__version__ = "0.1.0"
