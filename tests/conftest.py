"""Shared test set-up: hypothesis profiles, and JAX as the oracle on the CPU."""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from hypothesis import settings, HealthCheck  # noqa: E402

settings.register_profile("ci", max_examples=20, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
