"""The one cache policy: a bounded LRU for every cache keyed by a program or a signature.

Every such cache in xform (shape rules per op signature, eager executables per op
signature, interned sub-jaxprs, ``jit``'s traced signatures, scalar device buffers,
...) is an ``LRU``.  All of them share one size knob: at most ``limit()`` entries each,
``XFORM_CACHE_SIZE`` in the environment (read once, at import) or
``xform.config.update("xform_cache_size", n)`` at run time (default 8192).

Hot paths (one lookup per traced or eager op) read ``cache.data``, a plain ``dict``,
and pay nothing beyond that dict lookup on a hit; ``put`` does the bookkeeping on a
miss.  Such hits do not refresh an entry's age, so for them the order is that of
insertion (FIFO); ``get`` is the LRU lookup, which moves a hit to the young end, for
caches where a hit is rare enough to afford it (``jit`` signatures, interned programs).

When a ``put`` takes a cache past the limit, the oldest quarter of the entries is
dropped in one sweep: eviction costs O(1) per insertion amortised, and a dict never
accumulates the deleted slots that evicting one oldest key per insertion leaves at its
front (``next(iter(d))`` would then scan them all, each time).
"""
from __future__ import annotations

import os
import weakref
from itertools import islice

_DEFAULT = 8192
_limit = max(int(os.environ.get("XFORM_CACHE_SIZE") or _DEFAULT), 1)
_caches: "weakref.WeakSet[LRU]" = weakref.WeakSet()   # for set_limit and clear_all


def limit() -> int:
    """The most entries any one cache holds."""
    return _limit


def set_limit(n: int) -> None:
    """Set the size knob; caches above the new limit shrink now."""
    global _limit
    n = int(n)
    if n < 1:
        raise ValueError(f"the cache size must be at least 1, got {n}")
    _limit = n
    for c in list(_caches):
        c._trim()


def clear_all() -> None:
    """Empty every cache (as ``jax.clear_caches``)."""
    for c in list(_caches):
        c.clear()


class LRU:
    """A bounded cache; ``data`` is the plain dict behind it (see the module docstring)."""

    __slots__ = ("data", "name", "__weakref__")

    def __init__(self, name: str):
        self.data: dict = {}
        self.name = name
        _caches.add(self)

    def get(self, key, default=None):
        """The value for ``key`` (``default`` if none), made the youngest entry.
        Raises ``TypeError`` for an unhashable key, as a dict does."""
        data = self.data
        try:
            value = data.pop(key)
        except KeyError:
            return default
        data[key] = value
        return value

    def put(self, key, value):
        """Store ``value`` (a new key is the youngest entry); returns it."""
        data = self.data
        data[key] = value
        if len(data) > _limit:
            self._trim()
        return value

    def _trim(self):
        data, n = self.data, _limit
        if len(data) > n:
            # drop the oldest quarter of the limit (and whatever more is over it)
            drop = len(data) - n + max(n // 4, 1)
            pop = data.pop
            for k in list(islice(data, min(drop, len(data)))):
                pop(k, None)   # (None: another thread may have evicted it already)

    def clear(self):
        self.data.clear()

    def __len__(self):
        return len(self.data)

    def __contains__(self, key):
        return key in self.data

    def __repr__(self):
        return f"LRU({self.name!r}, {len(self.data)}/{_limit})"


def memoize(name: str):
    """``@memoize("what")``: cache a function of hashable positional arguments in an
    ``LRU`` (the decorated function gets ``.cache`` and ``.cache_clear()``)."""
    def wrap(fn):
        cache = LRU(name)
        data = cache.data
        put = cache.put

        def memoized(*args):
            try:
                return data[args]
            except KeyError:
                return put(args, fn(*args))
        memoized.__name__ = fn.__name__
        memoized.__qualname__ = fn.__qualname__
        memoized.__doc__ = fn.__doc__
        memoized.__wrapped__ = fn
        memoized.cache = cache
        memoized.cache_clear = cache.clear
        return memoized
    return wrap
