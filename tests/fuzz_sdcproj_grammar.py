"""Hypothesis strategies for NNC projects (.sdcproj) for the import fuzz test: small valid classifiers laid
out as NNC writes them, and the same files damaged the ways a hand edit, another tool or a broken disk
damages them.

A file is generated as a list of sections, each `[name, [[key, value], ...]]`, so that a change can hit one
key of one section (a property's value, a layer's ID, a link's pin, a count) before the text is written;
byte-level damage (truncation, stray bytes, a byte-order mark, other line ends) comes after, from
fuzz_values.edited_text.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from hypothesis import strategies as st

from fuzz_values import ODD_TEXT, typo
from sdcproj_text import MINIMAL_SETTINGS

Sections = List[list]           # [[section name, [[key, value], ...]], ...]
Layer = Tuple[str, str, Dict[str, str], List[str]]      # (type, name, {NNC property: text}, [input names])
CLASSES = 3

# Properties as NNC writes them, for layers that keep the shape the next layer needs (the image stays
# C x 8 x 8 through a convolution: 3x3 with padding 1, or 1x1).
CONV_KERNELS = [{"KernelShape": "3,3", "Padding": "1,1"}, {"KernelShape": "1,1", "Padding": "0,0"}]
CONV_EXTRAS = {"BorderMode": "valid", "Strides": "1,1", "Dilation": "1,1", "Group": "1", "WithBias": "True",
               "ParameterScope": "*Name", "W.Initializer": "NormalConvolutionGlorot",
               "W.InitializerMultiplier": "1.0", "b.Initializer": "Constant", "b.InitializerMultiplier": "0.0"}
AFFINE_EXTRAS = {"WithBias": "True", "ParameterScope": "*Name", "W.Initializer": "NormalAffineGlorot",
                 "W.InitializerMultiplier": "1.0", "b.Initializer": "Constant"}
SHAPE_KEEPING = {
    "ReLU": {"InPlace": "*AutoInPlaceOnce"}, "Tanh": {}, "Sigmoid": {}, "ELU": {"Alpha": "1.0"},
    "LeakyReLU": {"Alpha": "0.1", "InPlace": "*AutoInPlaceOnce"}, "Dropout": {"P": "0.5", "Seed": "-1"},
    "BatchNormalization": {"Axes": "0", "DecayRate": "0.9", "Epsilon": "0.0001", "BatchStat": "True",
                           "ParameterScope": "*Name"},
}
# NNC's solvers with the parameter names it writes; the schedules as NNC's [Optimizer_N] holds them.
SOLVERS = {"Sgd": {"LearningRate": "0.1"}, "Momentum": {"LearningRate": "0.01", "Momentum": "0.9"},
           "Adam": {"Alpha": "0.001", "Beta1": "0.9", "Beta2": "0.999", "Epsilon": "1e-08"},
           "RMSprop": {"LearningRate": "0.001", "Decay": "0.9", "Epsilon": "1e-08"}}
SCHEDULES = [{}, {"LearningRateScheduler": "Exponential", "LearningRateMultiplier": "0.9",
                  "LearningRateUpdateInterval": "1", "LearningRateUpdateIntervalUnit": "0"},
             {"LearningRateScheduler": "Step", "LearningRateMultiplier": "0.1", "LearningRateSteps": "1,2",
              "LearningRateUpdateIntervalUnit": "0"},
             {"LearningRateScheduler": "Cosine", "LearningRateWarmupScheduler": "Linear",
              "LearningRateWarmupLength": "1", "LearningRateWarmupLengthUnit": "0"}]

# What a changed value is: NNC's own forms in the wrong place, numbers past every limit, text that is no
# number, unicode, expressions NNC's arithmetic parses, and very long values.
ODD_VALUES = ["", " ", "0", "-1", "-0", "1.5", "1e400", "-1e400", "nan", "inf", "2147483648", "9" * 400,
              "1,", ",", "1,,1", "3,3,3", "0,0", "-3,3", "1;1", "1 1", "True", "False", "None", "1/0", "1/255",
              "2**10", "9**9**9", "10**400", "(" * 300 + "1" + ")" * 300, "-" * 3000 + "1", "1" + "+1" * 3000,
              "Input[0]", "Input[-1]", "Input[x]", "Maps*2", "*Name", "*KernelShape", "*AutoInPlaceOnce",
              "*UnitProperty(Size)", "*Nothing", "１", "٣", "x" * 5000, "1," * 2000, "NormalAffineGlorot",
              "Constant", "same", "valid", "full"] + ODD_TEXT
odd_values = st.one_of(st.sampled_from(ODD_VALUES), st.text(max_size=12), st.integers().map(str),
                       st.floats(allow_nan=True, allow_infinity=True).map(repr))
# Numbers an NNC setting is checked with: zero, negative, tiny, huge, not finite.
ODD_NUMBERS = ["0", "-1", "0.5", "0.000001", "1e-300", "1e9", "1e30", "1e400", "inf", "-inf", "nan", "99999999999",
               "1.5", ""]
# The settings NNC reads numbers or names from, by section (a valid project here has some of them).
SETTING_KEYS = {
    "Config": ["MaxEpoch", "BatchSize", "MonitorInterval", "SaveBest", "TypeConfig", "AutoEvaluation"],
    "Optimizer_0": ["LearningRateScheduler", "LearningRateMultiplier", "LearningRateUpdateInterval",
                   "LearningRateUpdateIntervalUnit", "LearningRateSteps", "LearningRatePower",
                   "LearningRateWarmupScheduler", "LearningRateWarmupLength", "LearningRateWarmupLengthUnit",
                   "NumLearningRateStep", "UpdateInterval", "WeightDecay", "SolverParameterNum", "SolverParameter_0",
                   "RangeFrom", "RangeTo"],
    "Dataset_0": ["NumData", "Shuffle", "ImageNormalization", "URI", "Name"],
    "StructureSearch": ["Enabled", "Validation_Min", "Validation_Max", "CostMultiplyAdd_Max", "AttemptTimes",
                        "AttemptHours", "EarlyStopping"],
    "Engine": ["SDeepEngineType", "RNNTrainingMode"],
}
LAYER_TYPES = ["Input", "Affine", "Convolution", "ReLU", "Softmax", "SoftmaxCrossEntropy", "Unit", "Argument",
               "RepeatStart", "RepeatEnd", "RecurrentInput", "RecurrentOutput", "Delay", "LSTM", "Add2",
               "Concatenate", "Reshape", "Deconvolution", "MaxPooling", "SquaredError", "Identity", "Nope", ""]
PROPERTY_NAMES = ["OutShape", "OutMaps", "KernelShape", "Size", "Dataset", "T.Dataset", "T.Generator",
                  "W.File", "Network", "Times", "Axis", "Slope", "Name", "InPlace", "Order", "ID", "Length", ""]


@st.composite
def valid_networks(draw, name_prefix: str = "") -> Tuple[List[Layer], str]:
    """(layers, kind): Input -> shape-keeping layers, convolutions, poolings, an Add2, a repeat block -> Affine ->
    Softmax -> CategoricalCrossEntropy, or Affine -> SoftmaxCrossEntropy. Names are NNC's defaults."""
    kind = draw(st.sampled_from(["image", "vector"]))
    counts: Dict[str, int] = {}

    def name(layer_type: str) -> str:
        counts[layer_type] = counts.get(layer_type, 0) + 1
        return layer_type if counts[layer_type] == 1 else f"{layer_type}_{counts[layer_type]}"

    layers: List[Layer] = [("Input", "Input", {"Size": "1,8,8" if kind == "image" else "6", "Dataset": "x",
                                                "Generator": "None", "GeneratorMultiplier": "1.0"}, [])]
    side = 8
    for _ in range(draw(st.integers(0, 4))):
        prev = layers[-1][1]
        choice = draw(st.sampled_from(["keep", "keep", "conv", "pool", "add"] if kind == "image" else
                                      ["keep", "keep", "affine", "add", "repeat"]))
        if choice == "conv":
            props = {"OutMaps": str(draw(st.integers(1, 4))), **draw(st.sampled_from(CONV_KERNELS)),
                     **{k: v for k, v in CONV_EXTRAS.items() if draw(st.booleans())}}
            layers.append(("Convolution", name("Convolution"), props, [prev]))
        elif choice == "pool" and side >= 2:
            pool = draw(st.sampled_from(["MaxPooling", "AveragePooling"]))
            layers.append((pool, name(pool), {"KernelShape": "2,2", "Strides": "*KernelShape",
                                              "IgnoreBorder": "True"}, [prev]))
            side //= 2
        elif choice == "repeat":        # NNC's repeat block: an Affine of the input's size, `Times` times
            times = str(draw(st.integers(1, 3)))
            start, inner, end = name("RepeatStart"), name("Affine"), name("RepeatEnd")
            layers += [("RepeatStart", start, {"Times": times}, [prev]),
                       ("Affine", inner, {"OutShape": "6", **AFFINE_EXTRAS}, [start]),
                       ("RepeatEnd", end, {"Times": times}, [inner])]
        elif choice == "affine":
            layers.append(("Affine", name("Affine"), {"OutShape": "6", **AFFINE_EXTRAS}, [prev]))
        elif choice == "add" and len(layers) >= 2:
            # a residual sum: a shape-keeping layer beside the identity
            act = draw(st.sampled_from(sorted(SHAPE_KEEPING)))
            branch = name(act)
            layers.append((act, branch, dict(SHAPE_KEEPING[act]), [prev]))
            layers.append(("Add2", name("Add2"), {"InPlace": "*AutoInPlaceOnce"}, [branch, prev]))
        else:
            act = draw(st.sampled_from(sorted(SHAPE_KEEPING)))
            layers.append((act, name(act), dict(SHAPE_KEEPING[act]), [prev]))
    affine = name("Affine")
    layers.append(("Affine", affine, {"OutShape": str(CLASSES), **{k: v for k, v in AFFINE_EXTRAS.items()
                                                                   if draw(st.booleans())}}, [layers[-1][1]]))
    if draw(st.booleans()):
        layers.append(("Softmax", "Softmax", {"Axis": "0"}, [affine]))
        layers.append(("CategoricalCrossEntropy", "CategoricalCrossEntropy",
                       {"Axis": "0", "T.Dataset": "y", "T.Generator": "None", "T.GeneratorMultiplier": "1.0"},
                       ["Softmax"]))
    else:
        layers.append(("SoftmaxCrossEntropy", "SoftmaxCrossEntropy", {"Axis": "0", "T.Dataset": "y"}, [affine]))
    return layers, kind


