"""The core layer: tracing Python into the IR, evaluating IR, ``Array``, pytrees, config.

Everything above (passes, lax, the transforms, the API, the surfaces) builds on these
names; nothing here imports from those layers.

* ``trace``: ``bind`` (the one way to apply a meta-operator), ``Tracer``/``Builder``,
  eager execution, ``eval_jaxpr``, and ``trace_to_jaxpr`` / ``trace_flat`` (the trace
  helpers every transform and control-flow op uses);
* ``array``: ``Array``, a PJRT buffer with its abstract value;
* ``pytree``: flattening and rebuilding nested containers;
* ``config``: the global switches;
* ``checks``: ``check_ir``, the optional type check of what each transform produces.

The one cache policy (a bounded LRU for every cache keyed by program or signature)
is ``primitives.lru``, the lowest layer that has a cache.
"""
from .array import Array, DeletedArrayError, array_from_numpy  # noqa: F401
from .checks import check_ir  # noqa: F401
from .trace import (  # noqa: F401
    Builder, ConcretizationError, Tracer, UnexpectedTracerError, add_eqn_with_values,
    aval_of_numpy, aval_of_scalar, bind, eager_apply, ensure_compile_time_eval, eval_closed,
    eval_jaxpr, find_builder, named_call, named_scope,
    leaf_aval, prep_leaf, source_here, trace_flat, trace_scope, trace_to_jaxpr, typeof,
    user_frame,
    where)
