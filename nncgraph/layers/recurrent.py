"""NNC's LSTM layer: a whole sequence through a long short-term memory.

(RecurrentInput, RecurrentOutput and Delay are structure, unrolled by
graph/recurrent.py before the graph is built; they are not layers here.)
"""
from __future__ import annotations

from .base import (AFFINE_INITIALIZERS, PARAMETER_SCOPE, PLAIN_INITIALIZERS, Layer, ParamSpec, Prop, ShapeError,
                   parameter_props, size_of)

_GATES = ("Affine", "IGate", "FGate", "OGate")     # NNC's names: candidate, input, forget and output gates


class LSTM(Layer):
    category = "Unit"
    doc = ("Long short-term memory over the time axis `axis`: for each step, gates from [input, h] give the "
           "new cell c and state h; outputs every step's h. Parameters `<scope>/<Gate>/affine/W`, `/b` for "
           "Affine (candidate), IGate, FGate and OGate.")
    nnabla_function = "Affine, Sigmoid, Tanh, Mul2, Add2 (unrolled)"
    nntxt_gap = "written unrolled, one Affine per gate and step"
    shape_rule = "(steps along `axis`, size)"
    props = {
        "axis": Prop("uint", 0, "Time axis of the input (0 = first after the batch).", "Axis"),
        "size": Prop("pint", 100, "Size of the state h and the cell c.", "Size"),
        "parameter_scope": PARAMETER_SCOPE,
        "h_initial_generator_multiplier": Prop("float", 0.0, "Value of h before the first step.",
                                               "H.Initial.GeneratorMultiplier"),
        "c_initial_generator_multiplier": Prop("float", 0.0, "Value of c before the first step.",
                                               "C.Initial.GeneratorMultiplier"),
        **parameter_props(**{f"{gate}.{p}": (init, mult, options) for gate in _GATES
                             for p, init, mult, options in (("W", "NormalAffineGlorot", 1.0, AFFINE_INITIALIZERS),
                                                            ("b", "Constant", 0.0, PLAIN_INITIALIZERS))}),
    }

    def _steps_and_features(self, shape, p):
        if p["axis"] >= len(shape):
            raise ShapeError(f"axis {p['axis']} is out of range for input shape {list(shape)}.",
                             fix=f"use an axis below {len(shape)}.")
        steps = shape[p["axis"]]
        return steps, size_of(shape) // steps

    def infer_shape(self, in_shapes, p):
        steps, _ = self._steps_and_features(in_shapes[0], p)
        return (steps, p["size"])

    def parameters(self, in_shapes, p):
        _, features = self._steps_and_features(in_shapes[0], p)
        fan_in, size = features + p["size"], p["size"]
        specs = []
        for gate in _GATES:
            specs.append(ParamSpec(f"{gate}/affine/W", (fan_in, size), key=f"{gate.lower()}_w"))
            specs.append(ParamSpec(f"{gate}/affine/b", (size,), key=f"{gate.lower()}_b"))
        return specs

    def macs(self, in_shapes, out_shape, p):
        steps, features = self._steps_and_features(in_shapes[0], p)
        return steps * 4 * (features + p["size"]) * p["size"]

    def emit(self, ctx, inputs, p):
        F, PF, nn = ctx.F, ctx.PF, ctx.nn
        x = inputs[0]
        batch, size = x.shape[0], p["size"]
        axis = p["axis"] + 1
        if axis != 1:   # time first, then everything else flattened into features
            order = [0, axis] + [i for i in range(1, x.ndim) if i != axis]
            x = F.transpose(x, order)
        steps = x.shape[1]
        x = F.reshape(x, (batch, steps, -1))
        h = F.constant(p["h_initial_generator_multiplier"], (batch, size))
        c = F.constant(p["c_initial_generator_multiplier"], (batch, size))

        def gate(name, z):
            with nn.parameter_scope(name):
                return PF.affine(z, size)

        outputs = []
        for xt in F.split(x, axis=1) if steps > 1 else [F.reshape(x, (batch, -1))]:
            z = F.concatenate(xt, h, axis=1)
            candidate = F.tanh(gate("Affine", z))
            i, f, o = (F.sigmoid(gate(g, z)) for g in ("IGate", "FGate", "OGate"))
            c = f * c + i * candidate
            h = o * F.tanh(c)
            outputs.append(h)
        return F.stack(*outputs, axis=1)


LAYERS = [LSTM]
