"""Reading user data: CSV, ``.npy``, ``.npz`` and text files, with one-line errors naming the problem.

    read_csv(path)                        header (list of str), rows (CSVRows: a list of list of str; rows.lines: each one's line)
    row_line(rows, i)                     the line of the file row i begins on (blank lines counted)
    read_csv_columns(path, columns)       (n_rows, len(columns)) float64, columns by name or 0-based index
    csv_columns(header, rows, columns, where)
                                          the same, of a CSV already read (read_csv's header and CSVRows)
    read_array(path, key=None)            ndarray from .npy / .npz (``key`` picks the array in an .npz)
    array_names(path)                     the names of the arrays in an .npz (None for a .npy)
    read_text(path)                       str (UTF-8; a byte-order mark dropped, CRLF and CR read as LF)

Every error says which file, which column or row, what was expected and what was found. Arrays
are read with ``allow_pickle=False``: nothing in a data file is ever executed; and, as lstmkit.io
reads model files, nothing is inflated or allocated before the size a file declares is checked
(an .npz's zip directory: at most the machine's memory, and above 1 GiB no decompression bomb; a
.npy header: no more than the file holds). CSVs and text are
read as UTF-8 with an optional byte-order mark (``utf-8-sig``: Excel and Notepad write one).
"""

from __future__ import annotations

import array
import codecs
import csv
import io
import operator
import os
import re
import sys
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ._checks import LstmkitWarning
from .io import FileFormatError, check_npy_size, check_zip_sizes, npy_header


class CSVWarning(LstmkitWarning):
    """A CSV read as asked but perhaps not as meant (a long CSV's target varying within a group, its
    groups' rows interleaved, a time index read as a feature)."""


def _path(path) -> Path:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, "No such file", str(p))
    if p.is_dir():
        raise IsADirectoryError(21, "Is a directory (expected a file)", str(p))
    return p


class CSVRows(list):
    """:func:`read_csv`'s data rows (a list of rows, each a list of str) and ``lines``, the line of
    the file each row begins on (a tuple of int, 1-based, as a text editor numbers them): blank lines
    are not rows, so row i is not always on line i + 2. :func:`row_line` reads it."""

    lines: tuple[int, ...] = ()


def row_line(rows: CSVRows, i: int) -> int:
    """The line of the file (1-based, as a text editor shows it) on which row ``i`` of :func:`read_csv`'s
    ``rows`` begins: ``rows.lines[i]``."""
    return rows.lines[i]


def read_csv(path: str | os.PathLike) -> tuple[list[str], CSVRows]:
    """Read a CSV with a header row: ``header`` (list of str, stripped) and the data rows
    (:class:`CSVRows`: each a list of str, with the line each begins on). Blank lines, and lines of
    empty fields only, are skipped; every other row must have as many fields as the header (a header
    of one field holding ';', a tab or '|' is said to be another separator's, as :func:`column_index`
    says it). Errors name lines as a text editor numbers them, blank lines counted (:func:`row_line`)."""
    p = _path(path)
    return _read_csv_text(_utf8(p, "a CSV in UTF-8"), p)


#: a line as a file opened with newline="" gives it: up to and with its end, \r\n, \r or \n (the last may have none)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|[\r\n])|[^\r\n]+")


def _csv_lines(text: str):
    """The lines of ``text`` one at a time, as ``io.StringIO(text, newline="")`` iterates them (for
    ``csv.reader``), without its copy of the text (4 bytes a character)."""
    return (m.group() for m in _LINE.finditer(text))


def _has_text(r: list[str]) -> bool:
    """Whether a row read by ``csv.reader`` is kept: not blank (no fields, or empty or blank fields only).
    The one rule of :func:`read_csv` and the one-pass readers (:func:`_one_pass_rows`)."""
    return bool(r) and any(c.strip() for c in r)


