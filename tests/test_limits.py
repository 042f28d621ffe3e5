"""Limits on what a project file can make nncgraph do (nesting, aliases, expressions, sizes; the
values of fields are in test_limits_values.py): every hostile or absurd value is one clear line,
refused before the work it would cause (DESIGN.md, "Trust"). Time is never measured here:
work is counted (calls, traced lines), and a subprocess with a memory cap and a generous timeout
stands in for "does not hang or blow up"."""
from __future__ import annotations

import ast
import os
import resource
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT
from nncgraph.errors import UserError
from nncgraph.project.load import parse_project

HEAD = "name: limits\ndatasets:\n  training: {csv: data.csv}\n"
NETWORK = """network:
  - {type: Input, size: [4]}
  - {type: Affine, out_shape: 3}
  - {type: SoftmaxCrossEntropy, target: y}
"""


def project(text: str, head: str = HEAD) -> str:
    return head + textwrap.dedent(text).lstrip("\n")


def refused(text: str, *fragments, path="project.yaml"):
    """parse + check `text`; the UserError's one line, which must hold every fragment."""
    from nncgraph.graph.network_table import check_project

    with pytest.raises(UserError) as caught:
        check_project(parse_project(text, path))
    line = str(caught.value)
    assert "\n" not in line and "Fix:" in line, line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def checked(text: str):
    from nncgraph.graph.network_table import check_project

    return check_project(parse_project(text, "project.yaml"))


def run_capped(*args, memory_gb: int = 3):
    """The CLI in a process that may use `memory_gb` of address space and 300 s: a blow-up fails the
    test instead of taking the machine down."""
    def cap():
        limit = memory_gb * 2 ** 30
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = subprocess.run([sys.executable, "-m", "nncgraph", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, preexec_fn=cap)
    return proc.returncode, proc.stdout, proc.stderr


def one_line_error(result, *fragments):
    status, _, err = result
    assert status == 2, (status, err[-2000:])
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err[-2000:]
    for fragment in fragments:
        assert fragment in err, (fragment, err[-2000:])
    return err.strip()


# -- 1. YAML: nesting, aliases, long values ------------------------------------------------
@pytest.mark.e2e
@pytest.mark.parametrize("where", ["network", "unused"])
@pytest.mark.parametrize("shape", ["list", "mapping"])
def test_deep_nesting_is_refused_at_its_position(tmp_path, where, shape):
    deep = "[" * 20000 + "]" * 20000 if shape == "list" else "{a: " * 20000 + "1" + "}" * 20000
    text = HEAD + (f"network: {deep}\n" if where == "network" else NETWORK + f"training: {{x: {deep}}}\n")
    path = tmp_path / "project.yaml"
    path.write_text(text)
    line = one_line_error(run_capped("check", path), "more than 100 levels deep")
    assert f"project.yaml:{text.count(chr(10), 0, text.index(deep)) + 1}:" in line


BOMB = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'] + [
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]


@pytest.mark.e2e
@pytest.mark.parametrize("more_units, network", [
    # an error message would quote it
    ("", "  - {type: Input, size: [4]}\n  - {type: Affine, out_shape: *a9}\n"),
    # a unit body is copied per instance
    ("  B:\n    layers:\n      - {type: Constant, size: [2], value: *a9}\n",
     "  - {type: Input, size: [4]}\n  - {type: Unit, unit: B}\n"),
    # a unit argument is substituted into its layers
    ("  B:\n    args: {v: *a9}\n    layers:\n      - {type: Affine, out_shape: $v}\n",
     "  - {type: Input, size: [4]}\n  - {type: Unit, unit: B}\n"),
    # nothing uses it: the unit holding the anchors is never instantiated
    ("", "  - {type: Input, size: [4]}\n  - {type: Affine, out_shape: 3}\n"),
], ids=["message", "unit-body", "unit-argument", "unused"])
def test_alias_bombs_are_refused_wherever_they_sit(tmp_path, more_units, network):
    anchors = "".join(f"      {line}\n" for line in BOMB)       # the arguments of a unit nothing instantiates
    text = HEAD + f"units:\n  Bomb:\n    args:\n{anchors}    layers: [{{type: ReLU}}]\n" + more_units + \
        "network:\n" + network
    path = tmp_path / "project.yaml"
    path.write_text(text)
    for command in ("check", "render"):
        one_line_error(run_capped(command, path), "aliases expand this file to", "values, over the limit of 1,000,000")


