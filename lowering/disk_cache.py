"""The persistent caches on disk: compiled executables (``lowering._jaxlib``) and traced
programs (``xform.api.trace_cache``), shared by every process of the user.

One directory per kind (``<root>/compile``, ``<root>/trace``), one file per entry, named
by the entry's key (a SHA-256 hex digest the caller computes from everything the entry
depends on).  A file is ``XFCACHE1``, the SHA-256 of the payload (32 bytes), the
payload's length (8 bytes, little-endian) and the payload.

* **Two processes at once.**  An entry is written to a temporary file in the same
  directory and renamed onto its name (``os.replace``, atomic on POSIX): a reader sees a
  whole entry or none.  Two writers of one key both write a whole file; the last rename
  wins, and both files are the same program.
* **Corruption** (a torn write after a power loss, a disk error, a file edited by hand)
  is found by the length and checksum: the entry is deleted and the caller compiles
  again.  A payload that passes the checksum but that the binding cannot load (another
  jaxlib build) is discarded by the caller the same way (``discard``).
* **Size bound.**  After each write the directory's entries are totalled; while they
  exceed ``max_bytes`` the least recently used are deleted (a hit touches its file's
  modification time).  An entry larger than the bound is not written.

Where: ``config.update("jax_compilation_cache_dir", path)`` (also ``JAX_COMPILATION_CACHE_DIR``),
by default ``$XDG_CACHE_HOME/xform`` or ``~/.cache/xform``; ``jax_enable_compilation_cache``
turns both caches off.  ``xform.core.config`` sets the module globals below.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import struct
import time

ENABLED = True
DIRECTORY: str | None = None           # None: default_root()
MAX_BYTES = 1 << 30                    # jax_compilation_cache_max_size (-1: no bound)
MIN_COMPILE_SECS = 1.0                 # jax_persistent_cache_min_compile_time_secs
MIN_ENTRY_BYTES = 0                    # jax_persistent_cache_min_entry_size_bytes

_MAGIC = b"XFCACHE1"
_HEAD = len(_MAGIC) + 32 + 8
stats = {"hits": 0, "misses": 0, "writes": 0, "corrupt": 0, "evicted": 0}


def default_root() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "xform")


def root() -> str:
    return DIRECTORY or default_root()


def key(*parts) -> str:
    """A SHA-256 hex digest of ``parts`` (bytes, or anything whose ``str`` is stable)."""
    h = hashlib.sha256()
    for p in parts:
        b = p if isinstance(p, bytes) else str(p).encode()
        h.update(struct.pack("<Q", len(b)))
        h.update(b)
    return h.hexdigest()


def _path(kind: str, k: str) -> str:
    return os.path.join(root(), kind, k[:2], k)


def get(kind: str, k: str) -> bytes | None:
    """The payload stored under ``k``, or None (absent, disabled, or found corrupted and
    deleted)."""
    if not ENABLED:
        return None
    path = _path(kind, k)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        stats["misses"] += 1
        return None
    payload = data[_HEAD:]
    ok = data[:len(_MAGIC)] == _MAGIC and len(data) >= _HEAD and \
        struct.unpack("<Q", data[_HEAD - 8:_HEAD])[0] == len(payload) and \
        hashlib.sha256(payload).digest() == data[len(_MAGIC):len(_MAGIC) + 32]
    if not ok:
        stats["corrupt"] += 1
        discard(kind, k)
        return None
    try:
        os.utime(path)          # recently used: evicted last
    except OSError:
        pass
    stats["hits"] += 1
    return payload


def put(kind: str, k: str, payload: bytes) -> bool:
    """Store ``payload`` under ``k`` (atomically); False when not stored (disabled, too
    small or too large for the bounds, or the directory cannot be written)."""
    if not ENABLED or len(payload) < MIN_ENTRY_BYTES or \
            (MAX_BYTES >= 0 and len(payload) + _HEAD > MAX_BYTES):
        return False
    path = _path(kind, k)
    directory = os.path.dirname(path)
    tmp = os.path.join(directory, f".tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.makedirs(directory, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(_MAGIC + hashlib.sha256(payload).digest()
                    + struct.pack("<Q", len(payload)) + payload)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    stats["writes"] += 1
    if MAX_BYTES >= 0:
        _evict(kind)
    return True


def discard(kind: str, k: str) -> None:
    try:
        os.unlink(_path(kind, k))
    except OSError:
        pass


def _evict(kind: str) -> None:
    """Delete the least recently used entries of ``kind`` until the total fits."""
    entries, total = [], 0
    base = os.path.join(root(), kind)
    try:
        for sub in os.scandir(base):
            if not sub.is_dir():
                continue
            for e in os.scandir(sub.path):
                if e.name.startswith(".tmp-"):   # a writer killed midway, an hour ago
                    try:
                        if e.stat().st_mtime < time.time() - 3600:
                            os.unlink(e.path)
                    except OSError:
                        pass
                    continue
                try:
                    st = e.stat()
                except OSError:      # removed by another process meanwhile
                    continue
                entries.append((st.st_mtime, st.st_size, e.path))
                total += st.st_size
    except OSError:
        return
    entries.sort()
    for _, size, path in entries:
        if total <= MAX_BYTES:
            break
        try:
            os.unlink(path)
            stats["evicted"] += 1
        except OSError:
            pass
        total -= size


def clear(kind: str | None = None) -> None:
    """Delete every entry (of ``kind``, or of both kinds)."""
    import shutil
    for k in ([kind] if kind else ["compile", "trace"]):
        shutil.rmtree(os.path.join(root(), k), ignore_errors=True)
