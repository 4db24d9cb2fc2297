"""Read, check and write galaxy catalogs in the galaxy-datasets / zoobot layout.

A catalog is a table with one row per galaxy: ``id_str`` (a unique name), ``file_loc`` (the
image file) and, for labelled data, one vote-count column per answer of a schema. Training
on a catalog with a missing image, a NaN vote or a repeated id fails late and confusingly, so
:func:`read_catalog` checks everything up front and reports every problem at once, naming the
file, the columns, the rows and what to do.

Where the images are (first rule that applies):

* a ``filename`` column (galaxy-datasets catalogs ship ``subfolder`` + ``filename`` instead
  of ``file_loc``) → ``image_root / subfolder / filename``; ``image_root`` defaults to the
  catalog's ``images/`` folder if it has one, else the catalog's folder. A stale ``file_loc``
  is replaced when ``image_root`` is given or ``file_loc`` is absent.
* ``file_loc`` → used as is when absolute, else relative to ``image_root`` if given, else to
  the catalog's folder.

A catalog without ``id_str`` gets one from the image file names (``images/ngc1300.jpg`` →
``ngc1300``); those must then be unique. The returned frame always has absolute
``file_loc`` paths and string ``id_str``.
"""

from __future__ import annotations

import os
import stat
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .schema import Schema, decals_dr5
from .votes import VoteProblem, find_vote_problems

__all__ = ["CatalogError", "read_catalog", "read_table", "write_catalog", "check_image_files"]

ImageCheck = bool | Literal["exists", "header", "full"]
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_MISSING_IMAGE = "image file missing"
_EMPTY_IMAGE = "image file empty (0 bytes)"
_UNREADABLE_IMAGE = "image file unreadable"
_DUPLICATE_ID = "duplicate id_str"
_BLANK_ID = "blank id_str"


class CatalogError(ValueError):
    """A catalog cannot be used as it is; ``.problems`` lists what and where, ``.bad_rows`` the rows."""

    def __init__(self, message: str, problems: list[VoteProblem] | None = None):
        super().__init__(message)
        self.problems = problems or []

    @property
    def bad_rows(self) -> list:
        rows: set = set()
        for p in self.problems:
            rows.update(p.rows)
        return sorted(rows, key=str)


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A catalog file (CSV or parquet) as it is, unchecked; every error names the file and what to do.

    A folder, a missing file, an unknown suffix, a file that does not parse and a CSV that is one
    column because it is separated by semicolons (or tabs) are refused with that said.
    """
    path = Path(path).expanduser().absolute()
    if path.is_dir():
        inside = sorted(p.name for p in path.iterdir() if p.suffix.lower() in _SUFFIXES)
        hint = f", e.g. {path / inside[0]}" if inside else ""
        raise CatalogError(f"catalog {path} is a folder, not a catalog file; give the .csv or .parquet file "
                           f"inside it{hint}")
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise CatalogError(
            f"catalog {path}: unknown file type {path.suffix!r}; save it as .csv or .parquet "
            "(e.g. df.to_parquet('catalog.parquet'))"
        )
    if not path.is_file():
        raise FileNotFoundError(f"catalog {path} does not exist; check the path (cwd is {Path.cwd()})")
    try:
        df = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
    except (ValueError, OSError) as err:  # pandas' ParserError, EmptyDataError; pyarrow's ArrowInvalid
        reason = " ".join(str(err).split()) or type(err).__name__
        fix = ("a comma-separated text file whose first line names the columns" if kind == "csv"
               else "a parquet file; write it again with df.to_parquet(path)")
        raise CatalogError(f"catalog {path} cannot be read as {kind} ({reason}); it must be {fix}") from err
    if kind == "csv" and len(df.columns) == 1:
        name = str(df.columns[0])
        for sep, word in ((";", "semicolon"), ("\t", "tab")):
            if sep in name:
                raise CatalogError(
                    f"catalog {path} reads as one column named {name[:60]!r}: it looks {word}-separated; save it "
                    f"with commas, e.g. pd.read_csv(path, sep={sep!r}).to_csv(path, index=False), or as parquet"
                )
    return df


def _default_image_root(catalog_dir: Path) -> Path:
    images = catalog_dir / "images"
    return images if images.is_dir() else catalog_dir


def _resolve_file_locs(
    df: pd.DataFrame, source: str, catalog_dir: Path, image_root: Path | None
) -> pd.Series:
    if "filename" in df.columns and ("file_loc" not in df.columns or image_root is not None):
        root = image_root if image_root is not None else _default_image_root(catalog_dir)
        names = df["filename"].astype(str)
        if "subfolder" in df.columns:
            names = df["subfolder"].astype(str) + os.sep + names
        return names.map(lambda n: str((root / n).absolute()))
    if "file_loc" not in df.columns:
        raise CatalogError(
            f"{source}: no 'file_loc' column (nor 'filename'); columns are {list(df.columns)[:12]}. "
            "-> add a 'file_loc' column with each galaxy's image path, absolute or relative to the "
            "catalog's folder."
        )
    base = image_root if image_root is not None else catalog_dir
    if df["file_loc"].isna().any():
        rows = tuple(df.index[df["file_loc"].isna()])
        raise CatalogError(
            f"{source}: column 'file_loc' is empty in {len(rows)} row(s): {list(rows[:5])}. "
            "-> give every galaxy an image path, or drop those rows.",
            [VoteProblem("file_loc", "empty file_loc", rows)],
        )

    def absolute(loc: object) -> str:
        p = Path(os.path.expanduser(str(loc)))
        return str(p if p.is_absolute() else (base / p).absolute())

    return df["file_loc"].map(absolute)


def _unreadable(path: str, mode: str) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as img:
            if mode == "full":
                img.load()
    except Exception:
        return True
    return False


def _file_size(path: str) -> int:
    """Size in bytes of a regular file, -1 when there is none (one ``stat``, as cheap as ``isfile``)."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return -1
    return info.st_size if stat.S_ISREG(info.st_mode) else -1


