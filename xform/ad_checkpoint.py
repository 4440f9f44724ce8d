"""``xform.ad_checkpoint`` (as ``jax.ad_checkpoint``): the public face of
``xform.api.checkpoint``."""
from .api.checkpoint import (  # noqa: F401
    checkpoint, checkpoint_name, checkpoint_policies, checkpoint_scan, print_saved_residuals,
    remat, saved_residuals)
from .api.checkpoint import (  # noqa: F401
    dots_saveable, dots_with_no_batch_dims_saveable, everything_saveable, nothing_saveable,
    save_any_names_but_these, save_from_both_policies, save_only_these_names)
