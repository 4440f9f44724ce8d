"""einsum's calling forms and ``optimize=`` values, and einsum_path, against JAX."""
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from oracle import assert_same

rng = np.random.default_rng(0)
X = rng.integers(-5, 5, (2, 3)).astype(np.int32)
Y = rng.integers(-5, 5, (3, 100)).astype(np.int32)
Z = rng.integers(-5, 5, (100, 5)).astype(np.int32)
F = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (4, 5), (5, 6), (6, 2)]]

OPTIMIZE = ["auto", "optimal", "greedy", "eager", "opportunistic", "dp", "branch-all",
            "branch-2", "branch-1", "auto-hq", True, False, None, [(1, 2), (0, 1)],
            [(0, 1), (0, 1)], [(0, 1, 2)]]


@pytest.mark.parametrize("optimize", OPTIMIZE, ids=str)
def test_einsum_path_matches_jax(optimize):
    pj, ij = jnp.einsum_path("ij,jk,kl", X, Y, Z, optimize=optimize)
    px, ix = xnp.einsum_path("ij,jk,kl", X, Y, Z, optimize=optimize)
    assert px == pj and isinstance(px, list)
    assert str(ix) == str(ij)
    # JAX's einsum refuses a step of 3 operands; xform contracts them left to right
    jax_opt = "auto" if optimize == [(0, 1, 2)] else optimize
    assert_same(xnp.einsum("ij,jk,kl", X, Y, Z, optimize=optimize),
                jnp.einsum("ij,jk,kl", X, Y, Z, optimize=jax_opt), str(optimize))


@pytest.mark.parametrize("optimize", ["auto", "greedy", False, True], ids=str)
def test_einsum_four_operands_jit(optimize):
    want = jnp.einsum("ij,jk,kl,lm->mi", *F, optimize=optimize)
    f = xform.jit(lambda *a: xnp.einsum("ij,jk,kl,lm->mi", *a, optimize=optimize))
    assert_same(f(*F), want, str(optimize))
    # a path computed by einsum_path is accepted by einsum
    path, _ = xnp.einsum_path("ij,jk,kl,lm->mi", *F, optimize=optimize)
    assert_same(xnp.einsum("ij,jk,kl,lm->mi", *F, optimize=path), want, "explicit path")


@pytest.mark.parametrize("args", [
    lambda a, b, c: (a, (0, 1), b, (1, 2), c, (2, 3), (0, 3)),
    lambda a, b, c: (a, [0, 1], b, [1, 2], c, [2, 3]),
    lambda a, b, c: (a, (0, 1), (1, 0)),
    lambda a, b, c: (a, (Ellipsis, 0), (Ellipsis,)),
    lambda a, b, c: (b, ("x", "y"), c, ("y", "z")),
], ids=["explicit", "implicit", "transpose", "ellipsis", "str-labels"])
def test_einsum_interleaved(args):
    assert_same(xnp.einsum(*args(X, Y, Z)), jnp.einsum(*args(X, Y, Z)))
    pj, ij = jnp.einsum_path(*args(X, Y, Z))
    px, ix = xnp.einsum_path(*args(X, Y, Z))
    assert px == pj and str(ix) == str(ij)


def test_einsum_weak_and_preferred_type():
    assert_same(xnp.einsum(",", 2.0, 3.0), jnp.einsum(",", 2.0, 3.0))
    i8 = X.astype(np.int8)
    assert_same(xnp.einsum("ij,jk->ik", i8, Y.astype(np.int8), preferred_element_type=np.int32),
                jnp.einsum("ij,jk->ik", i8, Y.astype(np.int8), preferred_element_type=jnp.int32))
    assert_same(xnp.einsum("ij->", i8, preferred_element_type=np.int32),
                jnp.einsum("ij->", i8, preferred_element_type=jnp.int32))


@pytest.mark.parametrize("optimize,err", [
    ("bogus", ValueError), (3, TypeError), ([(0, 5)], ValueError), ([(0, 1)], ValueError),
])
def test_einsum_bad_optimize(optimize, err):
    with pytest.raises(Exception):  # JAX raises too (KeyError/TypeError/IndexError/ValueError)
        jnp.einsum("ij,jk,kl", X, Y, Z, optimize=optimize)
    with pytest.raises(err, match="einsum: .*(optimize|path)"):
        xnp.einsum("ij,jk,kl", X, Y, Z, optimize=optimize)
    with pytest.raises(err, match="einsum_path: "):
        xnp.einsum_path("ij,jk,kl", X, Y, Z, optimize=optimize)


def test_einsum_unsupported_arguments():
    with pytest.raises(NotImplementedError, match="out="):
        xnp.einsum("ij->ji", X, out=np.zeros((3, 2), np.int32))
    with pytest.raises(ValueError, match="einsum: .*'j'"):
        xnp.einsum("ij,jk", X, Z)


@pytest.mark.parametrize("spec,shapes", [
    ("ij,ij->ij", [(1, 3), (2, 3)]), ("...j,...j->...", [(1, 3), (2, 3)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]), ("ij,jk,kl->il", [(2, 3), (1, 4), (4, 5)]),
])
def test_einsum_size_one_axes_broadcast(spec, shapes):
    ops = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    want = jnp.einsum(spec, *ops)
    got = xnp.einsum(spec, *ops)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)
    got = xform.jit(lambda *a: xnp.einsum(spec, *a))(*ops)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)
