"""Shared test set-up: hypothesis profiles, and JAX as the oracle on the CPU."""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# Every test runs with xform_check_ir on: each transform (jvp, partial_eval, transpose,
# vmap), the simplifier and jit type-check the IR they produce (primitives.check_jaxpr),
# so a transform that writes a malformed program fails the test that made it, naming the
# transform.  Read once when xform is imported; XFORM_CHECK_IR=0 turns it off.
os.environ.setdefault("XFORM_CHECK_IR", "1")
# The persistent trace cache is off in the suite (tests count traces, and the same
# function body recurs across tests); tests/xform/api/test_persistent_cache.py turns it
# on in its own processes.  Subprocesses inherit this.  The compilation cache stays on
# (in the user's cache directory): it never changes what a program computes.
os.environ["XFORM_TRACE_CACHE"] = "0"

import pytest  # noqa: E402
from hypothesis import settings, HealthCheck  # noqa: E402

settings.register_profile("ci", max_examples=20, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def x64_enabled():
    """Turn on 64-bit mode in xform and in JAX (the oracle) for one module, then restore."""
    import jax
    import xform
    old_x, old_j = xform.config.read("jax_enable_x64"), jax.config.jax_enable_x64
    xform.config.update("jax_enable_x64", True)
    jax.config.update("jax_enable_x64", True)
    yield
    xform.config.update("jax_enable_x64", old_x)
    jax.config.update("jax_enable_x64", old_j)