def _read_csv_text(text: str, p) -> tuple[list[str], CSVRows]:
    """:func:`read_csv` of the file ``p``'s text, already read (:func:`_utf8`); errors name ``p``."""
    rows, lines, end = [], [], 0
    reader = csv.reader(io.StringIO(text, newline=""))  # (faster than _csv_lines; the rows kept take far more)
    for r in reader:
        start, end = end + 1, reader.line_num  # a quoted field may hold line breaks: the row's first line
        if _has_text(r):
            rows.append(r)
            lines.append(start)
    if not rows:
        raise ValueError(f"{p}: expected a CSV with a header row and data, got an empty file.")
    header = [h.strip() for h in rows[0]]
    data = CSVRows(rows[1:])
    data.lines = tuple(lines[1:])
    for i, r in enumerate(data):
        if len(r) != len(header):
            hint = _separator_hint(header)
            if hint:  # a ';' file with decimal commas (a European spreadsheet's): its rows split at the commas
                raise ValueError(f"{p}: expected fields separated by commas, got one field in the header, {header[0]!r}, "
                                 f"and {len(r)} on line {row_line(data, i)}.{hint}")  # fmt: skip
            raise ValueError(f"{p}: expected {len(header)} fields on every row (as in the header), got {len(r)} on line "
                             f"{row_line(data, i)} (ragged CSV).")  # fmt: skip
    if not data:
        raise ValueError(f"{p}: expected at least one data row after the header, got none.")
    return header, data


def column_index(header: list[str], column, where: str) -> int:
    """Index of ``column`` (a header name, or an int / digit string as a 0-based index)."""
    if isinstance(column, str) and column in header:
        return header.index(column)
    if isinstance(column, (int, np.integer)) or (isinstance(column, str) and column.isdigit()):
        j = int(column)
        if 0 <= j < len(header):
            return j
    hint = _separator_hint(header)
    raise KeyError(f"{where}: expected a column among {header} (or an index 0..{len(header) - 1}), got {column!r}.{hint}")


def _separator_hint(header: list[str]) -> str:
    """The sentence " The file seems to use ';' between fields; ..." for a header of one field holding
    another separator (the file is not comma-separated), else ""."""
    sep = next((s for s in (";", "\t", "|") if s in header[0]), None) if len(header) == 1 else None
    if sep is None:
        return ""
    return (f" The file seems to use {sep!r} between fields; lstmkit reads CSVs separated by commas"
            + (" (with decimal points)" if sep == ";" else "") + ": save it with commas.")


def read_csv_columns(path: str | os.PathLike, columns) -> np.ndarray:
    """The named (or indexed) columns as a (n_rows, len(columns)) float64 array; NaN/inf/text refused.

    The file is read once (its text: about its size in memory; a pipe or FIFO works) and parsed in one
    pass, each picked cell read as ``float(cell)`` reads it into an ``array('d')`` and the rows not kept
    (:func:`_column_cells`; :func:`_number`'s values, bit for bit); a file with anything wrong is parsed
    again from that text through :func:`read_csv` and :func:`csv_columns`, for their errors."""
    p = _path(path)
    text = _utf8(p, "a CSV in UTF-8")  # once, for both paths (a pipe or FIFO cannot be read twice)
    out = _column_cells(text, columns, str(path))
    if out is None:
        header, rows = _read_csv_text(text, p)
        del text
        out = csv_columns(header, rows, columns, str(path))
    return out


def _one_pass_rows(text: str):
    """For the one-pass readers (:func:`_column_cells`, :func:`_sequence_cells`): a CSV's ``text``
    (:func:`_utf8`'s) as its header, stripped, and an iterator of its data rows, read as
    :func:`read_csv` reads them (the first row not blank is the header, blank rows skipped) and not
    kept; a row of another width than the header raises ValueError as it is reached (the reader
    then gives up, for the checked path to say why). None without a header."""
    reader = csv.reader(_csv_lines(text))
    header = next((r for r in reader if _has_text(r)), None)
    if header is None:
        return None
    width = len(header)

    def rows():
        for r in reader:
            if _has_text(r):
                if len(r) != width:
                    raise ValueError("a ragged row")
                yield r

    return [h.strip() for h in header], rows()


def _picker(idx: list[int]):
    """``pick(row)``: the cells of columns ``idx`` of a row, as a tuple (one column too)."""
    return operator.itemgetter(*idx) if len(idx) > 1 else (lambda r, j=idx[0]: (r[j],))


