"""``einsum`` and ``einsum_path``: the contraction order is opt_einsum's (as JAX's), each
step a chain of ``dot_general`` contractions."""
from __future__ import annotations

import functools
import string

import opt_einsum

from .. import lax
from ..core import where
from ._core import asarray, promote_dtypes
from ._linalg_ops import diagonal


class _Unoptimized(opt_einsum.paths.PathOptimizer):
    """``optimize=False``: contract the operands left to right, as JAX."""

    def __call__(self, inputs, output, size_dict, memory_limit=None):
        return [(0, 1)] * (len(inputs) - 1)


_UNOPTIMIZED = _Unoptimized()


def _interleaved(name, args):
    """``(x, [0, 1], y, [1, 2], [0, 2])`` -> ``("ab,bc->ac", (x, y))``, as opt_einsum."""
    try:
        return opt_einsum.parser.convert_interleaved_input(args)
    except (TypeError, KeyError, ValueError) as e:
        raise TypeError(f"{name}: the interleaved form is (array, axes, array, axes, ..., "
                        f"[output axes]) with hashable, comparable axis labels: {e}{where()}") \
            from None


def _split_args(name, subscripts, operands):
    if isinstance(subscripts, str):
        return subscripts, list(operands)
    if hasattr(subscripts, "shape") or hasattr(subscripts, "__array__") or \
            isinstance(subscripts, (int, float, complex)):
        spec, ops = _interleaved(name, (subscripts, *operands))
        return spec, list(ops)
    raise TypeError(f"{name}: the subscripts must be a str such as 'ij,jk->ik' (or the "
                    f"interleaved form x, [0, 1], y, [1, 2]), got {type(subscripts).__name__} "
                    f"{subscripts!r:.40}{where()}")


def _optimize_arg(name, optimize):
    """The ``optimize=`` values JAX accepts, as opt_einsum takes them."""
    if optimize is True:
        return "optimal"
    if optimize is False:
        return _UNOPTIMIZED
    if optimize is None:  # opt_einsum's default
        return "auto"
    if isinstance(optimize, str):
        if optimize.lower() not in opt_einsum.paths._PATH_OPTIONS:
            raise ValueError(f"{name}: optimize={optimize!r} is not a path optimizer; valid "
                             f"strings are {sorted(opt_einsum.paths._PATH_OPTIONS)}, or True, "
                             f"False, or an explicit path such as [(0, 1), (0, 1)]{where()}")
        return optimize
    if isinstance(optimize, opt_einsum.paths.PathOptimizer):
        return optimize
    if isinstance(optimize, (list, tuple)):
        try:
            path = [tuple(int(i) for i in step) for step in optimize]
        except (TypeError, ValueError):
            raise TypeError(f"{name}: an explicit path (optimize=) is a list of tuples of "
                            f"operand positions such as [(0, 1), (0, 1)], got "
                            f"{optimize!r:.60}{where()}") from None
        return path
    raise TypeError(f"{name}: optimize must be a bool, a path optimizer name such as 'greedy' "
                    f"or 'optimal', an opt_einsum PathOptimizer, or an explicit path, got "
                    f"{type(optimize).__name__} {optimize!r:.40}{where()}")


def _check_path(name, path, n):
    count = n
    for step in path:
        if len(step) == 0 or len(set(step)) != len(step) or \
                any(not 0 <= i < count for i in step):
            raise ValueError(f"{name}: the path step {step} names operands outside 0..{count - 1} "
                             f"(or twice); each step's positions index the operands left after "
                             f"the previous steps{where()}")
        count -= len(step) - 1
    if count != 1 and n > 0:
        raise ValueError(f"{name}: the path {path} leaves {count} operands; it must contract "
                         f"all {n} into one{where()}")


@functools.lru_cache(maxsize=512)
def _cached_path(subscripts, shapes, optimize):
    return opt_einsum.contract_path(subscripts, *shapes, shapes=True, optimize=optimize,
                                    use_blas=True)


def _contract_path(name, subscripts, shapes, optimize):
    opt = _optimize_arg(name, optimize)
    if isinstance(opt, list):
        _check_path(name, opt, len(shapes))
    try:
        if isinstance(opt, str):
            return _cached_path(subscripts, tuple(shapes), opt)
        return opt_einsum.contract_path(subscripts, *shapes, shapes=True, optimize=opt,
                                        use_blas=True)
    except ValueError as e:
        raise ValueError(f"{name}: {e} (subscripts {subscripts!r}, shapes "
                         f"{', '.join(str(tuple(s)) for s in shapes)}){where()}") from None


