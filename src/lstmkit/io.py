"""Files that never execute code when loaded: arrays in ``.npz`` plus JSON metadata.

Layout of a file written by :func:`save_arrays` (an ordinary ``.npz`` zip)::

    __meta__.npy      a 0-d unicode array holding the JSON metadata (an object)
    <name>.npy        one array per entry (bool, int, uint or float; no object arrays)

Reading never unpickles and never trusts a size it has not checked. :func:`load_arrays`

1. reads the whole file into memory, its size as ``fstat`` gives it and no more (refusing files above
   ``max_bytes``, a file whose size changes while it is read, and a path that is not a
   regular file: a device such as ``/dev/zero`` has no size to check, a FIFO may never end),
2. checks the zip directory: at most :data:`MAX_ENTRIES` entries, each ``<name>.npy`` with a
   name of :data:`NAME_RE` (no absolute paths, no ``..``, no duplicates) and, when the caller
   says which names it accepts (``names``), one of those, stored or deflated, total declared size
   <= ``max_bytes``, and no deflated entry (nor all of them together) declaring more than
   :data:`BOMB_RATIO` times its compressed size once above :data:`BOMB_MIN_BYTES` (a
   decompression bomb; nothing is ever extracted to disk, and nothing is decompressed before every
   entry of the directory has passed: an entry the caller would refuse costs no memory),
3. parses each ``.npy`` header itself (``numpy.lib.format``, a literal parser, not ``eval``):
   version 1.0 or 2.0, a numeric dtype without object fields (a pickled payload needs an object
   dtype, so it is refused before a byte of it is read), a shape whose element count is at most
   :data:`MAX_ELEMENTS` and whose byte size equals the entry's declared size exactly,
4. reads the data and lets :mod:`zipfile` verify the CRC (a flipped bit is caught),
5. parses the metadata as strict JSON (no NaN/Infinity, at most :data:`MAX_META_CHARS`
   characters) into a dict.

:func:`read_meta` makes the same checks of the zip directory and reads the metadata alone, no array
decompressed (to tell a file's kind, as a model file told from a training checkpoint).

Any failure is a :class:`FileFormatError` (a ``ValueError``) that names the file and the problem;
only a file that cannot be opened at all raises ``OSError`` (``FileNotFoundError``, ...).

Writes are atomic: the file is written next to its destination, flushed, fsync'ed and renamed over
it, so a crash mid-write leaves any previous file intact.
"""

from __future__ import annotations

import errno
import fnmatch
import io
import json
import math
import os
import re
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from ._checks import or_list

META_KEY = "__meta__"
#: refuse arrays above this many elements when loading (guards against absurd shapes)
MAX_ELEMENTS = 2**31
#: refuse files (and the sum of their uncompressed entries) above this many bytes by default
MAX_BYTES = 2**31
#: refuse zips with more entries than this
MAX_ENTRIES = 4096
#: refuse metadata longer than this many characters
MAX_META_CHARS = 2**26
#: a deflated entry declaring more than BOMB_MIN_BYTES is refused when it declares more than BOMB_RATIO
#: times its compressed size (so are the deflated entries together): a decompression bomb, a file of a
#: few MiB that inflates to GiB. lstmkit writes stored entries (np.savez: ratio 1); a file re-compressed
#: (np.savez_compressed) holds float weights, whose mantissas are noise: about 1.05x (float64) to 1.1x
#: (float32), 2.2x for weights rounded to 2 decimals, and JSON metadata in UTF-32 6x (numbers) to 60x (a
#: long run of alike records); zeros, what a bomb is made of, deflate about 1000x. 100 leaves a margin
#: over all of these and bounds what a file makes us allocate to 100 times its size; entries below
#: BOMB_MIN_BYTES (8 MiB) cost little whatever their ratio
BOMB_RATIO = 100
BOMB_MIN_BYTES = 8 << 20
#: an array name: ``/``-separated parts of letters, digits and ``_ . -`` (PyTorch's dotted names
#: and checkpoints' ``model/rnn.weight_ih_l0`` fit); no part may be ``.`` or ``..``
NAME_RE = re.compile(r"^(?!.*(?:^|/)\.{1,2}(?:/|$))[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)*$")
NAME_MAX = 400
_NUMERIC_KINDS = "biuf"