def test_an_alias_inside_its_own_value_is_refused():
    with pytest.raises(UserError, match="'\\*a' is used inside the value it names"):
        parse_project(HEAD + "network: &a [{type: Input, size: [4]}, *a]\n", "p.yaml")


def test_an_alias_chain_deeper_than_the_limit_is_refused():
    chain = ["c0: &c0 [1]"] + [f"c{i}: &c{i} [[[[[[[[[[*c{i - 1}]]]]]]]]]]" for i in range(1, 30)]
    text = HEAD + "units:\n  U:\n    args:\n" + "".join(f"      {c}\n" for c in chain) + \
        "    layers: [{type: ReLU}]\n" + NETWORK
    with pytest.raises(UserError, match="levels deep, over the limit of 100"):
        parse_project(text, "p.yaml")


def test_an_error_quotes_at_most_200_characters_of_a_value():
    long_value = "x" * 100_000
    line = refused(project(f"""
        network:
          - {{type: Input, size: [4]}}
          - {{type: Affine, out_shape: {long_value}}}
        """), "must be a list of integers", "(100,002 characters)")
    assert len(line) < 600


def test_an_integer_of_thousands_of_digits_is_a_clear_error():
    refused(project("network:\n  - {type: Input, size: [" + "9" * 5000 + "]}\n"), "project.yaml:5:",
            "has 5000 digits")


# -- 2. expressions ----------------------------------------------------------------------------
def _unit_with(expression: str, args: str) -> str:
    return project(f"""
        units:
          P:
            args: {args}
            layers:
              - {{type: Affine, out_shape: "{expression}"}}
        network:
          - {{type: Input, size: [4]}}
          - {{type: Unit, unit: P}}
        """)


@pytest.fixture
def no_huge_powers(monkeypatch):
    """The evaluator's `**`, refusing (instead of hanging on) any power it was not kept from computing."""
    from nncgraph.graph import expressions

    real = expressions._OPS[ast.Pow]

    def guarded(base, exponent):
        assert abs(exponent) < 10_000, f"computed {base} ** {exponent}"
        return real(base, exponent)

    monkeypatch.setitem(expressions._OPS, ast.Pow, guarded)


@pytest.mark.parametrize("expression, args", [
    ("$a ** $a ** $a", "{a: 99}"),
    ("9 ** 9 ** $a", "{a: 9}"),
    ("$a ** 100000", "{a: 2}"),
    ("(-$a) ** 99999", "{a: 3}"),
])
def test_astronomical_powers_are_refused_before_computing(no_huge_powers, expression, args):
    refused(_unit_with(expression, args), "is astronomically large", "below 2^63")


@pytest.mark.parametrize("expression, args, fragment", [
    ("$m * $m * $m * $m", "{m: 99999999999}", "is too large"),
    ("$m * $m", "{m: 1.0e300}", "is too large"),
    ("(-$m) ** 0.5", "{m: 4}", "is not a real number"),
    ("$m << 100000", "{m: 2}", "cannot evaluate"),
    ("+".join(["$m"] * 600), "{m: 1}", "longer than 1000 characters"),
])
def test_expressions_stay_small_real_numbers(expression, args, fragment):
    refused(_unit_with(expression, args), fragment)


# -- 3. sizes ----------------------------------------------------------------------------------
BLOCK = """
units:
  Block:
    layers:
      - {type: Affine, out_shape: 4}
      - {type: ReLU}
  Outer:
    layers:
      - {type: Unit, unit: Block, repeat: 1000}
"""


