"""Safe labels: the one alphabet for scenario names and for folder names built from settings.

A label may hold ASCII letters and digits and ``. _ - + = ,``; it does not start with a dot, holds
no ``..`` and is at most :data:`MAX_LABEL` characters long. Such a string is a single folder name
on every common file system: it cannot climb out of a folder (no ``/``, ``\\`` or ``..``), hide
(no leading dot), or carry shell, quoting or control characters.
"""

from __future__ import annotations

import re

#: the characters a label may hold
SAFE_CHARACTERS = "A-Z a-z 0-9 . _ - + = ,"
MAX_LABEL = 120

_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]+")


def is_safe_label(text: str) -> bool:
    """True when ``text`` is already a safe label (see the module docstring)."""
    return (
        isinstance(text, str)
        and 0 < len(text) <= MAX_LABEL
        and not _UNSAFE.search(text)
        and not text.startswith(".")
        and ".." not in text
    )


def safe_label(text: object, fallback: str = "run") -> str:
    """Map any text onto the safe alphabet, e.g. ``'../../x y'`` -> ``'x_y'``.

    Runs of other characters become one ``_``; runs of dots become one dot; leading dots, dashes
    and underscores and trailing underscores go; the result is cut to :data:`MAX_LABEL`
    characters. Text with nothing safe in it gives ``fallback``.

    Args:
        text: anything; it is turned into ``str`` first.
        fallback: the label of text with nothing safe in it (must itself be safe).

    Returns:
        A string for which :func:`is_safe_label` is True.
    """
    label = _UNSAFE.sub("_", str(text))
    label = re.sub(r"\.{2,}", ".", label)
    label = re.sub(r"_{2,}", "_", label)
    label = label.lstrip("._-").rstrip("_")
    label = label[:MAX_LABEL].rstrip("._")
    return label if is_safe_label(label) else fallback
