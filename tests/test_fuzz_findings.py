"""The bugs the fuzz suite (tests/test_fuzz_*.py) found, each pinned by the smallest input that showed it:
a traceback, or an error message that was not one short line, where one clear user error was due."""
from __future__ import annotations

import pytest

from nncgraph.cli.network_table import check_project
from nncgraph.errors import UserError
from nncgraph.project.load import parse_project


def error_of(text: str, path: str = "project.yaml") -> str:
    with pytest.raises(UserError) as caught:
        check_project(parse_project(text, path))
    return str(caught.value)


@pytest.mark.parametrize("character, shown", [("\x00", "U+0000 (NUL)"), ("\x07", "U+0007 (BEL)"),
                                              ("\ud800", "U+D800")])
def test_a_control_character_is_refused_at_its_line(character, shown):
    # PyYAML's reader refused it in the loader's constructor, outside the error handling: a ReaderError
    # traceback, whose text was two lines anyway
    message = error_of(f"name: x\nnetwork:\n  - {{type: Input, size: [{character}1]}}\n")
    assert message.startswith(f"project.yaml:3:26: the file holds the character {shown}, "), message


def test_a_layer_reading_a_loss_output_is_refused_where_it_is_written():
    # the runtime variant drops the loss, so the shape pass looked up its output: KeyError
    message = error_of("network:\n  - {type: Input, size: [1, 3, 3]}\n  - {type: BinaryCrossEntropy}\n"
                       "  - {type: Sigmoid}\n")
    assert message.startswith("project.yaml:4:5: layer 'Sigmoid' (Sigmoid): reads the output of "
                              "'BinaryCrossEntropy' (BinaryCrossEntropy), a loss;"), message
    assert "Fix: take the input from the layer that 'BinaryCrossEntropy' reads instead." in message


def test_a_layer_reading_a_metric_is_refused_too():
    message = error_of("network:\n  - {type: Input, size: [3]}\n  - {type: TopNError, name: top}\n"
                       "  - {type: ReLU, input: top}\n")
    assert "layer 'ReLU' (ReLU): reads the output of 'top' (TopNError), a metric;" in message


@pytest.mark.parametrize("text, start", [
    ("network:\n  - {type: " + "9" * 5000 + "Input}\n", "project.yaml:2:6: unknown layer type '9999"),
    ("datasets:\n  training:\n    ? " + "c" * 5000 + "\n    : x\nnetwork: [{type: Input}]\n",
     "project.yaml:3:7: unknown dataset 'training' key 'cccc"),
    ("network:\n  - {type: Input, name: " + "n" * 5000 + "}\n  - {type: Affine, input: " + "m" * 5000 + "}\n",
     "project.yaml:3:5: layer 'Affine' (Affine): input 'mmmm"),
    ("network:\n  - {type: Input, name: " + "n" * 5000 + ", size: [0]}\n", "project.yaml:2:5027: layer 'nnnn"),
])
def test_a_long_value_is_quoted_shortened(text, start):
    # the messages quoted the whole key, type or name: 5,000 characters on the user's terminal
    message = error_of(text)
    assert message.startswith(start), message[:300]
    assert len(message) < 800 and "characters)" in message, message


def test_a_line_break_in_a_quoted_key_stays_on_the_one_line():
    message = error_of('"na\\nme": x\nnetwork: [{type: Input}]\n')
    assert "\n" not in message and "unknown top-level key 'na\\nme'" in message, message
