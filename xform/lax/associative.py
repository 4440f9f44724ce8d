"""``associative_scan``: all prefix combinations of an associative ``fn`` in O(log n)
sequential depth, as a composite of slices, concatenations and ``fn`` itself.

The recursion: combine neighbouring pairs (positions 0+1, 2+3, ...), scan those (which gives
the prefixes ending at every odd position), then combine each odd prefix with the next
even element to get the prefixes ending at even positions, and interleave the two.  Each
level halves the length, so ``fn`` is traced about 2 log2(n) times, each on whole arrays.
"""
from __future__ import annotations

from ..core import where
from ..core.pytree import tree_flatten, tree_unflatten
from . import ops as lax


def associative_scan(fn, elems, reverse: bool = False, axis: int = 0):
    """``[e0, fn(e0, e1), fn(fn(e0, e1), e2), ...]`` along ``axis`` of every leaf of
    ``elems`` (a pytree whose leaves share that axis's length), for an associative ``fn``
    of two such pytrees (as ``jax.lax.associative_scan``; ``reverse`` scans from the end)."""
    if not callable(fn):
        raise TypeError(f"associative_scan: fn must be callable, got {type(fn).__name__}"
                        f"{where()}")
    leaves, tree = tree_flatten(elems)
    if not leaves:
        raise ValueError(f"associative_scan: elems has no arrays{where()}")
    ndim = lax.aval(leaves[0]).ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"associative_scan: axis {axis} is out of range for arrays of "
                         f"rank {ndim}{where()}")
    axis = axis % ndim
    lengths = {lax.aval(x).shape[axis] for x in leaves}
    if len(lengths) != 1:
        raise ValueError(f"associative_scan: every leaf of elems needs the same length along "
                         f"axis {axis}, got {sorted(lengths)}{where()}")

    def combine(a, b):
        out = fn(tree_unflatten(tree, a), tree_unflatten(tree, b))
        out_leaves, out_tree = tree_flatten(out)
        if out_tree != tree:
            raise TypeError(f"associative_scan: fn must return the structure of its inputs "
                            f"{tree}, got {out_tree}{where()}")
        return out_leaves

    def part(xs, start, stop, step=1):
        return [lax.slice_in_dim(x, start, stop, step, axis) for x in xs]

    def interleave(even, odd):
        # even has ceil(k/2) entries, odd floor(k/2): pad odd, pair them up, then trim
        k = lax.aval(even[0]).shape[axis] + lax.aval(odd[0]).shape[axis]
        out = []
        for e, o in zip(even, odd):
            a = lax.aval(e)
            if lax.aval(o).shape[axis] < a.shape[axis]:
                cfg = [(0, 0, 0)] * a.ndim
                cfg[axis] = (0, 1, 0)
                o = lax.pad(o, lax.weak_literal(0, a.dtype), cfg)
            both = lax.concatenate([lax.expand_dims(e, (axis + 1,)),
                                    lax.expand_dims(o, (axis + 1,))], axis + 1)
            shape = a.shape[:axis] + (2 * a.shape[axis],) + a.shape[axis + 1:]
            out.append(lax.slice_in_dim(lax.reshape(both, shape), 0, k, 1, axis))
        return out

    def scan(xs):
        k = lax.aval(xs[0]).shape[axis]
        if k < 2:
            return xs
        odd = scan(combine(part(xs, 0, k - 1, 2), part(xs, 1, k, 2)))
        rest = part(xs, 2, k, 2)   # the even positions after 0
        prev = part(odd, 0, lax.aval(odd[0]).shape[axis] - 1) if k % 2 == 0 else odd
        even = combine(prev, rest) if lax.aval(rest[0]).shape[axis] else rest
        even = [lax.concatenate([first, ev], axis) for first, ev in zip(part(xs, 0, 1), even)]
        return interleave(even, odd)

    if reverse:
        leaves = [lax.rev(x, (axis,)) for x in leaves]
    out = scan(leaves)
    if reverse:
        out = [lax.rev(x, (axis,)) for x in out]
    return tree_unflatten(tree, out)
