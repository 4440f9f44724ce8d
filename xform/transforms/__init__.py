"""The first-order transforms, one module each: ``jvp``, ``partial_eval``, ``transpose``,
``batching`` (plus ``ad_util``, what the three AD modules share).

Each module holds its rewrite and its rule table for every first-order meta-operator:
the rule for meta-op X under transform T is ``T.RULES_TABLE[X]`` in
``xform/transforms/T.py``, or, for a meta-operator that holds sub-programs, in the
module of its family under ``xform/higher_order/``.  Rules are written with ``lax``.
"""