def _column_cells(text: str, columns, where: str) -> np.ndarray | None:
    """:func:`read_csv_columns` of a CSV's ``text`` (:func:`_utf8`'s) in one pass, rows read as
    :func:`read_csv` reads them (blank lines skipped) and not kept; None when anything is off (a ragged
    row, an unknown column, a cell that is not a finite number, no data row): the caller then reads it
    through :func:`read_csv` and :func:`csv_columns`, which say what, naming the column and line."""
    if isinstance(columns, (str, int, np.integer)):
        columns = [columns]
    try:
        read = _one_pass_rows(text)
        if read is None:
            return None
        header, rows = read
        idx = [column_index(header, c, where) for c in columns]
        if not idx:
            return None
        pick = _picker(idx)
        values = array.array("d")
        for r in rows:
            values.extend(map(float, pick(r)))  # ValueError: not a number, said by the checked path
    except (ValueError, KeyError, TypeError, csv.Error):
        return None
    if not values:
        return None
    out = np.frombuffer(values, dtype=np.float64).reshape(-1, len(idx))  # (over the array('d'): no copy)
    return out if np.isfinite(out).all() else None


def csv_columns(header: list[str], rows: CSVRows, columns, where: str) -> np.ndarray:
    """:func:`read_csv_columns` of a CSV already read (:func:`read_csv`'s ``header, rows``: ``rows`` its
    :class:`CSVRows`, not plain lists, for an error names a row by its line, :func:`row_line`): the named
    (or indexed) columns as a (n_rows, len(columns)) float64 array, errors beginning with ``where``.
    Each column is read with ``float`` in one go; with anything wrong, the cells are read again one at a
    time, row by row (:func:`_number`), for the error naming the first bad cell and its line."""
    if isinstance(columns, (str, int, np.integer)):
        columns = [columns]
    idx = [column_index(header, c, where) for c in columns]
    out = np.empty((len(rows), len(idx)))
    try:
        for k, j in enumerate(idx):
            out[:, k] = [float(r[j]) for r in rows]  # float() strips as str.strip() does: _number's values
        if np.isfinite(out).all():
            return out
    except ValueError:
        pass
    for i, r in enumerate(rows):
        for k, j in enumerate(idx):
            out[i, k] = _number(r[j].strip(), where, header[j], row_line(rows, i))
    return out


#: what np.load raises on a damaged file or entry (a zip's CRC, a deflate stream, a short .npy, ...)
_NUMPY_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


#: a data .npz's deflated entry declaring more than this and more than lstmkit.io.BOMB_RATIO times its
#: compressed size is refused as a decompression bomb (model files: above lstmkit.io.BOMB_MIN_BYTES).
#: Data deflates far more than weights (padded one-hot sequences several hundred times), so the
#: rule starts at 1 GiB: a file of a few MB that would take gigabytes is still refused
DATA_BOMB_FLOOR = 1 << 30

#: how to mend a data .npz refused as a decompression bomb
_BOMB_FIX = ("a decompression bomb, or data compressed far beyond what it usually is; save it uncompressed "
             "(numpy.savez) to read it")  # fmt: skip