class FileFormatError(ValueError):
    """A file that is not a valid lstmkit file (truncated, corrupted, hostile, or unknown)."""


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (/proc/self/status)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (a file made in between gets 0o022)
    os.umask(mask)
    return mask


def _remove_temporary(tmp: str) -> None:
    """Delete the temporary file of a failed write, best effort. Windows refuses to delete a read-only
    file (one made with the mode of a read-only destination): it is made writable and deleted again. An
    error here never replaces the write's own (the one naming the destination)."""
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    except PermissionError:
        try:
            os.chmod(tmp, 0o600)
            os.unlink(tmp)
        except OSError:
            pass
    except OSError:
        pass


def atomic_write_bytes(path: str | os.PathLike, write) -> None:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, then rename it into place.

    The file gets the permissions an ordinary ``open(path, "wb")`` would give it: those of the file
    it replaces, or 0o666 less the umask for a new one (the temporary file is made 0o600). The file
    is fsynced before the rename and its folder after it, so that the new file, and the name it
    replaced, outlast a power loss (the folder's fsync is skipped where the platform refuses it). An
    ``OSError`` names ``path``, never the temporary file; a folder at ``path``, or a file among its
    parents, is refused before ``write`` is called. A process killed mid-write (SIGKILL, or SIGTERM
    without a handler) leaves ``path`` whole, old or new, but its temporary file ``.NAME.XXXXXXXX.tmp``
    stays beside it (as large as the file): none is removed by a later write, since it may be
    another live writer's (another host's, on a shared folder); delete them when no save runs."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "Is a directory (expected a file to write)", str(path))
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise NotADirectoryError(errno.ENOTDIR, f"Not a directory ({blocking} is a file)", str(path))
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            _remove_temporary(tmp)
        if isinstance(exc, OSError) and exc.errno is not None and _about_temporary(exc.filename, path):
            # the temporary file, its folder or no file at all (a full disk): say which file was being written
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    _fsync_folder(path)


#: the errors by which a platform refuses to open or fsync a folder: Windows opens none (EACCES, or
#: EISDIR), and file systems that do not sync folders say EINVAL, ENOTSUP/EOPNOTSUPP, EBADF or EPERM
_NO_FOLDER_SYNC = frozenset(
    getattr(errno, name) for name in ("EINVAL", "ENOTSUP", "EOPNOTSUPP", "EBADF", "EACCES", "EPERM", "EISDIR") if hasattr(errno, name)
)


def _fsync_folder(path: Path) -> None:
    """fsync the folder of ``path`` (the file just renamed into it), so that the rename is on disk
    (POSIX: the rename is atomic, but durable only once the folder is synced). Skipped where the
    platform refuses it (:data:`_NO_FOLDER_SYNC`: the file is written and in place, as durable as
    the platform makes it). Any other error (EIO: the folder may not have reached the disk) raises
    OSError naming ``path``, saying that the file is in place but its folder's sync failed: with the
    error's code (``errno``, ``filename`` ``path``), or, for an error that has none, its message alone."""
    try:
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno in _NO_FOLDER_SYNC:
            return
        about = (f"(syncing its folder {str(path.parent)!r} after the file was renamed into place: the file is written, "
                 f"but may not outlast a power loss)")  # fmt: skip
        if exc.errno is None:  # no error code (an OSError made with a message only): said without "[Errno None] None"
            raise OSError(f"{exc.strerror or str(exc) or type(exc).__name__} {about}: {str(path)!r}") from exc
        raise OSError(exc.errno, f"{exc.strerror or os.strerror(exc.errno)} {about}", str(path)) from exc


