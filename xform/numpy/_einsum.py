"""``einsum`` as a left-to-right chain of ``dot_general`` contractions."""
from __future__ import annotations

import string

from .. import lax
from ..core import where
from ._core import asarray, promote_dtypes
from ._linalg_ops import diagonal


def _parse(subscripts: str, operands):
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: the subscripts must be a str such as 'ij,jk->ik', got "
                        f"{type(subscripts).__name__} {subscripts!r:.40}{where()}")
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        ins, out = subscripts.split("->")
    else:
        ins, out = subscripts, None
    terms = ins.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: {len(terms)} operand terms in {subscripts!r} but "
                         f"{len(operands)} operands given{where()}")
    # ellipsis: replace with unused letters
    free = [c for c in string.ascii_letters if c not in subscripts]
    n_ell = max((op.ndim - (len(t) - 3) for t, op in zip(terms, operands) if "..." in t),
                default=0)
    ell = "".join(free[:n_ell])
    new_terms = []
    for t, op in zip(terms, operands):
        if "..." in t:
            k = op.ndim - (len(t) - 3)
            t = t.replace("...", ell[n_ell - k:])
        if len(t) != op.ndim:
            raise ValueError(f"einsum: term {t!r} has {len(t)} indices but the operand has "
                             f"shape {op.shape}{where()}")
        new_terms.append(t)
    if out is None:
        counts = {}
        for t in new_terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c in counts if counts[c] == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return new_terms, out


def _diagonal(x, term):
    """Take the diagonal for letters repeated within one term."""
    while True:
        dup = next((c for c in term if term.count(c) > 1), None)
        if dup is None:
            return x, term
        i = term.index(dup)
        j = term.index(dup, i + 1)
        x = diagonal(x, 0, i, j)  # removes i, j; appends the diagonal last
        term = "".join(c for k, c in enumerate(term) if k not in (i, j)) + dup


def einsum(subscripts, *operands, optimize=None, precision=None, preferred_element_type=None):
    operands = [asarray(o) for o in operands]
    operands = list(promote_dtypes(*operands)) if len(operands) > 1 else operands
    terms, out = _parse(subscripts, operands)
    ops = []
    for x, t in zip(operands, terms):
        x, t = _diagonal(x, t)
        ops.append((x, t))

    def needed_later(k, c):
        return c in out or any(c in t for _, t in ops[k:])

    def sum_unused(x, t, k):
        axes = [i for i, c in enumerate(t) if not needed_later(k, c)]
        if axes:
            x = lax.reduce_sum(x, axes)
            t = "".join(c for i, c in enumerate(t) if i not in axes)
        return x, t

    x, t = sum_unused(*ops[0], 1)
    for k in range(1, len(ops)):
        y, u = ops[k]
        # letters only in y and not needed later can be summed first
        only_y = [i for i, c in enumerate(u) if c not in t and not needed_later(k + 1, c)]
        if only_y:
            y = lax.reduce_sum(y, only_y)
            u = "".join(c for i, c in enumerate(u) if i not in only_y)
        shared = [c for c in t if c in u]
        contract = [c for c in shared if not needed_later(k + 1, c)]
        batch = [c for c in shared if c not in contract]
        for c in shared:
            if x.shape[t.index(c)] != y.shape[u.index(c)]:
                raise ValueError(f"einsum: index {c!r} has sizes {x.shape[t.index(c)]} and "
                                 f"{y.shape[u.index(c)]} in {subscripts!r}{where()}")
        dn = ((tuple(t.index(c) for c in contract), tuple(u.index(c) for c in contract)),
              (tuple(t.index(c) for c in batch), tuple(u.index(c) for c in batch)))
        x = lax.dot_general(x, y, dn, precision=precision,
                            preferred_element_type=preferred_element_type)
        t = "".join(batch) + "".join(c for c in t if c not in shared) + \
            "".join(c for c in u if c not in shared)
        x, t = sum_unused(x, t, k + 1)
    x, t = sum_unused(x, t, len(ops))
    if sorted(t) != sorted(out):
        raise ValueError(f"einsum: output {out!r} does not match the operands' indices{where()}")
    return lax.transpose(x, [t.index(c) for c in out])
