"""The differential fuzzer's program generator: a seed gives a `Case`, a random well-typed
program under a random stack of transforms, written once as Python source over a module `m`
that is either `xform` or `jax` (`build(m)` returns the function to call).

A case is data: the program's inputs (shapes, dtypes, Python scalars), its steps (one
expression each, over `np`/`lax`/`random`/`nn` of `m` and earlier values), its outputs, and
the transform layers around it (innermost first).  `render(case)` writes it as a standalone
script, the reproducer; `fuzz_run` executes exactly that source against both libraries, so
the two sides, and the reproducer, cannot diverge.

Each step's type (shape, dtype, weak type) is JAX's, found with `jax.eval_shape` while
generating: an op whose expression JAX rejects is dropped and another is drawn, so every
program is well typed.  The op table is `fuzz_ops.OPS`; what the generator avoids is listed
in `fuzz_ops.KNOWN_GAPS` (open xform bugs) and `fuzz_ops.UNDEFINED`.  JAX, the oracle, runs
the stack under `jax.jit` (the same results, one compile instead of one per op).
"""
import os
import re
import sys
import textwrap

import numpy as onp

import jax
import jax.ad_checkpoint  # noqa: F401  (m.ad_checkpoint in programs)

import fuzz_ops

F32, I32, BOOL, U32 = "float32", "int32", "bool", "uint32"

# Transform layers and how often each is drawn; ORDER: how many derivatives a layer takes.
LAYERS = {"jit": 3, "grad": 2, "vjp": 2, "jvp": 2, "jacfwd": 1, "jacrev": 1, "hessian": 1,
          "vmap": 3, "checkpoint": 1}
ORDER = {"grad": 1, "vjp": 1, "jvp": 1, "jacfwd": 1, "jacrev": 1, "hessian": 2}
REVERSE = {"grad", "vjp", "jacrev", "hessian"}
FORWARD = {"jvp", "jacfwd", "hessian"}
MAX_INPUTS = 4
MAX_OUT_ELEMENTS = 20_000


class Val:
    """A value of the program: an input (`x3`) or a step's result (`v5`), with JAX's type."""
    __slots__ = ("name", "shape", "dtype", "weak", "py", "key", "uses")

    def __init__(self, name, shape, dtype, weak=False, py=False, key=False):
        self.name, self.shape, self.dtype, self.weak = name, tuple(shape), dtype, weak
        self.py, self.key, self.uses = py, key, 0

    @property
    def size(self):
        return int(onp.prod(self.shape, dtype=int))

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"{self.name}:{self.dtype}{list(self.shape)}{'~' if self.weak else ''}"


class Layer:
    """One transform around the function inside it: `diff` (positions differentiated),
    `single` (argnums as an int), `in_axes`/`out_axes`/`axis_name`/`size` (vmap), `policy`
    (checkpoint)."""
    __slots__ = ("kind", "diff", "in_axes", "axis_name", "size", "out_axes", "policy", "single")

    def __init__(self, kind, **kw):
        self.kind = kind
        self.diff, self.in_axes, self.axis_name, self.size = (), (), None, 0
        self.out_axes, self.policy, self.single = 0, None, False
        for k, v in kw.items():
            setattr(self, k, v)


class Case:
    """A generated program and transform stack, and the concrete arguments to call it with."""

    def __init__(self, seed, inputs, steps, outputs, layers, args):
        self.seed, self.inputs, self.steps, self.outputs = seed, inputs, steps, outputs
        self.layers, self.args = layers, args

    @property
    def order(self):
        return sum(ORDER.get(layer.kind, 0) for layer in self.layers)

    @property
    def stack(self):
        s = "f"
        for layer in self.layers:
            s = f"{layer.kind}({s})"
        return s

    @property
    def families(self):
        return sorted({fam for fam, _, _ in self.steps})


# --- the source both libraries run --------------------------------------------------------