def _about_temporary(filename, path: Path) -> bool:
    """Whether an OSError's ``filename`` is atomic_write_bytes's own business: None, the folder of
    ``path`` or a temporary file beside it (``.<name>.XXXX.tmp``)."""
    if filename is None:
        return True
    f = Path(os.fsdecode(filename))
    return f == path.parent or (f.parent == path.parent and f.name.startswith(f".{path.name}.") and f.name.endswith(".tmp"))


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> None:
    """Write a matplotlib figure to ``path``, atomically (:func:`atomic_write_bytes`), in the format
    its suffix names as matplotlib's ``savefig`` reads it (``.png``, ``.pdf``, ``.svg``, ...; PNG
    when it has none)."""
    fmt = Path(path).suffix[1:].lower() or "png"
    formats = fig.canvas.get_supported_filetypes()
    if fmt not in formats:
        raise ValueError(f"{path}: expected a figure file ending in one of {', '.join('.' + k for k in sorted(formats))}, got '.{fmt}'.")
    atomic_write_bytes(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi))


def save_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write ``arrays`` and JSON-serialisable ``meta`` to ``path`` atomically (see module doc).

    Names must match :data:`NAME_RE`; arrays must be numeric (bool, int, uint, float); ``meta``
    must be strict JSON (no NaN or infinity), so that :func:`load_arrays` accepts what was written.
    """
    payload: dict[str, np.ndarray] = {}
    for k, v in arrays.items():
        if k == META_KEY or not isinstance(k, str) or len(k) > NAME_MAX or not NAME_RE.match(k):
            raise ValueError(
                f"save_arrays: expected array names of '/'-separated parts of letters, digits, '_', '.', '-' "
                f"(not {META_KEY!r}, no '..'), got {k!r}."
            )
        a = np.asarray(v)
        if a.dtype.kind not in _NUMERIC_KINDS or a.dtype.fields is not None:
            raise TypeError(f"save_arrays: expected a numeric array for {k!r}, got dtype {a.dtype}.")
        payload[k] = a
    try:
        text = json.dumps(dict(meta), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save_arrays: expected JSON-serialisable metadata without NaN or infinity, got an error: {exc}.") from None
    payload[META_KEY] = np.array(text)
    atomic_write_bytes(path, lambda f: np.savez(f, **payload))


def _bad(path, what: str) -> FileFormatError:
    return FileFormatError(f"{path}: not a valid lstmkit file: {what}.")


def _reject_constant(name: str):
    raise ValueError(f"JSON constant {name} is not allowed")


def npy_header(f, bad, name: str) -> tuple[tuple, bool, np.dtype]:
    """The header of the ``.npy`` data ``f`` is at the start of: ``(shape, fortran_order, dtype)``, read
    with NumPy's literal parser (never ``eval``, nothing unpickled); a version other than 1.0 or 2.0
    is refused by raising ``bad(what)`` (``what`` a phrase naming ``name``: "entry 'w.npy' has ...").
    ``f`` is left at the first byte of the data. The caller checks the dtype as it needs, then the
    shape with :func:`check_npy_size`. The one reader of a ``.npy`` header for the files lstmkit reads
    (model files here, data files in :mod:`lstmkit.tables`)."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(f)
    raise bad(f"{name} has .npy version {version}, expected 1.0 or 2.0")