def check_image_files(file_locs: pd.Series, mode: ImageCheck = True) -> list[VoteProblem]:
    """Problems with the image files: missing or empty (always), unreadable (``"header"``/``"full"``).

    ``True``/``"exists"`` only checks existence (fast even for 10^5 files); ``"header"`` opens
    each file's header with PIL; ``"full"`` decodes every image (slow, thorough).
    """
    if mode is False:
        return []
    sizes = np.fromiter((_file_size(p) for p in file_locs), dtype=np.int64, count=len(file_locs))
    exists, empty = sizes >= 0, sizes == 0
    problems = []
    if not exists.all():
        problems.append(VoteProblem("file_loc", _MISSING_IMAGE, tuple(file_locs.index[~exists])))
    if empty.any():
        problems.append(VoteProblem("file_loc", _EMPTY_IMAGE, tuple(file_locs.index[empty])))
    if mode in ("header", "full"):
        present = file_locs[sizes > 0]
        with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 2)) as pool:
            bad = np.fromiter(pool.map(lambda p: _unreadable(p, str(mode)), present), dtype=bool, count=len(present))
        if bad.any():
            problems.append(VoteProblem("file_loc", _UNREADABLE_IMAGE, tuple(present.index[bad])))
    return problems


def _describe(problem: VoteProblem, df: pd.DataFrame, max_rows: int = 5) -> str:
    ids = None if problem.problem == _BLANK_ID else df["id_str"]  # a blank id names nothing
    text = "  " + problem.describe(ids, max_rows=max_rows)
    if problem.problem in (_MISSING_IMAGE, _EMPTY_IMAGE, _UNREADABLE_IMAGE) and problem.rows:
        text += f"\n      e.g. {df.loc[problem.rows[0], 'file_loc']}"
    return text


_HINTS = {
    _MISSING_IMAGE: "check that file_loc is right (relative paths are taken from the catalog's folder, "
    "or pass image_root=...)",
    _UNREADABLE_IMAGE: "re-download or re-save those images (PNG or JPEG)",
    _EMPTY_IMAGE: "re-download or re-save those images (an empty file is left by an interrupted download or copy)",
    _BLANK_ID: "give every galaxy its id_str (rows are counted from 0 after the header), or drop those rows",
    _DUPLICATE_ID: "make id_str unique (e.g. df['id_str'] = df['id_str'] + '_' + df.index.astype(str))",
}