PRELUDE = '''\
np, lax, random, nn = m.numpy, m.lax, m.random, m.nn

def _floats(out):  # the float leaves of a result: what the next derivative sees
    return [l for l in m.tree_util.tree_leaves(out) if np.issubdtype(l.dtype, np.floating)]

def _w(x):  # fixed weights, tangents and cotangents shaped like x (a Python scalar too)
    return np.reshape(np.cos(np.arange(np.size(x), dtype=np.float32) * 0.7) + 0.25,
                      np.shape(x))

def _scalar(out):  # a scalar loss of a result, for grad and hessian
    s = 0.0
    for l in _floats(out):
        s = s + np.sum(l * _w(l))
    return s

'''

# The custom-derivative functions a program may call (`fuzz_ops.custom`), rendered only
# when it does.
CUSTOM = {
    "cj": '''\
@m.custom_jvp
def cj(x):
    return np.sin(x) * x

@cj.defjvp
def _cj_jvp(primals, tangents):  # not the true derivative: the rule must be used
    x, = primals
    t, = tangents
    return np.sin(x) * x, (np.cos(x) * x + 2.0 * np.sin(x)) * t

''',
    "cv": '''\
@m.custom_vjp
def cv(x, y):
    return x * np.tanh(y)

def _cv_fwd(x, y):
    return x * np.tanh(y), (x, y)

def _cv_bwd(res, g):  # not the true derivative: the rule must be used
    x, y = res
    return g * np.tanh(y) * 0.5, g * x * (1.0 - np.tanh(y) ** 2)

cv.defvjp(_cv_fwd, _cv_bwd)
''',
}

CHECK = '''\
def check(got, want, order=0):
    """Same structure, and per leaf: an xform Array, JAX's shape, dtype, weak type and
    values (exact for integers and keys; floats within a tolerance that grows with the
    order of derivative)."""
    def struct(t):
        if isinstance(t, (tuple, list)):
            return (type(t).__name__, [struct(x) for x in t])
        if isinstance(t, dict):
            return ("dict", sorted((k, struct(v)) for k, v in t.items()))
        return "leaf"
    assert struct(got) == struct(want), f"structure {struct(got)}, jax gives {struct(want)}"
    got_l, want_l = xform.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)
    tol = 5e-5 * 2 ** order   # seen so far: under 1e-6 up to order 5
    for i, (g, w) in enumerate(zip(got_l, want_l)):
        where = f"leaf {i}"
        assert isinstance(g, xform.Array), f"{where}: got a {type(g).__name__}, not an Array"
        assert g.shape == w.shape, f"{where}: shape {g.shape}, jax gives {w.shape}"
        assert g.dtype == w.dtype, f"{where}: dtype {g.dtype}, jax gives {w.dtype}"
        assert g.weak_type == w.weak_type, \\
            f"{where}: weak_type {g.weak_type}, jax gives {w.weak_type}"
        gv, wv = numpy.asarray(g), numpy.asarray(w)
        if numpy.issubdtype(wv.dtype, numpy.inexact):
            scale = max(1.0, float(numpy.max(numpy.abs(wv[numpy.isfinite(wv)]), initial=0.0)))
            numpy.testing.assert_allclose(gv, wv, rtol=tol, atol=tol * scale, err_msg=where)
        else:
            numpy.testing.assert_array_equal(gv, wv, err_msg=where)
'''


