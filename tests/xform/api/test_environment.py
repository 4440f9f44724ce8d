"""The runtime names around programs, against JAX: live_arrays, log_compiles,
default_device, print_environment_info, the host aliases, Device."""
import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from multidevice import devices8  # noqa: F401  (the fixture)


def test_live_arrays_tracks_arrays_as_jax():
    x, jx = xnp.arange(7.0) * 3, jnp.arange(7.0) * 3
    assert any(a is x for a in xform.live_arrays())
    assert any(a is jx for a in jax.live_arrays())
    assert any(a is x for a in xform.live_arrays("cpu"))
    assert not xform.live_arrays("tpu") and not jax.live_arrays("cpu") is None
    x.delete()
    jx.delete()
    assert not any(a is x for a in xform.live_arrays())
    assert not any(a is jx for a in jax.live_arrays())
    with pytest.raises(TypeError, match="live_arrays: platform"):
        xform.live_arrays(3)


def _compile_logs(caplog, fn):
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="xform.compile"):
        fn()
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "xform.compile"]


def test_log_compiles_logs_each_compile_at_warning(caplog):
    def double_it(x):
        return x * 2 + 1
    with xform.log_compiles():
        logs = _compile_logs(caplog, lambda: xform.jit(double_it)(np.ones(5, np.float32)))
    assert logs and all(level == logging.WARNING for level, _ in logs)
    assert any("Compiling" in m and "f32[5]" in m for _, m in logs)
    assert any("Finished XLA compilation" in m for _, m in logs)
    # an eager op compiles under its own name
    with xform.log_compiles(True):
        logs = _compile_logs(caplog, lambda: xnp.cos(xnp.ones((3, 7))))
    assert any("cos" in m and "f32[3,7]" in m for _, m in logs)
    # a cache hit compiles nothing; with the option off the messages are DEBUG only
    jitted = xform.jit(lambda x: x * 7)
    jitted(np.ones(5, np.float32))
    with xform.log_compiles():
        assert _compile_logs(caplog, lambda: jitted(np.ones(5, np.float32))) == []
    logs = _compile_logs(caplog, lambda: xform.jit(lambda x: x - 4)(np.ones(6, np.float32)))
    assert logs and all(level == logging.DEBUG for level, _ in logs)
    xform.config.update("jax_log_compiles", True)
    try:
        logs = _compile_logs(caplog, lambda: xform.jit(lambda x: x - 5)(np.ones(6, np.float32)))
        assert logs and all(level == logging.WARNING for level, _ in logs)
    finally:
        xform.config.update("jax_log_compiles", False)
    assert xform.config.read("jax_log_compiles") is False


def test_log_compiles_as_decorator(caplog):
    @xform.log_compiles()
    def run():
        return xform.jit(lambda x: x * 9)(np.ones(4, np.float32))
    logs = _compile_logs(caplog, run)
    assert logs and all(level == logging.WARNING for level, _ in logs)
    assert xform.config.read("jax_log_compiles") is False


def test_default_device_one_device():
    with xform.default_device("cpu"):
        assert xnp.zeros(2).device == xform.devices()[0]
    with xform.default_device(xform.devices()[0]):
        assert xform.jit(lambda x: x + 1)(1.0).device == xform.devices()[0]
    assert xform.config.read("jax_default_device") is None
    with pytest.raises(ValueError, match="jax_default_device must be a Device"):
        xform.config.update("jax_default_device", 3)
    with pytest.raises(ValueError, match="jax_default_device must be a Device"):
        with xform.default_device("cpu:1"):
            pass


def test_default_device_places_as_jax(devices8):
    out = devices8('''
        def where_(lib, np_):
            def dev(x):   # (xform's committed Array.device is its sharding: use devices())
                (only,) = x.devices()
                return only.id
            d = lib.devices()
            f = lib.jit(lambda x: x * 2)
            a0 = np_.ones(3)
            rows = []
            with lib.default_device(d[3]):
                a = np_.ones(3)
                rows += [dev(a), dev(f(a)), dev(a + 1), dev(f(np.ones(3))), dev(np_.arange(4).sum())]
            # after the block: uncommitted arrays made inside move back to the default
            rows += [dev(a0 + 1), dev(a + 1), dev(a + a0), dev(f(a)), dev(f(a0))]
            committed = lib.device_put(np.ones(2), d[5])
            with lib.default_device(d[3]):
                rows.append(dev(committed + 1))   # committed arrays stay put
            return rows, np.asarray(a + a0).tolist()
        assert where_(xf, xnp) == where_(jax, jnp), (where_(xf, xnp), where_(jax, jnp))
        print("ok")
    ''')
    assert out.strip() == "ok"


def test_print_environment_info(capsys):
    info = xform.print_environment_info(return_string=True)
    for line in ("xform:", "jaxlib:", "numpy:", "python:", "device info: cpu-", "process_count: 1"):
        assert line in info
    assert xform.print_environment_info() is None
    assert capsys.readouterr().out.strip() == info


def test_host_aliases_and_device_type():
    with pytest.warns(UserWarning, match="process_index"):
        assert xform.host_id() == 0
    with pytest.warns(UserWarning):
        assert jax.host_id() == 0
    with pytest.warns(UserWarning, match="process_count"):
        assert xform.host_count() == 1
    with pytest.warns(UserWarning, match="process_indices"):
        assert xform.host_ids() == [0]
    assert xform.process_indices() == jax.process_indices()
    assert all(isinstance(d, xform.Device) for d in xform.devices())
    assert xform.Device is jax.Device


def test_copy_to_host_async_returns_its_argument():
    tree = {"a": xnp.arange(5.0), "b": [xnp.ones(2, np.int32), 3]}
    jtree = {"a": jnp.arange(5.0), "b": [jnp.ones(2, np.int32), 3]}
    assert xform.copy_to_host_async(tree) is tree
    assert jax.copy_to_host_async(jtree) is jtree
    np.testing.assert_array_equal(np.asarray(tree["a"]), np.asarray(jtree["a"]))


def test_enable_checks_is_the_ir_type_check():
    before = xform.config.read("xform_check_ir")
    with xform.enable_checks():
        assert xform.config.read("jax_enable_checks") is True
        assert xform.config.enable_checks is True
        assert float(xform.jit(lambda x: xnp.sin(x) * 2)(1.0)) == pytest.approx(2 * np.sin(1.0))
    with xform.enable_checks(False):
        assert xform.config.read("xform_check_ir") is False
    assert xform.config.read("xform_check_ir") == before