@st.composite
def valid_settings(draw, trained: str) -> Dict[str, Dict[str, str]]:
    """NNC's settings sections: none, the minimal ones, or datasets, config, an optimizer with a schedule,
    monitors, an executor and the structure search."""
    how = draw(st.sampled_from(["none", "minimal", "full", "full"]))
    if how == "none":
        return {}
    if how == "minimal":
        return {k: dict(v, **({"Optimizer_NetworkName": trained} if k == "Optimizer_0" else {}))
                for k, v in MINIMAL_SETTINGS.items()}
    solver = draw(st.sampled_from(sorted(SOLVERS)))
    params = SOLVERS[solver]
    optimizer = {"Optimizer_Name": "Optimizer", "Optimizer_NetworkName": trained,
                 "Optimizer_DatasetName": "Training", "UpdateInterval": "1", "SolverName": solver,
                 "SolverParameterNum": str(len(params)), "WeightDecay": draw(st.sampled_from(["0", "0.0001"])),
                 **draw(st.sampled_from(SCHEDULES))}
    for i, (key, value) in enumerate(params.items()):
        optimizer[f"SolverParameterName_{i}"], optimizer[f"SolverParameter_{i}"] = key, value
    return {
        "Dataset": {"Num": "2", "MainIndex": "0"},
        "Dataset_0": {"Name": "Training", "URI": "train.csv", "Shuffle": "1", "EnableCache": "1",
                      "ImageNormalization": "1", "NumData": "24"},
        "Dataset_1": {"Name": "Validation", "URI": "valid.csv", "Shuffle": "0", "EnableCache": "1",
                      "ImageNormalization": "1", "NumData": "12"},
        "Config": {"MaxEpoch": str(draw(st.integers(1, 5))), "SaveBest": "1",
                   "BatchSize": str(draw(st.sampled_from([1, 8, 64]))), "NumOptimizer": "1", "NumMonitor": "2",
                   "NumExecutor": "1", "TypeConfig": draw(st.sampled_from(["Float", "Half"]))},
        "Optimizer_0": optimizer,
        "Monitor_0": {"Monitor_Name": "train_error", "Monitor_NetworkName": "MainValidation",
                      "Monitor_DatasetName": "Training"},
        "Monitor_1": {"Monitor_Name": "valid_error", "Monitor_NetworkName": "MainValidation",
                      "Monitor_DatasetName": "Validation"},
        "Executor_0": {"Executor_Name": "Executor", "Executor_NetworkName": "MainRuntime",
                       "Executor_DatasetName": "Validation", "NumEvaluations": "1", "NeedBackPropagation": "0"},
        "StructureSearch": {"Enabled": draw(st.sampled_from(["0", "1"])), "Method": "Random",
                            "Objective": "ErrorAndCalculation", "Validation_Max": "0.25", "AttemptTimes": "4"},
    }


