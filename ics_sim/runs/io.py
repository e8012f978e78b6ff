"""Atomic file writing: nothing is ever half written.

Every file the project writes goes through :func:`atomic_path`: the content is written to a
temporary file in the destination's folder, flushed to disk, given the permissions a new file
would get under the current umask, and renamed into place with :func:`os.replace` (atomic on one
file system). On any error the temporary file is removed and the destination is left as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def _new_file_mode() -> int:
    """The mode a newly created file gets under the current umask (mkstemp makes 0600 files)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without error, move it into place.

    Example::

        with atomic_path("out/table.parquet") as tmp:
            df.to_parquet(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` (with ``\\n`` line endings) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


def atomic_write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Write a data frame to Parquet at ``path`` atomically (no index)."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def atomic_write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write a data frame to CSV at ``path`` atomically (no index)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def atomic_write_figure(fig: Figure, path: str | Path, **savefig_kwargs) -> None:
    """Save a matplotlib figure at ``path`` atomically; the format follows ``path``'s suffix."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", **savefig_kwargs)