def check_npy_size(shape, dtype: np.dtype, header_len: int, size: int, bad, name: str, max_bytes: int = MAX_BYTES,
                   max_elements: int = MAX_ELEMENTS, trailing: bool = False) -> int:  # fmt: skip
    """The element count of a ``.npy`` header's ``shape``, once the shape is known to be sane: at most
    ``max_elements`` elements and ``max_bytes`` bytes, and ``header_len`` + its bytes equal to (with
    ``trailing``: at most; bytes after the array are np.load's to ignore, as in a data file)
    ``size``, the bytes the file or zip entry holds (declared, not read: a header declaring 14 TiB in a
    file of 192 bytes is refused before anything is allocated). Else raises ``bad(what)``, as
    :func:`npy_header`."""
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise bad(f"{name} has shape {shape}")
    count = math.prod(shape)
    if count > max_elements:
        raise bad(f"{name} has an absurd shape {shape} ({count} elements > {max_elements})")
    nbytes = count * dtype.itemsize
    if nbytes > max_bytes:
        raise bad(f"{name} declares shape {shape} of {dtype}, {nbytes} bytes (at most {max_bytes})")
    if header_len + nbytes > size or (header_len + nbytes < size and not trailing):
        raise bad(f"{name} declares shape {shape} of {dtype} ({nbytes} bytes) but holds {size - header_len} bytes")
    return count


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path, is_meta: bool) -> np.ndarray:
    """Parse one ``.npy`` entry with every size and dtype checked before the data is read."""
    name = info.filename
    bad = lambda what: _bad(path, what)  # noqa: E731
    with zf.open(info) as f:
        shape, fortran, dtype = npy_header(f, bad, f"entry {name!r}")
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
            raise _bad(path, f"entry {name!r} has dtype {dtype} (object or structured data, which would need pickle)")
        allowed = "U" if is_meta else _NUMERIC_KINDS
        if dtype.kind not in allowed:
            raise _bad(path, f"entry {name!r} has dtype {dtype}, expected {'a unicode string' if is_meta else 'bool, int, uint or float'}")
        count = check_npy_size(shape, dtype, f.tell(), info.file_size, bad, f"entry {name!r}")
        nbytes = count * dtype.itemsize
        arr = np.empty(count, dtype=dtype)  # read straight into it: one copy of the data in memory, not two
        buf, got = memoryview(arr).cast("B"), 0
        while got < nbytes:  # in chunks: a zip entry's readinto reads (allocates) as much as it is asked
            n = f.readinto(buf[got : got + (16 << 20)])
            if not n:
                break
            got += n
        if got != nbytes or f.read(1):
            raise _bad(path, f"entry {name!r} is truncated")
    return np.ascontiguousarray(arr.reshape(shape, order="F")) if fortran else arr.reshape(shape)


#: what a refused decompression bomb's message says after the sizes
BOMB_FIX = ("a decompression bomb, or a file compressed by another writer; lstmkit writes entries uncompressed "
            "(load it with numpy.load and save it again with lstmkit, or with numpy.savez)")  # fmt: skip


def _bomb(inflated: int, compressed: int) -> bool:
    """Whether deflated data declaring ``inflated`` bytes from ``compressed`` is out of proportion
    (:data:`BOMB_RATIO` above :data:`BOMB_MIN_BYTES`)."""
    return inflated > BOMB_MIN_BYTES and inflated > BOMB_RATIO * compressed


def _ratio(info: zipfile.ZipInfo) -> str:
    """An entry's inflation, for a message: "1027 times as many" (or "from nothing")."""
    return f"{info.file_size // info.compress_size} times as many" if info.compress_size else "from nothing"