def network_sections(layers: List[Layer], prefix: str) -> Sections:
    """As sdcproj_text.network_lines writes them, but as sections a change can reach into."""
    ids = {name: str(i) for i, (_, name, _, _) in enumerate(layers)}
    links = [(ids[src], ids[name]) for _, name, _, inputs in layers for src in inputs]
    out: Sections = [[f"{prefix}Network_Global", [["NumLayer", str(len(layers))], ["NumLink", str(len(links))]]]]
    for i, (kind, name, props, _) in enumerate(layers):
        values = [["ID", str(i)], ["Type", kind], ["Property_0_Name", "Name"], ["Property_0_Value", name]]
        for k, (key, value) in enumerate(props.items(), start=1):
            values += [[f"Property_{k}_Name", key], [f"Property_{k}_Value", value]]
        out.append([f"{prefix}Layer_{i}", values + [["NumProperty", str(len(props) + 1)]]])
    for i, (src, dst) in enumerate(links):
        out.append([f"{prefix}Link_{i}", [["ID", str(i)], ["SourceLayerID", src], ["SourcePinIndex", "0"],
                                          ["DestLayerID", dst], ["DestPinIndex", "0"]]])
    return out


@st.composite
def valid_projects(draw) -> Tuple[Sections, Dict[str, List[str]], str]:
    """(sections, {network: layer names}, trained network) of a project the importer must take and whose
    import checks: one network written without [Global] (as NNC saves a one-network project), or a
    training network and its runtime copy (no loss) under [Global]."""
    layers, _ = draw(valid_networks())
    layout = draw(st.sampled_from(["single", "global", "two"]))
    networks = {"Main": layers}
    if layout == "two":
        runtime = [l for l in layers if l[0] not in ("CategoricalCrossEntropy", "SoftmaxCrossEntropy")]
        networks = {"Train": layers, "Runtime": runtime}
    trained = next(iter(networks))
    sections: Sections = [["Engine", [["SDeepEngineType", "NNabla"]]]]
    if draw(st.booleans()):
        sections.append(["Description", [["Text", draw(st.sampled_from(["", "A classifier\\nof digits"]))]]])
    if layout == "single":
        sections += network_sections(layers, "")
    else:
        sections.append(["Global", [["NumNetwork", str(len(networks))]]
                         + [[f"Network_{i}", n] for i, n in enumerate(networks)]])
        for net, net_layers in networks.items():
            sections += network_sections(net_layers, f"{net}_")
    sections += [[name, [[k, v] for k, v in values.items()]] for name, values in draw(valid_settings(trained)).items()]
    return sections, {net: [l[1] for l in net_layers] for net, net_layers in networks.items()}, trained


