"""Sphinx extension loaded by the book's ``_config.yml`` (``sphinx.extra_extensions``).

It marks the process as a book build (``KEXUE_BOOK_BUILD=1``) before myst-nb starts
kernels, so that the kernels inherit it and :func:`kexue.widgets.interact` renders
static, self-contained demos and training loops print one summary line instead of a
live progress bar.
"""

from __future__ import annotations

import os


def setup(app):
    os.environ["KEXUE_BOOK_BUILD"] = "1"
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