def _render_layer(layer, k, nargs):
    """Source lines defining f{k+1} from f{k}."""
    inner, outer = f"f{k}", f"f{k + 1}"
    params = ", ".join(f"x{i}" for i in range(nargs))
    kind = layer.kind
    if kind == "jit":
        return [f"{outer} = m.jit({inner})"]
    if kind == "checkpoint":
        pol = f", policy=m.checkpoint_policies.{layer.policy}" if layer.policy else ""
        return [f"{outer} = m.checkpoint({inner}{pol})"]
    if kind == "vmap":
        axes = "(" + "".join(f"{a}, " for a in layer.in_axes) + ")"
        return [f"{outer} = m.vmap({inner}, in_axes={axes}, out_axes={layer.out_axes}, "
                f"axis_name={layer.axis_name!r})"]
    dparams = ", ".join(f"x{i}" for i in layer.diff)
    dtuple = "(" + "".join(f"x{i}, " for i in layer.diff) + ")"
    call = f"{inner}({params})"
    argnums = "0" if layer.single else \
        "(" + "".join(f"{j}, " for j in range(len(layer.diff))) + ")"
    lines = [f"def {outer}({params}):"]
    if kind in ("grad", "hessian"):
        fn = "grad" if kind == "grad" else "hessian"
        lines += [f"    return m.{fn}(lambda {dparams}: _scalar({call}), "
                  f"argnums={argnums})({dparams})"]
    elif kind in ("jacfwd", "jacrev"):
        lines += [f"    return m.{kind}(lambda {dparams}: _floats({call}), "
                  f"argnums={argnums})({dparams})"]
    elif kind == "jvp":
        tangents = "(" + "".join(f"_w(x{i}), " for i in layer.diff) + ")"
        lines += [f"    return m.jvp(lambda {dparams}: _floats({call}), {dtuple}, {tangents})"]
    elif kind == "vjp":
        lines += [f"    out, pullback = m.vjp(lambda {dparams}: _floats({call}), {dparams})",
                  "    return out, pullback([_w(o) for o in out])"]
    else:
        raise ValueError(kind)
    return lines


def render_build(case):
    """`def build(m): ...` for the case: the program and its transforms, over module m."""
    nargs = len(case.inputs)
    params = ", ".join(v.name for v in case.inputs)
    body = [f"def f0({params}):"]
    for _, name, expr in case.steps:
        body.append(f"    {name} = {expr}")
    body.append("    return (" + "".join(f"{o}, " for o in case.outputs) + ")")
    for k, layer in enumerate(case.layers):
        body += _render_layer(layer, k, nargs)
    body.append(f"return f{len(case.layers)}")
    used = "".join(src for name, src in CUSTOM.items()
                   if any(re.search(rf"\b{name}\(", e) for _, _, e in case.steps))
    return "def build(m):\n" + textwrap.indent(PRELUDE + used + "\n" + "\n".join(body),
                                               "    ") + "\n"


def _render_arg(a):
    if isinstance(a, (float, int)):
        return repr(a)
    body = repr(a.tolist())
    return f"numpy.array({body}, dtype=numpy.{a.dtype})"


def render_args(case):
    return ("ARGS = (" + "".join(_render_arg(a) + ", " for a in case.args) + ")\n\n\n"
            "def run(m):\n"
            "    # the arrays as the library's own (Python scalars stay as they are); JAX, the\n"
            "    # oracle, runs under jit: the same results, one compile instead of one per op\n"
            "    f = jax.jit(build(jax)) if m is jax else build(m)\n"
            "    return f(*[m.numpy.asarray(a) if isinstance(a, numpy.ndarray) else a\n"
            "               for a in ARGS])\n")


def render(case):
    """The standalone reproducer script for a case."""
    return (f'"""xform differential fuzzer, seed {case.seed}: {case.stack}, order {case.order}.\n'
            f'Run it with python: it compares xform with JAX (an AssertionError: they differ)."""\n'
            "import os\n"
            'os.environ.setdefault("JAX_PLATFORMS", "cpu")\n'
            'os.environ.setdefault("XFORM_CHECK_IR", "1")\n'
            "import numpy\n"
            "import jax\n"
            "import jax.ad_checkpoint  # m.ad_checkpoint\n"
            "import xform\n\n\n"
            + render_build(case) + "\n\n" + render_args(case) + "\n\n" + CHECK + "\n\n"
            'if __name__ == "__main__":\n'
            "    want = run(jax)\n"
            "    got = run(xform)\n"
            f"    check(got, want, order={case.order})\n"
            '    print("xform and jax agree")\n')


# --- generation ---------------------------------------------------------------------------

def _jax_namespace():
    ns = {"m": jax}
    src = PRELUDE + "".join(CUSTOM.values())
    exec("def _ns(m):\n" + textwrap.indent(src, "    ") + "    return dict(locals())\n", ns)
    return ns["_ns"](jax)


_NS = None
DEBUG = bool(os.environ.get("FUZZ_DEBUG"))


def _debug(msg):
    if DEBUG:
        print(msg, file=sys.stderr)