def render(sections: Sections, newline: str = "\r\n") -> str:
    lines = []
    for name, values in sections:
        if name is not None:
            lines.append(f"[{name}]")
        lines += [key if value is None else f"{key}={value}" for key, value in values]
    return newline.join(lines) + newline


def _sections_like(sections: Sections, pattern: str) -> List[list]:
    return [s for s in sections if pattern in s[0]]


def _set(section: list, key: str, value) -> None:
    for pair in section[1]:
        if pair[0] == key:
            pair[1] = value
            return
    section[1].append([key, value])


@st.composite
def changed_projects(draw) -> Sections:
    """A valid project with one to three changes, each to one key, line or section."""
    sections, _, _ = draw(valid_projects())
    layer_sections = lambda: _sections_like(sections, "Layer_")             # noqa: E731 (re-read after edits)
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["value", "value", "value", "add_property", "type", "name", "id", "link",
                                    "pin", "cycle", "count", "drop_section", "drop_key", "setting", "setting",
                                    "setting", "global", "broken_line", "repeat_section", "key_case"]))
        pick = lambda options: draw(st.sampled_from(options)) if options else None     # noqa: E731
        layer = pick(layer_sections())
        if how == "value" and layer:
            keys = [k for k, _ in layer[1] if k.startswith("Property_") and k.endswith("_Value")]
            if keys:
                _set(layer, pick(keys), draw(odd_values))
        elif how == "add_property" and layer:
            n = sum(1 for k, _ in layer[1] if k.endswith("_Name"))
            name = draw(st.one_of(st.sampled_from(PROPERTY_NAMES), typo("OutShape"), st.text(max_size=6)))
            layer[1] += [[f"Property_{n}_Name", name], [f"Property_{n}_Value", draw(odd_values)]]
            if draw(st.booleans()):           # NumProperty follows, or does not
                _set(layer, "NumProperty", str(n + 1))
        elif how == "type" and layer:
            _set(layer, "Type", draw(st.one_of(st.sampled_from(LAYER_TYPES), typo("Convolution"))))
        elif how == "name" and layer:
            others = [v for s in layer_sections() for k, v in s[1] if k == "Property_0_Value"]
            _set(layer, "Property_0_Value", draw(st.one_of(st.sampled_from(others), odd_values)))
        elif how == "id" and layer:
            ids = [v for s in layer_sections() for k, v in s[1] if k == "ID"]
            _set(layer, "ID", draw(st.one_of(st.sampled_from(ids + ["", "-1", "99", "0x0", "1.0"]), odd_values)))
        elif how in ("link", "pin"):
            link = pick(_sections_like(sections, "Link_"))
            if link:
                key = draw(st.sampled_from(["SourceLayerID", "DestLayerID"] if how == "link" else
                                           ["SourcePinIndex", "DestPinIndex"]))
                _set(link, key, draw(st.one_of(st.sampled_from(["1", "-1", "2", "99", "", "x", " 0"]), odd_values)))
        elif how == "cycle":
            header = pick(_sections_like(sections, "Network_Global"))
            if header:
                prefix = header[0][: -len("Network_Global")]
                count = len(_sections_like(sections, prefix + "Layer_"))
                links = [s for s in sections if s[0].startswith(prefix + "Link_")]
                src, dst = draw(st.integers(0, max(0, count - 1))), draw(st.integers(0, max(0, count - 1)))
                sections.append([f"{prefix}Link_{len(links)}", [["ID", str(len(links))], ["SourceLayerID", str(src)],
                                                                ["SourcePinIndex", "0"], ["DestLayerID", str(dst)],
                                                                ["DestPinIndex", "0"]]])
                _set(header, "NumLink", str(len(links) + 1))
        elif how == "count":
            section = pick(_sections_like(sections, "Network_Global") + _sections_like(sections, "Global")
                           + layer_sections())
            keys = [k for k, _ in section[1] if k.startswith("Num")] if section else []
            if keys:
                key = pick(keys)
                old = dict(section[1])[key]
                old = int(old) if old.isdigit() else 1
                _set(section, key, draw(st.sampled_from([str(old + 1), str(old - 1), "0", "-1", "1e3", "x", "",
                                                         str(10 ** 9), "9" * 30])))
        elif how == "drop_section":
            del sections[draw(st.integers(0, len(sections) - 1))]
        elif how == "drop_key":
            section = sections[draw(st.integers(0, len(sections) - 1))]
            if section[1]:
                del section[1][draw(st.integers(0, len(section[1]) - 1))]
        elif how == "setting":
            settings = [s for s in sections if "Layer_" not in s[0] and "Link_" not in s[0]
                        and not s[0].endswith("Network_Global")]
            if draw(st.booleans()):          # a key NNC reads a number from, there or added
                name, key = draw(st.sampled_from([(n, k) for n, keys in SETTING_KEYS.items() for k in keys]))
                section = next((s for s in settings if s[0] == name), None)
                if section is None:
                    section = [name, []]
                    sections.append(section)
                _set(section, key, draw(st.one_of(st.sampled_from(ODD_NUMBERS), odd_values)))
            else:
                section = pick(settings)
                if section and section[1]:
                    _set(section, pick([k for k, _ in section[1]]), draw(st.one_of(odd_values, st.sampled_from(
                        ["Adamax", "AdaBound", "Cyclic", "Linear", "Half", "Double", "Caffe", "Training", "Main"]))))
        elif how == "global":
            glob = pick(_sections_like(sections, "Global"))
            if glob and glob[0] == "Global":
                _set(glob, pick([k for k, _ in glob[1]]), draw(st.one_of(
                    st.sampled_from(["Main", "Train", "Runtime", "Missing", "", "2", "0"]), odd_values)))
        elif how == "broken_line":
            section = sections[draw(st.integers(0, len(sections) - 1))]
            section[1].insert(draw(st.integers(0, len(section[1]))),
                              [draw(st.sampled_from(["Property_1_Value", "garbage", "[Layer_0", "Layer_0]", "=",
                                                     "= x", "[", "[]", "[ ]"])), None])
        elif how == "repeat_section":
            sections.append([sections[draw(st.integers(0, len(sections) - 1))][0],
                             [[draw(st.sampled_from(["ID", "Type", "NumLayer", "NumLink", "MaxEpoch"])),
                               draw(odd_values)]]])
        elif how == "key_case" and layer:
            pair = pick(layer[1])
            pair[0] = draw(st.one_of(typo(pair[0]), st.just(" " + pair[0] + " ")))
    return sections
