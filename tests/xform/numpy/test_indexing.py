"""Indexing (``x[idx]``) and functional updates (``x.at[idx].op(v)``) against JAX."""
import jax.numpy as jnp_ref
import numpy as np
import pytest

import xform
import xform.numpy as xnp

X = np.arange(60, dtype=np.float32).reshape(3, 4, 5)


def _same(got, want, where):
    assert got.shape == want.shape, f"{where}: shape {got.shape}, jax gives {want.shape}"
    assert got.dtype == want.dtype, f"{where}: dtype {got.dtype}, jax gives {want.dtype}"
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=where)


def _np(idx):
    """The same index with xform arrays in place of NumPy arrays."""
    if isinstance(idx, tuple):
        return tuple(_np(i) for i in idx)
    return xnp.asarray(idx) if isinstance(idx, np.ndarray) else idx


BASIC = [
    0, -1, 2, (1, 2), (-1, -2, -3), (0, slice(None), 4),
    slice(1, 3), slice(None, None, 2), slice(None, None, -1), slice(-2, None),
    slice(3, 0, -2), slice(5, -10, -1), slice(10, 20), slice(2, 1), (slice(None), slice(1, None, 2)),
    (Ellipsis, 0), (Ellipsis, slice(None, None, -2)), (0, Ellipsis, 1), Ellipsis,
    None, (None, 0), (slice(None), None, 1), (Ellipsis, None), (1, None, Ellipsis, None),
    (), (slice(-100, 100),),
]
ADVANCED = [
    np.array([0, 2]), np.array([-1, 0, -3]), np.array([[0, 1], [2, 2]]),
    (np.array([0, 2]), np.array([1, 3])), (np.array([0, 2]), slice(None), np.array([1, 4])),
    (slice(None), np.array([3, 0])), (slice(None), np.array([[1], [2]]), np.array([0, 4])),
    (1, np.array([0, 2])), (np.array([0, 1]), 2, np.array([1, 3])),
    (Ellipsis, np.array([0, -1])), (None, np.array([1, 2])), (np.array(1), slice(None)),
    (slice(1, None), np.array([0, 1]), slice(None, None, -1)), 
    (np.array([0, 2], np.uint8),), (np.array([0, 1], np.int8), np.array([1], np.int64)),
    (slice(None), [0, 2]), True, False, (0, np.array(True)), (Ellipsis, False, 1),
]
MASKS = [
    X[..., 0] > 20, X[:, 0, 0] > 20, X > 30, (slice(None), X[0, :, 0] > 4),
    np.array([True, False, True]), (np.array([True, False, True]), 0), np.array(True),
    (np.array(False), 0),
]


@pytest.mark.parametrize("idx", BASIC + ADVANCED, ids=repr)
def test_getitem_matches_jax(idx):
    want = jnp_ref.asarray(X)[idx]
    _same(xnp.asarray(X)[_np(idx)], want, f"x[{idx!r}]")
    _same(xform.jit(lambda x: x[_np(idx)])(X), want, f"jit x[{idx!r}]")


@pytest.mark.parametrize("idx", MASKS, ids=lambda m: f"mask{np.shape(m) if isinstance(m, np.ndarray) else len(m)}")
def test_boolean_mask_eager(idx):
    _same(xnp.asarray(X)[_np(idx)], jnp_ref.asarray(X)[idx], "mask")


def test_boolean_mask_under_jit_is_a_clear_error():
    with pytest.raises(IndexError, match="(?s)boolean.*jit.*where"):
        xform.jit(lambda x: x[x > 3])(X)


@pytest.mark.parametrize("idx", [3, -4, (0, 4), (0, 0, 5), (Ellipsis, -6)], ids=repr)
def test_static_out_of_bounds_int_raises(idx):
    """A deliberate difference: JAX clamps a static out-of-bounds int; xform raises,
    as NumPy does (a traced index still clamps, see below)."""
    with pytest.raises(IndexError, match="out of bounds"):
        xnp.asarray(X)[idx]


def test_non_tuple_sequence_index_is_a_type_error():
    with pytest.raises(TypeError):
        jnp_ref.asarray(X)[[0, 2]]
    with pytest.raises(TypeError, match="non-tuple sequence"):
        xnp.asarray(X)[[0, 2]]


def test_too_many_indices_and_bad_index_types():
    with pytest.raises(IndexError, match="too many indices"):
        xnp.asarray(X)[0, 0, 0, 0]
    with pytest.raises(IndexError):
        xnp.asarray(X)[xnp.asarray([0.5])]
    with pytest.raises(IndexError, match="single ellipsis"):
        xnp.asarray(X)[..., 0, ...]