class Gen:
    """What an op of `fuzz_ops` draws from: the values so far, new inputs, the stack's needs."""

    def __init__(self, rng, layers):
        global _NS
        if _NS is None:
            _NS = _jax_namespace()
        self.rng, self.vals, self.inputs = rng, [], []
        kinds = {layer.kind for layer in layers}
        self.reverse = bool(kinds & REVERSE)
        self.forward = bool(kinds & FORWARD)
        self.diff = self.reverse or self.forward
        self.axes = [(layer.axis_name, layer.size) for layer in layers if layer.kind == "vmap"]

    # random choices
    def coin(self, p=0.5):
        return bool(self.rng.random() < p)

    def int(self, lo, hi):
        """An integer in [lo, hi]."""
        return int(self.rng.integers(lo, hi + 1))

    def choice(self, seq):
        seq = list(seq)
        return seq[int(self.rng.integers(len(seq)))]

    def shape(self, lo=0, hi=3, dlo=1, dhi=4):
        return tuple(self.int(dlo, dhi) for _ in range(self.int(lo, hi)))

    # values
    def can_add_input(self):
        return len(self.inputs) < MAX_INPUTS

    def new_input(self, shape, dtype=F32, py=False):
        v = Val(f"x{len(self.inputs)}", shape, dtype, weak=py, py=py)
        self.inputs.append(v)
        self.vals.append(v)
        return v

    def find(self, dtype=F32, pred=None, py=False, key=False):
        return [v for v in self.vals if v.dtype == dtype and v.py == py and v.key == key
                and (pred is None or pred(v))]

    def pick(self, vals):
        """One of `vals`, preferring values nothing reads yet (less dead code)."""
        w = onp.array([4.0 if v.uses == 0 else 1.0 for v in vals])
        return vals[int(self.rng.choice(len(vals), p=w / w.sum()))]

    def arr(self, dtype=F32, shape=None, pred=None, new=0.25, lo=0, hi=3):
        """An array value of `dtype` (and `shape`, or satisfying `pred`): an existing one,
        or a new program input.  None when neither is possible."""
        ok = (lambda v: v.shape == tuple(shape)) if shape is not None else pred
        cands = self.find(dtype, ok)
        if cands and not (self.can_add_input() and self.coin(new)):
            return self.pick(cands)
        if not self.can_add_input():
            return None
        for _ in range(20):
            s = tuple(shape) if shape is not None else self.shape(lo, hi)
            if shape is not None or pred is None or pred(Val("?", s, dtype)):
                return self.new_input(s, dtype)
        return None

    def partner(self, a):
        """An operand that broadcasts with array `a` without changing its shape: an array
        of the same shape or of a suffix of it, a 0-d one, a Python scalar input or a
        literal."""
        r = self.rng.random()
        if r < 0.15:
            return self.choice(["0.5", "2.0", "-1.5", "3", "0.25"])
        if r < 0.25:
            pys = self.find(F32, py=True)
            if pys or self.can_add_input():
                return (self.choice(pys) if pys and self.coin(0.6) else
                        self.new_input((), F32, py=True)).name
        suffix = tuple(a.shape[self.int(0, a.ndim):])
        b = self.arr(F32, shape=a.shape if self.coin(0.6) else suffix, new=0.3)
        return b.name if b is not None else "0.5"

    def unary(self, x):
        return self.choice(fuzz_ops.UNARY).format(x)

    def int_scalar(self, n=None):
        """An int32 scalar expression: an existing 0-d int, a reduced int array, a new 0-d
        int input, or a Python int input; for an index into an axis of length `n`, no
        Python int (static, it could be out of bounds, an IndexError in xform on purpose:
        `fuzz_ops.UNDEFINED["static-oob"]`), and a literal in [-n, n) when nothing else."""
        cands = self.find(I32, lambda v: v.ndim == 0)
        if cands and self.coin(0.7):
            return self.pick(cands).name
        arrs = self.find(I32, lambda v: v.ndim > 0)
        if arrs and self.coin(0.5):
            return f"np.sum({self.pick(arrs).name})"
        if self.can_add_input():
            return self.new_input((), I32, py=n is None and self.coin(0.3)).name
        return str(self.int(-n, n - 1) if n else self.int(-1, 3))

    def key(self):
        """A PRNG key expression."""
        keys = self.find(U32, lambda v: v.shape == (2,), key=True)
        if keys and self.coin(0.7):
            return self.pick(keys).name
        if self.coin(0.5):
            return f"random.PRNGKey({self.int(0, 100)})"
        return f"random.PRNGKey({self.int_scalar()})"

    # steps
    def _aval(self, expr):
        names = [v.name for v in self.vals]
        fn = eval("lambda " + ", ".join(names) + ": " + expr, dict(_NS))
        for name, size in reversed(self.axes):
            fn = jax.vmap(fn, in_axes=None, axis_name=name, axis_size=size)
        specs = [jax.ShapeDtypeStruct(v.shape, onp.dtype(v.dtype), weak_type=v.weak)
                 for v in self.vals]
        out = jax.eval_shape(fn, *specs)
        assert isinstance(out, jax.ShapeDtypeStruct), type(out)
        return out.shape[len(self.axes):], str(out.dtype), bool(out.weak_type)

    def add_step(self, family, expr, key=False):
        """Type the step with JAX and append it; False (and nothing changed) if JAX rejects."""
        try:
            shape, dtype, weak = self._aval(expr)
        except Exception as e:  # an op drew operands JAX rejects: draw another op
            _debug(f"step rejected: {expr}: {type(e).__name__}: {str(e)[:200]}")
            return False
        if dtype not in (F32, I32, BOOL, U32) or 0 in shape:   # the ops expect no empty axis
            _debug(f"step rejected: {expr}: {dtype}{list(shape)}")
            return False
        for v in self.vals:
            if re.search(rf"\b{v.name}\b", expr):
                v.uses += 1
        self.vals.append(Val(f"v{len(self.vals)}", shape, dtype, weak, key=key))
        return True


