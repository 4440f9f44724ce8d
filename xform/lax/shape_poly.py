"""Symbolic dimensions (primitives/shape_poly.py) as values in a program."""
from __future__ import annotations

import numpy as np

from primitives import dtypes
from primitives.shape_poly import DimExpr, is_symbolic

from . import ops as lax


def dim_as_value(d):
    """A shape entry as an integer value: ``d`` itself when it is an int; for a symbolic
    dimension (primitives/shape_poly.py) a weakly typed int scalar computed in the program
    from the shapes: each variable is the sum of ones over an axis of that size, which
    XLA folds to a constant once shape refinement has made the shapes static."""
    if not is_symbolic(d):
        return d
    dt = dtypes.canonicalize(np.int64)
    one = lax.weak_literal(1, dt)
    total = None
    for mono, coeff in d.terms():
        term = None if coeff == 1 and mono else lax.weak_literal(coeff, dt)
        for v, p in mono:
            size = lax.reduce_sum(lax.broadcast_in_dim(one, (DimExpr.var(v),), ()), (0,))
            for _ in range(p):
                term = size if term is None else lax.mul(term, size)
        total = term if total is None else lax.add(total, term)
    return lax.convert_element_type(total, dt, weak_type=True)