def check_zip_sizes(
    infos: Iterable[zipfile.ZipInfo], bad, max_bytes: int = MAX_BYTES, fix: str = BOMB_FIX, inflated=None, too_large=None
) -> None:
    """Refuse a zip directory (``ZipFile.infolist()``) by its declared sizes, before anything is
    inflated, by raising ``bad(what)`` (``what`` a phrase: "entry 'w.npy' declares ..."): entries
    adding up to more than ``max_bytes`` bytes, a compressed entry that is a decompression bomb
    (:func:`_bomb`: more than :data:`BOMB_MIN_BYTES` and :data:`BOMB_RATIO` times its compressed
    size), or the compressed entries together being one (many entries, each below the bound); the
    bombs are said first (a bomb is what a 2 MB file declaring 2.4 GB is), the size cap after them.
    ``fix`` ends a bomb's phrase (how to save the file again); ``inflated(info)``: whether the caller
    will inflate that entry (None: every entry), only those count as a bomb; ``too_large(total)``:
    the exception raised for entries declaring ``total`` bytes, more than ``max_bytes``, in the
    caller's own words (None: ``bad("entries add up to more than <max_bytes> bytes")``). The one
    rule for lstmkit's own files, PyTorch ``.pt`` archives, ``.keras`` zips (the two entries read)
    and data ``.npz`` files."""
    total = inflating = compressed = 0  # declared sizes: all entries'; those to inflate, and theirs compressed
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED and (inflated is None or inflated(info)):
            if _bomb(info.file_size, info.compress_size):
                raise bad(f"entry {info.filename!r} declares {info.file_size} bytes from {info.compress_size} compressed, "
                          f"{_ratio(info)}: {fix}")  # fmt: skip
            inflating += info.file_size
            compressed += info.compress_size
        total += info.file_size
    if _bomb(inflating, compressed):
        raise bad(f"its deflated entries declare {inflating} bytes from {compressed} compressed, more than {BOMB_RATIO} "
                  f"times as many: {fix}")  # fmt: skip
    if total > max_bytes:
        raise too_large(total) if too_large is not None else bad(f"entries add up to more than {max_bytes} bytes")


def _accepted(base: str, names: tuple[str, ...] | None) -> bool:
    """Whether an array name is among ``names`` (exact names or fnmatch patterns: ``model/*``);
    any name when ``names`` is None."""
    return names is None or any(fnmatch.fnmatchcase(base, n) for n in names)