def read_catalog(
    path_or_df: str | os.PathLike | pd.DataFrame,
    schema: Schema | None = decals_dr5,
    image_root: str | os.PathLike | None = None,
    check_images: ImageCheck = True,
    require_votes: bool = True,
    drop_bad_rows: bool = False,
    check_tree: bool = True,
) -> pd.DataFrame:
    """Load a catalog (CSV, parquet or DataFrame), resolve image paths and check every row.

    Raises one :class:`CatalogError` listing every problem (missing or unreadable images, bad
    or missing vote columns, blank or repeated ``id_str``). With ``drop_bad_rows=True`` bad rows are
    dropped with a warning instead (missing columns still raise). ``require_votes=False`` (or
    ``schema=None``) accepts catalogs without vote columns, e.g. unlabelled galaxies or a
    ``ring`` label; vote columns that are present are still checked. ``check_images``: see
    :func:`check_image_files`; ``check_tree=False`` skips the decision-tree consistency check.
    Relative paths in a DataFrame are taken from the current directory (or ``image_root``).
    """
    if isinstance(path_or_df, pd.DataFrame):
        df, source, catalog_dir = path_or_df.copy(), "catalog (DataFrame)", Path.cwd()
    else:
        path = Path(path_or_df).expanduser().absolute()
        df, source, catalog_dir = read_table(path), f"catalog {path}", path.parent
    root = Path(image_root).expanduser().absolute() if image_root is not None else None

    df["file_loc"] = _resolve_file_locs(df, source, catalog_dir, root)
    if "id_str" not in df.columns:
        df.insert(0, "id_str", df["file_loc"].map(lambda p: Path(p).stem))
    ids = df["id_str"]
    blank = ids.isna() | ids.astype(str).str.strip().eq("")
    if blank.any() and pd.api.types.is_float_dtype(ids) and (ids.dropna() % 1 == 0).all():
        ids = ids.astype("Int64")  # whole-number ids read as floats only because of the blanks: 123, not 123.0
    df["id_str"] = ids.astype(str)

    problems: list[VoteProblem] = []
    if blank.any():
        problems.append(VoteProblem("id_str", _BLANK_ID, tuple(df.index[blank])))
    duplicated = df["id_str"].duplicated(keep="first") & ~blank
    if duplicated.any():
        problems.append(VoteProblem("id_str", _DUPLICATE_ID, tuple(df.index[duplicated])))
    problems += check_image_files(df["file_loc"], check_images)
    if schema is not None:
        vote_problems = find_vote_problems(df, schema, check_tree=check_tree)
        missing = [p.column for p in vote_problems if p.problem == "missing column"]
        if missing and (require_votes or len(missing) < schema.n_answers):
            raise CatalogError(
                f"{source}: missing {len(missing)} of the {schema.n_answers} vote columns of schema "
                f"{schema.name!r}: {missing[:6]}{' …' if len(missing) > 6 else ''}\n"
                "  -> rename your columns to '{question}_{answer}' as in schema.label_cols, pass the "
                "schema that matches your data, or schema=None / require_votes=False for a catalog "
                "without votes.",
                vote_problems,
            )
        problems += [p for p in vote_problems if p.problem != "missing column"]

    if problems:
        bad_rows = sorted({r for p in problems for r in p.rows}, key=str)
        if not drop_bad_rows:
            lines = [f"{source}: {len(bad_rows)} of {len(df)} row(s) cannot be used:"]
            lines += [_describe(p, df) for p in problems]
            vote_hint = "vote counts must be whole numbers >= 0, 0 for unasked questions"
            lines += [f"  -> {hint}" for hint in dict.fromkeys(_HINTS.get(p.problem, vote_hint) for p in problems)]
            lines.append("  -> or pass drop_bad_rows=True to drop those rows with a warning.")
            raise CatalogError("\n".join(lines), problems)
        reasons = ", ".join(f"{len(p.rows)} {p.problem}" for p in problems)
        warnings.warn(f"{source}: dropped {len(bad_rows)} of {len(df)} row(s) ({reasons})", stacklevel=2)
        df = df.drop(index=bad_rows)
    if schema is not None and all(c in df.columns for c in schema.label_cols):
        df[schema.label_cols] = df[schema.label_cols].astype(np.int64)
    return df.reset_index(drop=True)


def write_catalog(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Save a catalog as CSV or parquet (by suffix), storing ``file_loc`` relative to the
    catalog's folder when the image lies under it, so the folder can be moved or shared."""
    path = Path(path).expanduser().absolute()
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise CatalogError(f"cannot write catalog {path}: use a .csv or .parquet suffix")
    out = df.copy()
    if "file_loc" in out.columns:
        folder = path.parent

        def relative(loc: object) -> str:
            p = Path(str(loc)).absolute()
            try:
                return p.relative_to(folder).as_posix()
            except ValueError:
                return str(p)

        out["file_loc"] = out["file_loc"].map(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        out.to_csv(path, index=False)
    else:
        out.to_parquet(path, index=False)
    return path
