"""``xform.stages`` and ``xform.dlpack`` hold JAX's names: ahead-of-time objects that are
the ones ``jit`` returns, and DLPack's supported dtypes as JAX's."""
import jax
import jax.numpy as jjnp
import numpy as np

import xform
import xform.numpy as jnp


def test_stages_names_and_objects():
    missing = [n for n in dir(jax.stages) if not n.startswith("_")
               and not hasattr(xform.stages, n)]
    assert not missing, missing
    f = xform.jit(lambda x: x * 2)
    assert isinstance(f, xform.stages.Wrapped)
    traced = f.trace(np.ones(3, np.float32))
    assert isinstance(traced, xform.stages.Traced)
    lowered = traced.lower()
    assert isinstance(lowered, xform.stages.Lowered)
    compiled = lowered.compile()
    assert isinstance(compiled, xform.stages.Compiled)
    np.testing.assert_allclose(np.asarray(compiled(np.ones(3, np.float32))), [2, 2, 2])
    assert isinstance(lowered.args_info[0][0], xform.stages.ArgInfo)


def test_dlpack_dtypes_equal_jax():
    assert [n for n in dir(jax.dlpack) if not n.startswith("_")
            and not hasattr(xform.dlpack, n)] == []
    for dt in ("bool", "int8", "uint64", "float16", "bfloat16", "float32", "complex128",
               "float8_e4m3fn", "int4"):
        want = jax.dlpack.is_supported_dtype(getattr(jjnp, dt))
        assert xform.dlpack.is_supported_dtype(getattr(jnp, dt)) == want, dt
    assert xform.dlpack.from_dlpack is xform.from_dlpack
    y = xform.dlpack.from_dlpack(np.arange(4.0, dtype=np.float32))
    np.testing.assert_array_equal(np.asarray(y), np.arange(4.0))
