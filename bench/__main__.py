import os
import sys

# Cold-start rows compare first calls of fresh functions in this process: xform's
# persistent caches (on by default) would turn them into warm starts, so they are off
# here; bench_warm_start measures them in processes of its own, with the caches on.
os.environ["JAX_ENABLE_COMPILATION_CACHE"] = "0"
os.environ["XFORM_TRACE_CACHE"] = "0"

from .harness import main  # noqa: E402

sys.exit(main())