def _parse(
    data: bytes, path, names: tuple[str, ...] | None = None, max_bytes: int = MAX_BYTES, arrays_too: bool = True
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise _bad(path, "it is not a zip (.npz) archive; it may be truncated or of another format")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise _bad(path, f"{len(infos)} entries (at most {MAX_ENTRIES})")
        filenames = [i.filename for i in infos]
        seen = set()
        for info in infos:
            base = info.filename[:-4] if info.filename.endswith(".npy") else None
            if base is None or not (base == META_KEY or (len(base) <= NAME_MAX and NAME_RE.match(base))):
                raise _bad(path, f"unexpected entry {info.filename!r} (expected <name>.npy)")
            if base != META_KEY and not _accepted(base, names):  # refused from the directory: never inflated
                raise _bad(path, f"unexpected entry {info.filename!r} (expected arrays named {or_list(names) if names else 'nothing'})")
            if info.filename in seen:
                raise _bad(path, f"duplicate entry {info.filename!r}")
            seen.add(info.filename)
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _bad(path, f"entry {info.filename!r} uses compression method {info.compress_type}")
        # the caller's bound on the entries' declared sizes, as for the file itself (it was always MAX_BYTES), and
        # the bombs among the entries to be inflated (read_meta inflates the metadata alone)
        check_zip_sizes(infos, lambda what: _bad(path, what), max_bytes,
                        inflated=lambda info: arrays_too or info.filename == META_KEY + ".npy")  # fmt: skip
        if META_KEY + ".npy" not in filenames:
            raise FileFormatError(f"{path}: expected an lstmkit file with metadata ({META_KEY}.npy), found none.")
        arrays: dict[str, np.ndarray] = {}
        meta_arr = None
        for info in infos:
            is_meta = info.filename == META_KEY + ".npy"
            if not (is_meta or arrays_too):  # read_meta: the metadata alone is inflated
                continue
            if is_meta and info.file_size > 4 * MAX_META_CHARS + 1024:
                raise _bad(path, f"metadata of {info.file_size} bytes (at most {4 * MAX_META_CHARS})")
            arr = _read_entry(zf, info, path, is_meta)
            if is_meta:
                meta_arr = arr
            else:
                arrays[info.filename[:-4]] = arr
    if meta_arr.ndim != 0:
        raise _bad(path, f"metadata of shape {meta_arr.shape}, expected a 0-d string")
    meta = json.loads(str(meta_arr), parse_constant=_reject_constant)
    if not isinstance(meta, dict):
        raise FileFormatError(f"{path}: expected a JSON object as metadata, got {type(meta).__name__}.")
    return arrays, meta


def load_arrays(
    path: str | os.PathLike, *, max_bytes: int = MAX_BYTES, names: Iterable[str] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`save_arrays`; raise :class:`FileFormatError` if it is not one.

    Returns ``(arrays, meta)``: a dict name -> array (C-contiguous copies) and the metadata dict.
    Nothing is executed and nothing is allocated before its size is checked (see module doc).
    ``names``: the array names the caller accepts, each exact or an fnmatch pattern (``model/*``,
    ``rnn.*``); an entry named otherwise is refused from the zip directory, naming it, before any
    entry is decompressed. None (the default) accepts any valid name.
    Only ``OSError`` from opening/reading the file itself passes through unchanged.
    """
    return _load(path, max_bytes, names, arrays_too=True)


def read_meta(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES, names: Iterable[str] | None = None) -> dict[str, Any]:
    """The metadata of a file written by :func:`save_arrays`, with the checks of :func:`load_arrays` on
    the zip directory (every entry's name against ``names``) and on the metadata; no array is
    decompressed, so a file is told apart (a model file, a checkpoint) at the cost of its metadata
    alone. Raises :class:`FileFormatError` as :func:`load_arrays` does."""
    return _load(path, max_bytes, names, arrays_too=False)[1]


#: what :func:`_open_regular` calls a path that is not a regular file, by its ``stat`` test
_NOT_REGULAR = (("S_ISCHR", "a character device"), ("S_ISBLK", "a block device"), ("S_ISFIFO", "a FIFO (named pipe)"),
                ("S_ISSOCK", "a socket"))  # fmt: skip


def _refuse_irregular(path, mode: int) -> None:
    """Refuse a path whose ``st_mode`` is not a regular file's: a directory as ``open`` does
    (IsADirectoryError), anything else (``/dev/zero``, a FIFO) as a FileFormatError naming what it is."""
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    what = next((said for test, said in _NOT_REGULAR if getattr(stat, test)(mode)), f"file type {stat.S_IFMT(mode):#o}")
    raise FileFormatError(f"{path}: expected a regular file, got {what}. Copy the model into a file and give its path.")


def _open_regular(path: Path):
    """``path`` opened for reading (binary), once it is known to be a regular file: ``stat`` first (a
    device or FIFO is never opened: opening one may block, or act), then opened without blocking
    (O_NONBLOCK: a FIFO put in its place in between does not hang the open) and checked again on the
    open file (``fstat``), which is what is read. OSError (missing file, permission) passes through."""
    _refuse_irregular(path, os.stat(path).st_mode)
    nonblock = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | nonblock | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0))
    try:
        _refuse_irregular(path, os.fstat(fd).st_mode)
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _load(path, max_bytes: int, names, arrays_too: bool):
    names = None if names is None else (names,) if isinstance(names, str) else tuple(names)
    path = Path(path)
    with _open_regular(path) as f:  # OSError (missing file, directory, permission) passes through
        size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise FileFormatError(f"{path}: expected a file of at most {max_bytes} bytes, got {size} bytes.")
        # what fstat gave, plus a byte to see a file that grew since (read(n) reserves n bytes up front: n =
        # max_bytes + 1 took 2 GiB of address space for every load, a MemoryError under a memory limit)
        data = f.read(size + 1)
    if len(data) != size:
        raise FileFormatError(f"{path}: expected a file of {size} bytes (its size when opened), got "
                              f"{f'more than {size}' if len(data) > size else len(data)} bytes: it changed while it was read. "
                              f"Load it again once it is written (lstmkit writes its files whole, by renaming).")
    try:
        return _parse(data, path, names, max_bytes, arrays_too)
    except FileFormatError:
        raise
    except RecursionError:
        raise _bad(path, "metadata nested too deeply") from None
    except Exception as exc:  # zipfile, zlib, struct, json, unicode, numpy header errors: all corruption
        raise _bad(path, f"{type(exc).__name__}: {exc}") from None
