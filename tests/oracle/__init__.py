"""Comparing xform's results with JAX's (the oracle), shared by the test modules.

``tests/`` is on ``sys.path`` during a run (pytest puts the directory of the root
``conftest.py`` there), so any test module can ``from oracle import assert_same``.
"""
import jax
import ml_dtypes
import numpy as np

import xform

BF16 = np.dtype(ml_dtypes.bfloat16)
TOL = {np.dtype(np.float16): 2e-2, BF16: 5e-2, np.dtype(np.float32): 2e-5,
       np.dtype(np.complex64): 2e-5, np.dtype(np.float64): 1e-12}


# --- comparing with the oracle ------------------------------------------------------------

def assert_same(got, want, where=""):
    """Same pytree structure, and per leaf the same shape, dtype, weak type and values."""
    got_l, got_t = jax.tree_util.tree_flatten(got)
    want_l, want_t = jax.tree_util.tree_flatten(want)
    assert len(got_l) == len(want_l), f"{where}: {len(got_l)} outputs, jax gives {len(want_l)}"
    for g, w in zip(got_l, want_l):
        assert isinstance(g, xform.Array), f"{where}: got a {type(g).__name__}, not an Array"
        assert g.shape == w.shape, f"{where}: shape {g.shape}, jax gives {w.shape}"
        assert g.dtype == w.dtype, f"{where}: dtype {g.dtype}, jax gives {w.dtype}"
        assert g.weak_type == w.weak_type, \
            f"{where}: weak_type {g.weak_type}, jax gives {w.weak_type}"
        tol = TOL.get(np.dtype(w.dtype), 0)
        gv, wv = np.asarray(g), np.asarray(w)
        if w.dtype == BF16:
            gv, wv = gv.astype(np.float32), wv.astype(np.float32)
        np.testing.assert_allclose(gv, wv, rtol=tol, atol=tol, err_msg=where)


def close(a, b, tol):
    """Same number of leaves, and each xform leaf within ``tol`` (relative and absolute)
    of the JAX leaf."""
    la = xform.tree_util.tree_leaves(a)
    lb = jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb), (a, b)
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


def assert_exact(got, want, where="", bf16_bits=False):
    """Same leaves, shapes, dtypes and exactly equal values.  bfloat16 leaves compare as
    float32 values, or bit for bit with ``bf16_bits`` (random bits must be JAX's)."""
    got_l, _ = jax.tree_util.tree_flatten(got)
    want_l, _ = jax.tree_util.tree_flatten(want)
    assert len(got_l) == len(want_l), where
    for g, w in zip(got_l, want_l):
        assert isinstance(g, xform.Array), f"{where}: got a {type(g).__name__}"
        assert g.shape == w.shape, f"{where}: shape {g.shape}, jax gives {w.shape}"
        assert g.dtype == w.dtype, f"{where}: dtype {g.dtype}, jax gives {w.dtype}"
        gv, wv = np.asarray(g), np.asarray(w)
        if gv.dtype == BF16:
            gv, wv = (gv.view(np.uint16), wv.view(np.uint16)) if bf16_bits else \
                (gv.astype(np.float32), wv.astype(np.float32))
        np.testing.assert_array_equal(gv, wv, err_msg=where)
