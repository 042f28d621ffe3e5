"""The layer base class and typed properties.

A layer class declares, side by side, everything nncgraph knows about one NNC
layer type: its properties (snake_case of NNC's names, with NNC's defaults),
its pure shape rule, its cost, and its nnabla lowering. Nothing here imports
nnabla: `emit` receives the nnabla modules through `EmitContext`, so `check`,
`render` and `--help` never load nnabla.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Dict, FrozenSet, List, Optional, Sequence, Tuple

from ..errors import ShapeError, UserError, shown
from .initializers import (AFFINE_INITIALIZERS, CONVOLUTION_INITIALIZERS, DECONVOLUTION_INITIALIZERS,  # noqa: F401
                           PLAIN_INITIALIZERS, old_names_for)

Shape = Tuple[int, ...]
# Integers beyond int64 fit no tensor, index or counter that nnabla or numpy keep; a larger value is a typo.
MAX_INT = 2 ** 63 - 1

# Property kinds, with the JSON Schema each one maps to.
_KIND_SCHEMA = {
    "int": {"type": "integer"},
    "uint": {"type": "integer", "minimum": 0},
    "pint": {"type": "integer", "minimum": 1},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "str": {"type": "string"},
    "ints": {"type": "array", "items": {"type": "integer"}},
    "uints": {"type": "array", "items": {"type": "integer", "minimum": 0}},
    "pints": {"type": "array", "items": {"type": "integer", "minimum": 1}},
}


@dataclass(frozen=True)
class Prop:
    """One typed layer property.

    `default` of None with `derived` set means the value is computed from other
    properties (e.g. pooling strides default to the kernel shape), as NNC's
    `*KernelShape` macros do.
    """

    kind: str
    default: Any
    doc: str
    nnc: str = ""                     # NNC's property name, e.g. "OutMaps"
    options: Tuple[str, ...] = ()     # for kind "option"
    derived: str = ""                 # how a None default is computed
    maximum: Optional[int] = None     # for integer kinds: the largest value that makes sense
    minimum: Optional[int] = None     # for kind "int": the smallest (uint and pint have theirs)
    aliases: Tuple[Tuple[str, str], ...] = ()   # for kind "option": (older name, the option it stands for)

    def json_schema(self) -> dict:
        if self.kind == "option":
            schema = {"enum": list(self.options) + [old for old, _ in self.aliases]}
        else:
            schema = dict(_KIND_SCHEMA[self.kind])
            if self.maximum is not None and self.kind in ("int", "uint", "pint"):
                schema["maximum"] = self.maximum
            if self.minimum is not None and self.kind == "int":
                schema["minimum"] = self.minimum
            if self.kind in ("ints", "uints", "pints"):
                # NNC writes a one-element array as a bare number ("OutShape=10").
                item = dict(schema["items"])
                schema = {"oneOf": [schema, item]}
        schema["description"] = self.doc
        if self.default is not None:
            schema["default"] = self.default
        return schema

    def coerce(self, value: Any) -> Any:
        """Check a YAML value against the kind; return the canonical value.

        Raises `ValueError` with a sentence the loader turns into a UserError.
        """
        kind = self.kind
        if kind == "option":
            if isinstance(value, str):        # a list or mapping is no name, and would not hash
                value = dict(self.aliases).get(value, value)
            if value not in self.options:
                raise ValueError(f"must be one of {', '.join(map(repr, self.options))}, got {shown(value)}")
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"must be true or false, got {shown(value)}")
            return value
        if kind == "str":
            if not isinstance(value, str):
                raise ValueError(f"must be a string, got {shown(value)}")
            return value
        if kind == "float":
            return _check_float(value)
        if kind in ("int", "uint", "pint"):
            value = _check_int(value, kind)
            if self.maximum is not None and value > self.maximum:
                raise ValueError(f"must be at most {self.maximum:,}, got {value:,}")
            if self.minimum is not None and value < self.minimum:
                raise ValueError(f"must be at least {self.minimum:,}, got {value:,}")
            return value
        # integer arrays; a bare integer is a one-element array, as in NNC
        items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(items, (list, tuple)) or not items:
            raise ValueError(f"must be a list of integers such as [3, 3], got {shown(value)}")
        return [_check_int(v, kind[:-1]) for v in items]


class OptionalProp(Prop):
    """A property whose NNC default depends on the input shape (NNC's `*Input`), which `resolve`
    does not know: it stays None ("unset") and the shape rule fills it in. None must survive
    render -> parse, so the kind also accepts null."""

    def coerce(self, value):
        return None if value is None else super().coerce(value)

    def json_schema(self) -> dict:
        schema = super().json_schema()
        inner = {k: v for k, v in schema.items() if k not in ("description", "default")}
        return {"oneOf": [inner, {"type": "null"}], "description": schema["description"]}


# The scope a parametric layer's parameters are named under ("<scope>/conv/W"); one scope, one set of
# parameters, shared by every layer that names it. `Layer.resolve` fills in the layer name.
PARAMETER_SCOPE = Prop("str", None, "Parameter scope; layers with the same scope share parameters. Defaults to "
                       "the layer name.", "ParameterScope", derived="the layer name")

MAX_SEED = 2 ** 31 - 1     # nnabla's seed is a C int (numpy's RandomState takes up to 2^32 - 1)

# The seed of a random layer (Dropout, RandomCrop, ...): nnabla's own -1 means "draw from the training seed".
LAYER_SEED = Prop("int", -1, "Random seed, 0 to 2^31 - 1; -1 follows the training seed.", "Seed",
                  maximum=MAX_SEED, minimum=-1)


@dataclass(frozen=True)
class FloatsProp(Prop):
    """A list of numbers (NNC's FloatArray).

    Accepts a list, a bare number, or NNC's comma-separated text ("0.02,0.4"); the
    canonical value is a list of floats. `length` > 0 demands exactly that many. Without a
    default, null means unset (it must survive render -> parse).
    """

    length: int = 0

    def json_schema(self) -> dict:
        array: dict = {"type": "array", "items": {"type": "number"}}
        if self.length:
            array.update(minItems=self.length, maxItems=self.length)
        alternatives = [array, {"type": "string"}] + ([] if self.length > 1 else [{"type": "number"}])
        if self.default is None:
            alternatives.append({"type": "null"})
        schema: dict = {"oneOf": alternatives, "description": self.doc}
        if self.default is not None:
            schema["default"] = self.default
        return schema

    def coerce(self, value: Any) -> Any:
        if value is None and self.default is None:
            return None
        items = value
        if isinstance(value, str):
            try:
                items = [float(v) for v in value.split(",")]
            except ValueError:
                raise ValueError(f"must be numbers such as [0.5, 1.0] or \"0.5,1.0\", got {shown(value)}") from None
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            items = [value]
        if (not isinstance(items, (list, tuple)) or not items
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in items)):
            raise ValueError(f"must be a list of numbers such as [0.5, 1.0], got {shown(value)}")
        if self.length and len(items) != self.length:
            raise ValueError(f"must hold {self.length} numbers, got {len(items)}")
        return [_check_float(v) for v in items]


def _check_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = " (write a number such as 0.001 or 1.0e-3)" if isinstance(value, str) and _looks_numeric(value) else ""
        raise ValueError(f"must be a number, got {shown(value)}{hint}")
    try:
        number = float(value)
    except OverflowError:       # an integer of hundreds of digits
        raise ValueError(f"must be a number a float can hold, got {shown(value, limit=40)}") from None
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {value}")
    return number


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _check_int(value: Any, kind: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        whole = isinstance(value, float) and value.is_integer() and abs(value) <= MAX_INT
        raise ValueError(f"must be an integer, got {shown(value)}" + (f" (write {int(value)})" if whole else ""))
    if abs(value) > MAX_INT:
        raise ValueError(f"must be below 2^63, got {shown(value, limit=40)}")
    if kind == "uint" and value < 0:
        raise ValueError(f"must be 0 or more, got {value}")
    if kind == "pint" and value < 1:
        raise ValueError(f"must be 1 or more, got {value}")
    return value


@dataclass
class EmitContext:
    """What a layer's nnabla lowering may use.

    `F`, `PF`, `I`, `nn` are nnabla's modules, passed in so that layer files
    import no nnabla at module level. `train` is True only in the training
    variant (Dropout active, BatchNormalization on batch statistics).
    """

    nn: Any
    F: Any
    PF: Any
    I: Any
    train: bool
    rng: Any = None
    batch_size: int = 0     # for layers without inputs (Parameter, Constant), which still need the batch axis


@dataclass(frozen=True)
class ParamSpec:
    """A parameter a layer creates: its name under the layer's scope."""

    name: str          # e.g. "conv/W"
    shape: Shape
    trainable: bool = True
    # (fan-in, fan-out, kernel) for the He/Glorot initializers; None: (shape[0], rest, ())
    fans: Optional[Tuple[int, int, Tuple[int, ...]]] = None
    # prefix of its per-parameter properties (`<key>_initializer`, ...); None: the NNC name lowercased
    key: Optional[str] = None

    @property
    def prop_key(self) -> str:
        return self.key or self.nnc_name.lower()

    @property
    def nnc_name(self) -> str:
        """NNC's name of the parameter ("W", "b", "beta"), which its per-parameter properties use."""
        return self.name.rsplit("/", 1)[-1]

    @property
    def size(self) -> int:
        return size_of(self.shape)


def parameter_props(**params: Tuple[str, float, Tuple[str, ...]]) -> Dict[str, Prop]:
    """NNC's per-parameter properties (W.File, W.Initializer, W.InitializerMultiplier,
    W.LRateMultiplier) for each named parameter, snake_cased: `w_initializer`, ...

    `params` maps NNC's parameter name to (default initializer, default multiplier, options).
    """
    out: Dict[str, Prop] = {}
    for name, (initializer, multiplier, options) in params.items():
        key = name.lower().replace(".", "_")     # LSTM's "IGate.W" -> igate_w
        out[f"{key}_file"] = Prop("str", "", f"File to load {name} from (.npy, or an nnabla .h5/.protobuf "
                                  "parameter file holding it by name); empty: initialize.", f"{name}.File")
        out[f"{key}_initializer"] = Prop("option", initializer, f"How {name} is initialized.",
                                         f"{name}.Initializer", options=options, aliases=old_names_for(options))
        out[f"{key}_initializer_multiplier"] = Prop(
            "float", multiplier, f"Scale of {name}'s initializer (the value itself for Constant).",
            f"{name}.InitializerMultiplier")
        out[f"{key}_lrate_multiplier"] = Prop("float", 1.0, f"Learning-rate multiplier of {name}; 0 freezes it.",
                                              f"{name}.LRateMultiplier")
    return out


WEIGHT_AND_BIAS_CONV = dict(W=("NormalConvolutionGlorot", 1.0, CONVOLUTION_INITIALIZERS),
                            b=("Constant", 0.0, PLAIN_INITIALIZERS))
WEIGHT_AND_BIAS_AFFINE = dict(W=("NormalAffineGlorot", 1.0, AFFINE_INITIALIZERS),
                              b=("Constant", 0.0, PLAIN_INITIALIZERS))


class Layer:
    """Base class of every layer type. Subclasses are stateless.

    Class attributes a subclass sets:
      category     NNC palette category ("Basic", "Pooling", ...)
      props        {snake_name: Prop}
      n_inputs     exact number of inputs, or (min, max) with max None = any
      role         "layer", "input", "loss" (vanishes in runtime) or "metric"
      shape_rule   the output shape in words, for the layer reference
    Parameters are named as nnabla's parametric functions name them under the
    layer's `parameter_scope` ("<scope>/conv/W"), declared by `parameters()`.
    """

    category: ClassVar[str] = "Others"
    shape_rule: ClassVar[str] = "same shape as the input"
    props: ClassVar[Dict[str, Prop]] = {}
    n_inputs: ClassVar[Any] = 1
    role: ClassVar[str] = "layer"
    doc: ClassVar[str] = ""
    nnabla_function: ClassVar[str] = ""     # the function it lowers to; see __init_subclass__
    # The nntxt import: `from_nntxt(args, ins, out, params)` turns the nnabla function's argument
    # message, sample shapes and parameter shapes into this layer's properties (layers/nntxt.py has
    # the shared rules); None: the layer imports only where the function has no arguments to carry.
    from_nntxt: ClassVar[Optional[Callable]] = None
    # Why an .nntxt cannot hold the layer as itself (it lowers to several or other functions, or to
    # none); empty: it can.
    nntxt_gap: ClassVar[str] = ""
    # Structure search (search/mutation.py): the parts NNC's mutation rules give the layer (words of
    # layers/mutation_traits.py), the properties NNC marks SearchParameter, and what a mutation that
    # inserts the layer writes on it.
    mutation_traits: ClassVar[FrozenSet[str]] = frozenset()
    searchable: ClassVar[Tuple[str, ...]] = ()
    inserted_props: ClassVar[Dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # NNC and nnabla share most names: a class that names no nnabla function lowers to its namesake
        # ("" where it lowers to none)
        if "nnabla_function" not in cls.__dict__:
            cls.nnabla_function = cls.__name__

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    # -- properties ---------------------------------------------------------
    def resolve(self, props: Dict[str, Any], name: str) -> Dict[str, Any]:
        """Fill defaults, including derived ones; `props` is already coerced."""
        # copies, so no two layers ever share (and mutate) one default list
        out = {k: copy.deepcopy(props[k] if k in props else p.default) for k, p in self.props.items()}
        if "parameter_scope" in out and out["parameter_scope"] is None:
            out["parameter_scope"] = name
        return out

    # -- arity: what `n_inputs` says, read in one place ----------------------
    @classmethod
    def input_range(cls) -> Tuple[int, Optional[int]]:
        """(fewest, most) inputs; most None: any number."""
        n = cls.n_inputs
        return (n, n) if isinstance(n, int) else (n[0], n[1])

    @classmethod
    def takes_no_input(cls) -> bool:
        """Parameter, Constant and Input read nothing; no `input:` means none, not the layer before."""
        return cls.input_range()[0] == 0

    @classmethod
    def wanted_inputs(cls, counts: Optional[Tuple[int, Optional[int]]] = None) -> str:
        """The input count (the layer's, or the given (fewest, most)) in words: "2", "at least 2", "1 to 3"."""
        lo, hi = counts or cls.input_range()
        return str(lo) if lo == hi else (f"at least {lo}" if hi is None else f"{lo} to {hi}")

    def check_inputs(self, in_shapes: Sequence[Shape]) -> None:
        lo, hi = self.input_range()
        count = len(in_shapes)
        if count < lo or (hi is not None and count > hi):
            raise UserError(f"takes {self.wanted_inputs()} input(s), got {count}.",
                            fix="set `input:` to the right layer name(s).")

    # -- shape and cost -----------------------------------------------------
    def infer_shape(self, in_shapes: Sequence[Shape], p: Dict[str, Any]) -> Shape:
        """Output shape without the batch axis. Pure; raises ShapeError."""
        return tuple(in_shapes[0])

    def parameters(self, in_shapes: Sequence[Shape], p: Dict[str, Any]) -> List[ParamSpec]:
        return []

    def macs(self, in_shapes: Sequence[Shape], out_shape: Shape, p: Dict[str, Any]) -> int:
        """Multiply-adds per sample (NNC's CostMultiplyAdd)."""
        return 0

    # -- nnabla -------------------------------------------------------------
    def emit(self, ctx: EmitContext, inputs: list, p: Dict[str, Any]):
        raise NotImplementedError(f"{self.type_name()} has no nnabla lowering")


def size_of(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def channel_axis(axis: int, shape: Shape, what: str = "axis") -> int:
    """NNC axes count from the first non-batch axis; nnabla's include the batch."""
    if not 0 <= axis < len(shape):
        raise ShapeError(f"{what} {axis} is out of range for input shape {list(shape)}.",
                         fix=f"use an axis between 0 and {len(shape) - 1}.")
    return axis + 1