def memory_bytes() -> int:
    """The machine's physical memory in bytes, or ``sys.maxsize`` where it does not say: the bound on
    what a data file may declare (:func:`_load_numpy`). ``os.sysconf`` page size x pages (Linux,
    macOS), or on Windows (no ``os.sysconf``) ``MEMORYSTATUSEX.ullTotalPhys`` from kernel32's
    ``GlobalMemoryStatusEx`` (:func:`_windows_memory_bytes`)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # (no sysconf, or no such name)
        pass
    if os.name == "nt":
        try:
            import ctypes

            return _windows_memory_bytes(ctypes.windll.kernel32.GlobalMemoryStatusEx)
        except (AttributeError, OSError):  # (no windll, no such function: not the Windows it is written for)
            pass
    return sys.maxsize


def _windows_memory_bytes(global_memory_status_ex) -> int:
    """``ullTotalPhys`` of the ``MEMORYSTATUSEX`` (64 bytes: two DWORDs, seven DWORDLONGs, its
    ``dwLength`` set to its size as Windows requires) that ``global_memory_status_ex(pointer)`` fills
    (kernel32's ``GlobalMemoryStatusEx``, nonzero on success), or ``sys.maxsize`` where it fails."""
    import ctypes

    class MemoryStatusEx(ctypes.Structure):
        _fields_ = [("dwLength", ctypes.c_uint32), ("dwMemoryLoad", ctypes.c_uint32)] + [
            (name, ctypes.c_uint64) for name in ("ullTotalPhys", "ullAvailPhys", "ullTotalPageFile", "ullAvailPageFile",
                                                 "ullTotalVirtual", "ullAvailVirtual", "ullAvailExtendedVirtual")]  # fmt: skip

    status = MemoryStatusEx()
    status.dwLength = ctypes.sizeof(MemoryStatusEx)
    if not global_memory_status_ex(ctypes.pointer(status)) or not status.ullTotalPhys:
        return sys.maxsize
    return int(status.ullTotalPhys)


def _refusal(p: Path, got: str):
    """``bad(what)`` for lstmkit.io's checks of a data file: a FileFormatError (a ValueError)
    "<file>: expected a NumPy .npz/.npy file, got <got> (<what>)."."""
    return lambda what: FileFormatError(f"{p}: expected a NumPy .npz/.npy file, got {got} ({what}).")


def _check_npy(f, size: int, bad) -> None:
    """The ``.npy`` header ``f`` begins with (a file, or an entry of an .npz holding ``size`` bytes)
    checked before NumPy allocates what it declares (lstmkit.io's rule: :func:`~lstmkit.io.npy_header`,
    :func:`~lstmkit.io.check_npy_size`): version 1.0 or 2.0, and as many bytes as it holds (a
    192-byte file declaring 14.6 TiB made np.load ask for them; bytes after the array are left, as
    np.load leaves them); no cap on the size beyond that (a data file may be larger than any model
    file: the caps of lstmkit.io's model files are not applied). Else ``bad(what)`` is raised. An
    object dtype is left to np.load, which refuses it (allow_pickle=False)."""
    shape, _, dtype = npy_header(f, bad, "its header")
    if not dtype.hasobject:  # (a data file's arrays may be as large as the file holds: no model-file cap)
        check_npy_size(shape, dtype, f.tell(), size, bad, "its header", max_bytes=sys.maxsize, max_elements=sys.maxsize, trailing=True)


def _load_numpy(p: Path):
    """``np.load(p, allow_pickle=False)``; a file that is not one NumPy reads raises ValueError
    ``"<file>: expected a NumPy .npz/.npy file, got <what it is>."`` (empty, truncated, not a zip).
    Nothing is inflated or allocated before its declared size is checked: an .npz's zip directory
    (its entries declare at most the machine's memory, :func:`memory_bytes`; a deflated entry of
    more than :data:`DATA_BOMB_FLOOR` no decompression bomb, :func:`~lstmkit.io.check_zip_sizes`:
    data such as padded one-hot sequences deflates several hundred times, so the model files' 8 MiB
    floor would refuse real data), a .npy's header (:func:`_check_npy`; an .npz
    entry's is checked by :func:`read_array` as it is read); a refusal is a
    :class:`~lstmkit.io.FileFormatError` (a ValueError) naming the file and the entry."""
    with p.open("rb") as f:
        head = f.read(8)
    if not head:
        what = "an empty file"
    elif head[:4] in (b"PK\x03\x04", b"PK\x05\x06") or head[:6] == b"\x93NUMPY":  # np.load's own test: a zip, or a .npy
        try:
            if head[:6] == b"\x93NUMPY":
                with p.open("rb") as f:
                    _check_npy(f, p.stat().st_size, _refusal(p, "a truncated or damaged .npy file"))
            else:
                with zipfile.ZipFile(p) as zf:  # a damaged directory: said below, as np.load's
                    infos = zf.infolist()
                memory = memory_bytes()
                too_large = _refusal(p, "an .npz archive larger than this machine's memory")
                check_zip_sizes(infos, _refusal(p, "an .npz archive lstmkit will not inflate"), max_bytes=memory,
                                fix=_BOMB_FIX, inflated=lambda info: info.file_size > DATA_BOMB_FLOOR,
                                too_large=lambda total: too_large(f"its entries declare {total} bytes, the machine has {memory}"))  # fmt: skip
            return np.load(p, allow_pickle=False)
        except FileFormatError:
            raise
        except _NUMPY_ERRORS as exc:
            if "allow_pickle" in str(exc):
                raise ValueError(f"{p}: expected a NumPy .npz/.npy file without pickled objects, got an array of Python objects.") from None
            if head[:6] == b"\x93NUMPY":
                what = f"a truncated or damaged .npy file ({exc})"
            elif isinstance(exc, zipfile.BadZipFile) and "not a zip file" in str(exc):  # no directory at the end
                what = "a truncated zip archive (.npz): the directory of its arrays, at the end, is missing"
            else:
                what = f"a damaged zip archive (.npz) ({exc})"
    else:  # np.load would try to unpickle it, and say only that pickles are refused
        what = f"a file that is neither a zip archive (.npz) nor a .npy file (it begins {head!r})"
    raise ValueError(f"{p}: expected a NumPy .npz/.npy file, got {what}.")


def array_names(path: str | os.PathLike) -> list[str] | None:
    """The names of the arrays in an .npz (None for a .npy); errors as :func:`read_array`'s."""
    data = _load_numpy(_path(path))
    if isinstance(data, np.ndarray):
        return None
    with data:
        return list(data.files)


def read_array(path: str | os.PathLike, key: str | None = None) -> np.ndarray:
    """An array from ``.npy`` or ``.npz`` (``key`` names the array; an .npz with one array needs none)."""
    p = _path(path)
    data = _load_numpy(p)
    if isinstance(data, np.ndarray):
        return data
    with data:
        names = list(data.files)
        if key is None:
            if len(names) != 1:
                raise KeyError(f"{p}: expected a key naming one of the arrays {names}, got none.")
            key = names[0]
        if key not in names:
            raise KeyError(f"{p}: expected an array named one of {names}, got {key!r}.")
        try:
            member = key if key in data.zip.namelist() else key + ".npy"  # as NpzFile finds it: the exact name first
            with data.zip.open(member) as f:
                if f.read(6) == b"\x93NUMPY":  # an .npy (np.load gives any other member as bytes, bounded above)
                    f.seek(0)
                    _check_npy(f, data.zip.getinfo(member).file_size,
                               lambda what: FileFormatError(f"{p}: expected an intact array {key!r}, got a damaged entry ({what})."))
            return data[key]
        except FileFormatError:
            raise
        except _NUMPY_ERRORS as exc:
            if "allow_pickle" in str(exc):
                raise ValueError(f"{p}: expected array {key!r} without pickled objects, got an array of Python objects.") from None
            raise ValueError(f"{p}: expected an intact array {key!r}, got a damaged entry ({exc}).") from None


def read_text(path: str | os.PathLike) -> str:
    """The whole file as UTF-8 text, without a byte-order mark (Notepad writes one: not a character of the
    text), its line ends ``\\r\\n`` and a lone ``\\r`` read as ``\\n``, as ``open(path, newline=None)`` reads
    them: a file saved on Windows (or checked out with git's ``core.autocrlf``) is the same text."""
    return _utf8(_path(path), "UTF-8 text").replace("\r\n", "\n").replace("\r", "\n")


def _utf8(p: Path, what: str) -> str:
    """The file ``p`` decoded as UTF-8, a leading byte-order mark dropped; undecodable bytes refused
    with their offset in the file (the mark counted: an editor's or ``xxd``'s offset)."""
    data = p.read_bytes()
    skip = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{p}: expected {what}, got undecodable bytes at position {skip + exc.start}. Save it as UTF-8.") from None


def _columns_arg(spec, where: str, arg: str):
    """``spec`` as :func:`_column_list` takes it: None, a str, or a list of the items of an iterable
    (names or indices); anything else (an int, bytes, a mapping) refused naming ``arg``."""
    if spec is None or isinstance(spec, str):
        return spec
    if not isinstance(spec, (bytes, bytearray, dict)):
        try:
            return list(spec)
        except TypeError:
            pass
    raise TypeError(f"{where}: expected {arg} None (every column), a comma-separated str of column names or indices, or a "
                    f"list of them, got {type(spec).__name__} {spec!r:.80}. E.g. {arg}='a,b' or {arg}=['a', 'b'].")  # fmt: skip


def _column_list(header: list[str], spec, where: str, exclude=()) -> list[int]:
    """Indices for a comma-separated list (or list) of columns; None = every column not excluded."""
    if spec is None:
        return [j for j, h in enumerate(header) if j not in exclude]
    items = [c.strip() for c in spec.split(",")] if isinstance(spec, str) else list(spec)
    return [column_index(header, c, where) for c in items]


def _number(cell: str, path, column: str, line: int) -> float:
    try:
        v = float(cell)
    except ValueError:
        raise ValueError(f"{path}: expected a number in column {column!r}, got {cell!r} on line {line}.") from None
    if not np.isfinite(v):
        raise ValueError(f"{path}: expected finite numbers in column {column!r}, got {cell.strip()!r} on line {line} (NaN/inf in data).")
    return v


#: a cell that reads as a finite number in a CSV (Python's float() takes '1_0', 'nan', 'inf' too: not these)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def label_key(value) -> str:
    """A label as text, a number spelled as its value, as :func:`labels_from_text` reads a CSV's
    (``1``, ``'1'``, ``'1.0'`` and ``1.0`` are one label)."""
    text = str(value).strip()
    if _NUMBER.fullmatch(text):
        v = float(text)
        if not np.isfinite(v):  # '1e400': text, as labels_from_text keeps it (int(inf) raised OverflowError)
            return text
        return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
    return text


def labels_from_text(cells) -> np.ndarray:
    """A CSV's label cells as an array: numbers when every cell reads as a finite number (integers
    when every value is integral, so that ``1`` and ``1.0`` are one class), else the text as it is.
    ``cells`` is a list, or a list of equal-length lists (a label per step)."""
    text = np.array(cells, dtype=str)
    if text.size == 0 or not all(_NUMBER.fullmatch(c) for c in text.ravel()):
        return text
    values = text.astype(np.float64)
    if not np.isfinite(values).all():  # '1e400' overflows: the labels stay text
        return text
    if (values == np.round(values)).all() and (np.abs(values) < 2**53).all():
        return values.astype(np.int64)
    return values


#: what a wide CSV's rows of missing values or of different lengths are told
_WIDE_ROWS_FIX = ("Sequences of different lengths? Use the long layout: a row per step, a column naming each row's "
                  "sequence, read with --group COLUMN (group=COLUMN).")  # fmt: skip


def _span(names: list[str]) -> str:
    """Column names as a message shows them: all of a few, the first and last of many."""
    return ", ".join(repr(n) for n in names) if len(names) <= 4 else f"{names[0]!r} .. {names[-1]!r}"


def _step_counters(X: np.ndarray, lengths: np.ndarray) -> list[int]:
    """The features of a long CSV's sequences X (n, T, F) that go up by exactly 1 from each step to
    the next within every sequence (of ``lengths`` steps): a time index or a row counter, such as
    t = 0, 1, 2, ... or the position of the row in its group. Fewer than 3 such steps in all tell
    nothing (two sequences of two rows, a measurement going 1, 2 and 3, 4): none is named."""
    within = np.arange(X.shape[1] - 1)[None, :] < lengths[:, None] - 1  # (n, T-1): both steps in the sequence
    if within.sum() < 3:
        return []
    step = np.diff(X, axis=1)[within]  # (pairs, F)
    return [k for k in range(X.shape[2]) if (step[:, k] == 1).all()]


def _sequence_columns(header: list[str], features, target, group, where: str):
    """:func:`read_csv_sequences`' columns: ``f_idx`` (list of int), ``g`` and ``t`` (int or None)."""
    g = None if group is None else column_index(header, group, where)
    t = None if target is None else column_index(header, target, where)
    f_idx = _column_list(header, features, where, exclude={g, t})
    if not f_idx:
        raise ValueError(f"{where}: expected at least one feature column, got none (columns: {header}).")
    return f_idx, g, t


def _sequence_cells(path, features, target, group, numeric_target: bool, text: str):
    """:func:`read_csv_sequences`' cells in one pass over the file, or None when anything is off (an
    undecodable byte, a ragged row, a cell that is not a finite number, an unknown column, ...):
    :func:`_sequence_cells_checked` then reads it again and says what, naming the column and line.

    Returns ``header, f_idx, g, t, V, tcells, gkeys``: V (n_rows, len(f_idx)) float64, each cell as
    ``float(cell)`` reads it (as :func:`_number`: the same values, bit for bit); ``tcells`` the target
    cells (floats when ``numeric_target``, else stripped str; None without ``target``); ``gkeys`` the
    group cells, stripped (None without ``group``). Rows are read as :func:`read_csv` reads them (UTF-8,
    a byte-order mark dropped, blank lines skipped) but not kept: a row's features go into an
    ``array('d')`` as it is read (8 bytes a cell, against some 60 for a row of str). ``text``: the
    file's, already read (:func:`_utf8`), so that a pipe is read once for both paths."""
    where = str(path)
    try:
        read = _one_pass_rows(text)
        if read is None:
            return None
        header, rows = read
        f_idx, g, t = _sequence_columns(header, features, target, group, where)
        pick = _picker(f_idx)
        values = array.array("d")
        tcells = None if t is None else []
        gkeys = None if g is None else []
        for r in rows:
            values.extend(map(float, pick(r)))  # ValueError: not a number, said by the checked path
            if t is not None:
                tcells.append(float(r[t]) if numeric_target else r[t].strip())
            if g is not None:
                gkeys.append(r[g].strip())
    except (ValueError, KeyError, csv.Error):
        return None
    if not values:
        return None
    V = np.frombuffer(values, dtype=np.float64).reshape(-1, len(f_idx))
    if not np.isfinite(V).all() or (numeric_target and t is not None and not np.isfinite(tcells).all()):
        return None
    return header, f_idx, g, t, V, tcells, gkeys


def _sequence_cells_checked(path, features, target, group, numeric_target: bool, text: str):
    """:func:`_sequence_cells` through :func:`read_csv` and a :func:`_number` call per cell: slow, for
    its errors, which name the column and line of the first bad cell (the wide layout's empty cells
    first; the long layout's group by group, each group's features, then its targets). ``text``: as
    :func:`_sequence_cells`'."""
    try:
        header, rows = _read_csv_text(text, _path(path))
    except ValueError as exc:  # rows of different lengths: in the wide layout, most likely sequences of different lengths
        if group is None and str(exc).endswith("(ragged CSV)."):
            raise ValueError(f"{exc} {_WIDE_ROWS_FIX}") from None
        raise
    f_idx, g, t = _sequence_columns(header, features, target, group, str(path))

    def conv_target(cell, line):
        return _number(cell, path, header[t], line) if numeric_target else cell.strip()

    if g is None:
        for i, r in enumerate(rows):
            empty = next((j for j in f_idx if not r[j].strip()), None)
            if empty is not None:  # a short sequence's row, padded with empty cells (a spreadsheet's export)
                raise ValueError(f"{path}: expected a number in every step column of a wide CSV (a row per sequence; "
                                 f"its steps {_span([header[j] for j in f_idx])}), got an empty cell in column "
                                 f"{header[empty]!r} on line {row_line(rows, i)} (missing values). {_WIDE_ROWS_FIX}")  # fmt: skip
        V = np.array([[_number(r[j], path, header[j], row_line(rows, i)) for j in f_idx] for i, r in enumerate(rows)])
        tcells = None if t is None else [conv_target(r[t], row_line(rows, i)) for i, r in enumerate(rows)]
        return header, f_idx, g, t, V, tcells, None
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(r[g].strip(), []).append(i)
    V = np.empty((len(rows), len(f_idx)))
    tcells = None if t is None else [None] * len(rows)
    for members in groups.values():  # in this order, as the errors have always been found
        for i in members:
            V[i] = [_number(rows[i][j], path, header[j], row_line(rows, i)) for j in f_idx]
        if t is not None:
            for i in members:
                tcells[i] = conv_target(rows[i][t], row_line(rows, i))
    return header, f_idx, g, t, V, tcells, [r[g].strip() for r in rows]


def read_csv_sequences(path, features=None, target=None, group=None, per_step: bool = False, numeric_target: bool = False,
                       info: bool = False):
    """Sequences from a CSV, in one of two layouts:

    long (``group`` given): one row per time step; rows with the same value in the ``group``
        column form one sequence, in file order. X (n, T_max, F) zero-padded, lengths (n,).
        The target is the sequence's last row's (``per_step=False``) or every row's (y (n, T_max)).
    wide (no ``group``): one row per sequence; the ``features`` columns are its time steps,
        one feature each: X (n, T, 1), lengths None, y (n,). Every row has a value in every step
        column: an empty cell or a short row is refused, pointing to the long layout (sequences of
        different lengths).

    ``features``: comma-separated names/indices, or a list of them (None: every column but group
    and target). Returns ``X, y, lengths`` with y None when ``target`` is None; labels are numbers
    when ``numeric_target`` or when every label cell reads as a finite number (integers when all are
    integral: ``1`` and ``1.0`` are one class), else strings.

    Long layout, warned of (:class:`CSVWarning`), not refused: a target that varies within a group
    without ``per_step`` (the last row's is used), and a group whose rows are interleaved with
    another group's (each sequence takes its rows in file order: sort the file by group, then time,
    if that is not what was meant), and, when ``features`` is None, a feature column that goes up by
    exactly 1 from row to row within every group (a time index or row counter read as an input:
    name the features to leave it out). ``info=True`` adds a fourth value, a dict: ``"ids"``, each
    sequence's name (its ``group`` value), and ``"features"``, the names of the columns read as
    features, in order, both None in the wide layout (a sequence is its row); and ``"steps"``, the
    wide layout's columns read as time steps, in order (None in the long layout).

    The file is read once (its text: about its size in memory; a pipe or FIFO works), then parsed in
    one pass, each feature cell read as ``float(cell)`` reads it and the rows not kept
    (:func:`_sequence_cells`); a file with anything wrong is parsed again from that text a cell at a
    time, for an error naming the column and line. ``features`` other than None, a str or a list
    (an int, say) is refused (TypeError) before the file is read.
    """
    features = _columns_arg(features, "read_csv_sequences", "features")  # before the file: an argument's error first
    p = _path(path)
    text = _utf8(p, "a CSV in UTF-8")  # once, for both paths (a pipe or FIFO cannot be read twice)
    fast = _sequence_cells(path, features, target, group, numeric_target, text)
    header, f_idx, g, t, V, tcells, gkeys = fast if fast is not None else _sequence_cells_checked(path, features, target, group,
                                                                                                  numeric_target, text)  # fmt: skip
    del text
    if g is None:
        X = V[:, :, None]
        y = None if t is None else np.array(tcells)
        y = y if y is None or numeric_target else labels_from_text(y)
        return (X, y, None, {"ids": None, "features": None, "steps": [header[j] for j in f_idx]}) if info else (X, y, None)
    groups: dict[str, list[int]] = {}
    for i, k in enumerate(gkeys):
        groups.setdefault(k, []).append(i)
    n, T, F = len(groups), max(len(v) for v in groups.values()), len(f_idx)
    X = np.zeros((n, T, F))
    lengths = np.zeros(n, dtype=np.int64)
    ys = []
    varying = 0  # groups whose target changes from row to row (only the last is used without per_step)
    interleaved = [k for k, v in groups.items() if v[-1] - v[0] + 1 != len(v)]  # another group's rows among theirs
    if interleaved:
        warnings.warn(f"{path}: {len(interleaved)} of {n} groups of column {header[g]!r} (first {interleaved[0]!r}) have their "
                      f"rows interleaved with other groups' rows; each sequence takes its rows in file order. Sort the "
                      f"file by {header[g]!r} (then time) if that is not the order meant.", CSVWarning, stacklevel=2)  # fmt: skip
    for b, members in enumerate(groups.values()):
        lengths[b] = len(members)
        X[b, : len(members)] = V[members]  # the group's rows, in file order: one indexed assignment
        if t is not None:
            labels = [tcells[i] for i in members]
            varying += not per_step and any(v != labels[-1] for v in labels)
            ys.append(labels + [labels[-1]] * (T - len(labels)) if per_step else labels[-1])
    if features is None:  # every column but group and target: one counting the steps was likely not meant as an input
        counters = _step_counters(X, lengths)
        if counters:
            names = [header[f_idx[k]] for k in counters]
            others = [header[j] for k, j in enumerate(f_idx) if k not in counters]
            one = len(names) == 1
            leave = (f"If that is not meant, leave {'it' if one else 'them'} out with --features {','.join(others)} "
                     f"(features=[...])." if others else "(It is the only feature column.)")  # fmt: skip
            warnings.warn(f"{path}: {'column' if one else 'columns'} {_span(names)} {'goes' if one else 'go'} up by "
                          f"exactly 1 from row to row within every group of {header[g]!r} (a time index or a row "
                          f"counter?): read as {'a feature, it gives' if one else 'features, they give'} the model each "
                          f"step's position. {leave}", CSVWarning, stacklevel=2)  # fmt: skip
    if varying:
        warnings.warn(f"{path}: the target {header[t]!r} varies within {varying} of {n} groups; each sequence is labelled "
                      f"with its last row's value. Give --per-step (per_step=True) for a label per row.", CSVWarning, stacklevel=2)  # fmt: skip
    y = None if t is None else np.array(ys) if numeric_target else labels_from_text(ys)
    lengths = None if (lengths == T).all() else lengths
    return (X, y, lengths, {"ids": list(groups), "features": [header[j] for j in f_idx], "steps": None}) if info else (X, y, lengths)