@pytest.mark.parametrize("i", [0, 2, -1, -3, 5, -7])
def test_traced_scalar_index_under_jit(i):
    """A traced index clamps like JAX's dynamic indexing; negative indices wrap."""
    want = jnp_ref.asarray(X)[jnp_ref.asarray(i)]
    got = xform.jit(lambda x, k: x[k])(X, xnp.asarray(i))
    _same(got, want, f"jit x[traced {i}]")
    got = xform.jit(lambda x, k: x[1, k])(X, xnp.asarray(i))
    _same(got, jnp_ref.asarray(X)[1, jnp_ref.asarray(i)], f"jit x[1, traced {i}]")
    got = xform.jit(lambda x, k: x[:, k, 1:])(X, xnp.asarray(i))
    _same(got, jnp_ref.asarray(X)[:, jnp_ref.asarray(i), 1:], f"jit x[:, traced {i}, 1:]")


def test_out_of_bounds_integer_arrays_clamp_like_jax():
    idx = np.array([0, 3, -4, 10, -10])
    _same(xnp.asarray(X)[xnp.asarray(idx)], jnp_ref.asarray(X)[idx], "oob gather")
    _same(xnp.asarray(X)[:, xnp.asarray(idx)], jnp_ref.asarray(X)[:, idx], "oob gather axis 1")


UPDATE_INDICES = [0, -1, (1, 2), slice(1, 3), (slice(None), 0), (Ellipsis, -1),
                  np.array([0, 2, 0]), (np.array([0, 1]), np.array([3, 3])),
                  (slice(None), np.array([1, -1])), np.array([1, 5]), np.array([-4, 2]),
                  (np.array([0, 2]), slice(None), np.array([1, 7])), slice(None, None, -2),
                  (None, 1)]


@pytest.mark.parametrize("op", ["set", "add", "mul", "min", "max"])
@pytest.mark.parametrize("idx", UPDATE_INDICES, ids=repr)
def test_at_updates_match_jax(op, idx):
    """Duplicates accumulate (add/mul/min/max); out-of-bounds updates are dropped."""
    ref = getattr(jnp_ref.asarray(X).at[idx], op)
    want = ref(7.0)
    got = getattr(xnp.asarray(X).at[_np(idx)], op)(7.0)
    _same(got, want, f"at[{idx!r}].{op}(7.0)")
    shape = jnp_ref.asarray(X)[idx].shape
    vals = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) - 5
    want = getattr(jnp_ref.asarray(X).at[idx], op)(vals)
    got = xform.jit(lambda x, v: getattr(x.at[_np(idx)], op)(v))(X, vals)
    _same(got, want, f"jit at[{idx!r}].{op}(values)")


def test_at_set_broadcasts_and_casts():
    x = xnp.zeros((3, 4), xnp.int32)
    _same(x.at[:, 1].set(np.array([1.7, 2.2, 3.9])),
          jnp_ref.zeros((3, 4), jnp_ref.int32).at[:, 1].set(np.array([1.7, 2.2, 3.9])), "cast")
    _same(x.at[1].set(np.arange(4)), jnp_ref.zeros((3, 4), jnp_ref.int32).at[1].set(np.arange(4)),
          "row")
    with pytest.raises(ValueError):
        x.at[1].set(np.arange(3))


def test_at_updates_with_traced_index():
    f = xform.jit(lambda x, i: x.at[i].add(1.0))
    g = lambda x, i: jnp_ref.asarray(x).at[i].add(1.0)
    for i in (0, 2, -1):
        _same(f(X, xnp.asarray(i)), g(X, jnp_ref.asarray(i)), f"traced at[{i}].add")


@pytest.mark.parametrize("idx", [np.array([0, 3, -1, 9]), (slice(None), np.array([5, -6, 1])),
                                 np.array([[-4, 2]])], ids=repr)
def test_at_get_fill_mode(idx):
    for fill in (None, -1.0):
        want = jnp_ref.asarray(X).at[idx].get(mode="fill", fill_value=fill)
        got = xnp.asarray(X).at[_np(idx)].get(mode="fill", fill_value=fill)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
        _same(got, want, f"at[{idx!r}].get(fill={fill})")
    xi = X.astype(np.int32)
    _same(xnp.asarray(xi).at[_np(idx)].get(mode="fill"),
          jnp_ref.asarray(xi).at[idx].get(mode="fill"), "int fill")


def test_at_get_matches_getitem():
    for idx in (1, (slice(None), 2), np.array([0, 2])):
        _same(xnp.asarray(X).at[_np(idx)].get(), jnp_ref.asarray(X).at[idx].get(), repr(idx))


@pytest.mark.parametrize("mode", ["clip", "wrap", "fill", None])
def test_take_and_take_along_axis(mode):
    idx = np.array([0, 4, -1, 7])
    _same(xnp.take(X, idx, axis=2, mode=mode), jnp_ref.take(X, idx, axis=2, mode=mode),
          f"take mode={mode}")
    _same(xnp.take(X, idx, mode=mode), jnp_ref.take(X, idx, mode=mode), f"flat take {mode}")
    order = np.argsort(-X, axis=1)
    _same(xnp.take_along_axis(X, order, axis=1), jnp_ref.take_along_axis(X, order, axis=1),
          "take_along_axis")