def einsum_path(subscripts, /, *operands, optimize="auto"):
    """The contraction order ``einsum`` would use, without computing it: ``(path, info)``,
    the path a list of tuples of operand positions (pass it as ``einsum(...,
    optimize=path)``) and ``info`` opt_einsum's printable summary, as JAX's."""
    spec, ops = _split_args("einsum_path", subscripts, operands)
    shapes = [tuple(int(d) for d in getattr(o, "shape", None) or asarray(o).shape)
              for o in ops]
    return _contract_path("einsum_path", spec, shapes, optimize)


def _parse(subscripts: str, operands):
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


def einsum(subscripts, /, *operands, out=None, optimize="auto", precision=None,
           preferred_element_type=None, _dot_general=None, out_sharding=None):
    if out is not None:
        raise NotImplementedError("einsum: the out= argument is not supported (arrays are "
                                  "immutable); use the returned array")
    if out_sharding is not None:
        raise NotImplementedError("einsum: out_sharding= is not supported; use "
                                  "lax.with_sharding_constraint on the result")
    dot_general = lax.dot_general if _dot_general is None else _dot_general
    spec, operands = _split_args("einsum", subscripts, operands)
    operands = [asarray(o) for o in operands]
    operands = list(promote_dtypes(*operands)) if len(operands) > 1 else operands
    terms, out = _parse(spec, operands)
    path, _ = _contract_path("einsum", spec, [o.shape for o in operands], optimize)
    ops = [_diagonal(x, t) for x, t in zip(operands, terms)]
    sizes = {}
    for x, t in ops:
        for n, c in zip(x.shape, t):
            sizes[c] = max(sizes.get(c, 1), n)
    for k, (x, t) in enumerate(ops):   # a size-1 axis broadcasts: the value does not vary
        ones = [i for i, c in enumerate(t) if x.shape[i] == 1 and sizes[c] > 1]
        if ones:
            x = lax.reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in ones))
            ops[k] = (x, "".join(c for i, c in enumerate(t) if i not in ones))

    def reduce_sum(x, axes):
        if preferred_element_type is not None:
            x = lax.convert_element_type(x, preferred_element_type)
        return lax.reduce_sum(x, axes)

    def contract_group(group, later):
        """Contract the operands of one path step left to right; ``later`` holds the letters
        the remaining operands and the output still need."""
        def needed(k, c):
            return c in later or any(c in u for _, u in group[k:])

        def sum_unused(x, t, k):
            axes = [i for i, c in enumerate(t) if not needed(k, c)]
            if axes:
                x = reduce_sum(x, axes)
                t = "".join(c for i, c in enumerate(t) if i not in axes)
            return x, t

        x, t = sum_unused(*group[0], 1)
        for k in range(1, len(group)):
            y, u = group[k]
            # letters only in y and not needed later can be summed first
            only_y = [i for i, c in enumerate(u) if c not in t and not needed(k + 1, c)]
            if only_y:
                y = reduce_sum(y, only_y)
                u = "".join(c for i, c in enumerate(u) if i not in only_y)
            shared = [c for c in t if c in u]
            contract = [c for c in shared if not needed(k + 1, c)]
            batch = [c for c in shared if c not in contract]
            for c in shared:
                if x.shape[t.index(c)] != y.shape[u.index(c)]:
                    raise ValueError(f"einsum: index {c!r} has sizes {x.shape[t.index(c)]} and "
                                     f"{y.shape[u.index(c)]} in {spec!r}{where()}")
            dn = ((tuple(t.index(c) for c in contract), tuple(u.index(c) for c in contract)),
                  (tuple(t.index(c) for c in batch), tuple(u.index(c) for c in batch)))
            x = dot_general(x, y, dn, precision=precision,
                            preferred_element_type=preferred_element_type)
            t = "".join(batch) + "".join(c for c in t if c not in shared) + \
                "".join(c for c in u if c not in shared)
            x, t = sum_unused(x, t, k + 1)
        return x, t

    for step in path:
        group = [ops[i] for i in sorted(step)]
        ops = [o for i, o in enumerate(ops) if i not in step]
        later = out + "".join(u for _, u in ops)
        ops.append(contract_group(group, later))
    x, t = contract_group(ops, out)
    if sorted(t) != sorted(out):
        raise ValueError(f"einsum: output {out!r} does not match the operands' indices{where()}")
    if preferred_element_type is not None:
        x = lax.convert_element_type(x, preferred_element_type)
    return lax.transpose(x, [t.index(c) for c in out])