@pytest.fixture
def expansion_calls(monkeypatch):
    """How many unit instances and repeat blocks the expander started (at most 1,000, then it fails)."""
    from nncgraph.graph.expand import _Expander

    calls = []
    real = _Expander.block

    def counted(self, *args, **kwargs):
        calls.append(1)
        assert len(calls) < 1000, "expanded a repeat it should have refused"
        return real(self, *args, **kwargs)

    monkeypatch.setattr(_Expander, "block", counted)
    return calls


@pytest.mark.parametrize("layers, fragment", [
    ("  - {type: Unit, unit: Block, repeat: 1000000000000}\n", "2e12 layers (repeat: 1,000,000,000,000 of unit "
                                                               "'Block', which has 2 layers)"),
    ("  - {type: Unit, unit: Outer, repeat: 1000}\n", "2e06 layers (repeat: 1,000 of unit 'Outer', which has "
                                                      "2,000 layers)"),
    ("  - {type: RepeatStart, times: 1000000000}\n  - {type: ReLU}\n  - {type: RepeatEnd}\n",
     "1e09 layers (times: 1,000,000,000 of 1 layers)"),
], ids=["repeat", "nested", "times"])
def test_layer_counts_beyond_any_machine_are_refused_before_expanding(expansion_calls, layers, fragment):
    refused(project(BLOCK + "network:\n  - {type: Input, size: [4]}\n" + layers), fragment, "200,000")
    assert len(expansion_calls) <= 1        # the network's own list; not one repetition


def test_parameters_beyond_any_machine_are_refused_with_the_estimate():
    refused(project("""
        network:
          - {type: Input, size: [100000]}
          - {type: Affine, name: huge, out_shape: 79000000000000000}
        """), "layer 'huge' (Affine)", "7.9e21 parameters = 3.2e13 GB")


def test_activation_memory_beyond_any_machine_is_refused_with_the_estimate():
    refused(project("""
        network:
          - {type: Input, size: [1, 8, 8]}
          - {type: Tile, name: tile, reps: [100000, 100000]}
        """), "layer 'tile' (Tile)", "6.4e11 values = 2,560.0 GB per sample")


@pytest.mark.e2e
def test_the_limits_hold_for_run_too(tmp_path):
    path = tmp_path / "project.yaml"
    path.write_text(project(BLOCK + "network:\n  - {type: Input, size: [4]}\n"
                            "  - {type: Unit, unit: Block, repeat: 1000000000000}\n"))
    one_line_error(run_capped("run", path, "-o", tmp_path / "run"), "2e12 layers")
    assert not (tmp_path / "run").exists()


def _traced_lines(repeat: int) -> int:
    """Python lines nncgraph executes to `check` a chain of `repeat` two-layer units: a count of the
    work, free of the machine's speed."""
    from nncgraph.graph.network_table import check_project, check_text

    text = project(f"""
        units:
          Block:
            layers:
              - {{type: Affine, out_shape: 4}}
              - {{type: ReLU}}
        network:
          - {{type: Input, size: [4]}}
          - {{type: Unit, unit: Block, repeat: {repeat}}}
          - {{type: Affine, out_shape: 3}}
          - {{type: SoftmaxCrossEntropy, target: y}}
        """)
    package = os.path.join(ROOT, "nncgraph")
    count = [0]

    def local(frame, event, arg):
        if event == "line":
            count[0] += 1
        return local

    def calls(frame, event, arg):
        return local if frame.f_code.co_filename.startswith(package) else None

    sys.settrace(calls)
    try:
        check_text(check_project(parse_project(text, "project.yaml")))
    finally:
        sys.settrace(None)
    return count[0]


@pytest.mark.slow
def test_check_work_grows_linearly_with_the_layers():
    small, large = _traced_lines(50), _traced_lines(400)
    assert large <= 9 * small, (small, large, large / small)


def test_the_cyclic_collector_waits_while_check_walks_the_layers(monkeypatch):
    """Its full passes rescan every live object, which made check superlinear in the layer count."""
    import gc

    from nncgraph.graph import variants

    seen = []
    real = variants.infer
    monkeypatch.setattr(variants, "infer", lambda *a: seen.append(gc.isenabled()) or real(*a))
    checked(project(NETWORK))
    assert seen and not any(seen)
    assert gc.isenabled()
