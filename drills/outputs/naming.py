"""Folder-safe names for run ids and site subfolders."""

from __future__ import annotations

import re

__all__ = ["slug"]


def slug(name: str, fallback: str = "run") -> str:
    """``name`` with every run of characters other than letters, digits, ``_``, ``.`` and ``-`` replaced
    by one ``_`` (so a scenario, region, site or experiment name can name a folder on any file system);
    ``fallback`` when nothing is left."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:60] or fallback
