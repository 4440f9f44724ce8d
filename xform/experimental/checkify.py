"""``xform.experimental.checkify`` (JAX: ``jax.experimental.checkify``): functional run-time
errors.  Implemented in xform/api/checkify.py; see there and docs/design.md."""
from ..api.checkify import (  # noqa: F401
    BatchedError, DivisionByZeroError, Error, FailedCheckError, JaxException, JaxRuntimeError,
    NaNError, OOBError, all_checks, automatic_checks, check, check_error, checkify, debug_check,
    div_checks, float_checks, index_checks, init_error, nan_checks, user_checks)

ErrorCategory = type   # (JAX's alias: an error category is a JaxException subclass)

__all__ = ["Error", "ErrorCategory", "JaxRuntimeError", "all_checks", "automatic_checks",
           "check", "check_error", "checkify", "debug_check", "div_checks", "float_checks",
           "index_checks", "init_error", "nan_checks", "user_checks"]