def draw_layer_kinds(rng):
    depth = int(rng.choice(4, p=[0.1, 0.35, 0.35, 0.2]))
    names, weights = list(LAYERS), onp.array(list(LAYERS.values()), float)
    return [str(k) for k in rng.choice(names, size=depth, p=weights / weights.sum())]


def _instantiate(rng, pre, inputs):
    """Concrete layers, innermost first, from the stand-ins the program was generated
    under (their vmap sizes and axis names kept): which arguments each one batches or
    differentiates."""
    avals = [(v.shape, v.dtype, v.py) for v in inputs]
    layers = []
    for p in pre:
        kind = p.kind
        if kind == "vmap":
            in_axes = []
            for shape, dtype, py in avals:
                in_axes.append(None if py or rng.random() < 0.3 else
                               int(rng.integers(-len(shape) - 1, len(shape) + 1)))
            if all(a is None for a in in_axes):
                in_axes[0] = 0
            layer = Layer("vmap", in_axes=tuple(in_axes), size=p.size, axis_name=p.axis_name,
                          out_axes=int(rng.choice([0, -1])))
            avals = _batched(avals, layer)
            layers.append(layer)
        elif kind in ORDER:
            floats = [i for i, (_, dtype, _) in enumerate(avals) if dtype == F32]
            k = int(rng.integers(1, len(floats) + 1))
            diff = tuple(sorted(int(i) for i in rng.choice(floats, size=k, replace=False)))
            layers.append(Layer(kind, diff=diff, single=len(diff) == 1 and rng.random() < 0.5))
        elif kind == "checkpoint":
            layers.append(Layer(kind, policy=rng.choice(
                [None, "nothing_saveable", "everything_saveable", "dots_saveable"])))
        else:
            layers.append(Layer(kind))
    return layers, avals


def _batched(avals, layer):
    new = []
    for (shape, dtype, py), ax in zip(avals, layer.in_axes):
        if ax is not None:
            pos = ax if ax >= 0 else len(shape) + 1 + ax
            shape = shape[:pos] + (layer.size,) + shape[pos:]
        new.append((shape, dtype, py))
    return new


def _draw_args(rng, avals):
    args = []
    for shape, dtype, py in avals:
        if py:
            args.append(round(float(rng.uniform(-2, 2)), 3) if dtype == F32 else
                        int(rng.integers(-2, 6)))
        elif dtype == F32:
            args.append(rng.uniform(-2, 2, shape).astype(onp.float32))
        else:
            args.append(rng.integers(-2, 6, shape).astype(onp.int32))
    return args


def _pre_layers(kinds):
    """Stand-in layers (vmap sizes and axis names) the program is generated under."""
    out, n = [], 0
    for kind in kinds:
        out.append(Layer(kind, axis_name=f"b{n}", size=0))
        n += kind == "vmap"
    return out


def generate(seed, n_steps=None, kinds=None):
    """The case for a seed (deterministic: the seed is a full reproducer)."""
    rng = onp.random.default_rng(seed)
    for _ in range(20):
        case = _try_generate(seed, rng, n_steps, kinds)
        if case is not None:
            return case
    raise RuntimeError(f"seed {seed}: no program fits after 20 tries")


def _try_generate(seed, rng, n_steps, kinds):
    kinds = list(kinds) if kinds is not None else draw_layer_kinds(rng)
    pre = _pre_layers(kinds)
    sizes = {layer.axis_name: int(rng.integers(1, 4)) for layer in pre if layer.kind == "vmap"}
    for layer in pre:
        layer.size = sizes.get(layer.axis_name, 0)
    g = Gen(rng, pre)
    g.new_input(g.shape(0, 3), F32)
    n = n_steps if n_steps is not None else int(rng.integers(2, 7))
    steps, tries = [], 0
    while len(steps) < n and tries < 20 * n:
        tries += 1
        family, fn = fuzz_ops.draw(g)
        n_vals, n_inputs = len(g.vals), len(g.inputs)
        expr = fn(g)
        if expr is not None:
            expr, key = expr if isinstance(expr, tuple) else (expr, False)
            if g.add_step(family, expr, key=key):
                steps.append((family, g.vals[-1].name, expr))
                continue
        del g.inputs[n_inputs:]   # roll back inputs the failed op created
        del g.vals[n_vals:]
    made = [v for v in g.vals if v.name.startswith("v")]
    floats = [v for v in made if v.dtype == F32]
    if not floats:
        return None
    # the last float value first (grad needs a float), then values nothing else reads
    outs = [floats[-1]] + [v for v in made if v.uses == 0 and v is not floats[-1]][-2:]
    layers, avals = _instantiate(rng, pre, g.inputs)
    args = _draw_args(onp.random.default_rng([seed, 1]), avals)
    case = Case(seed, list(g.inputs), steps, [v.name for v in outs], layers, args)
    try:
        out = jax.eval_shape(build_fn(case, jax), *args)
    except Exception as e:  # JAX rejects the stack over this program: draw again
        _debug(f"seed {seed}: {case.stack} rejected: {type(e).__name__}: {str(e)[:300]}")
        return None
    if sum(int(onp.prod(o.shape)) for o in jax.tree_util.tree_leaves(out)) > MAX_OUT_ELEMENTS:
        return None
    return case


def build_fn(case, m):
    """`build(m)` of the case's rendered source."""
    ns = {}
    exec(render_build(case), ns)
    return ns["build"](m)


def make_case(exprs, args, layers=(), outputs=None, seed=-1):
    """A case written by hand (for tests): `exprs` over inputs `x0, x1, ...` (one per
    argument; a Python float or int argument is a Python scalar input) and earlier steps
    `v{n}, v{n+1}, ...`; `layers` as `Layer`s, innermost first."""
    inputs = []
    for i, a in enumerate(args):
        py = isinstance(a, (float, int))
        dtype = (F32 if isinstance(a, float) else I32) if py else str(a.dtype)
        inputs.append(Val(f"x{i}", () if py else a.shape, dtype, weak=py, py=py))
    n = len(inputs)
    steps = [("hand", f"v{n + i}", e) for i, e in enumerate(exprs)]
    outs = outputs if outputs is not None else [steps[-1][1]]
    return Case(seed, inputs, steps, outs, list(layers), list(args))
