"""Hypothesis strategies for the values a hostile or careless user writes, shared by the fuzz tests:
wrong types, edge and absurd numbers, odd text, nested containers, and edits of text and bytes."""
from __future__ import annotations

from hypothesis import strategies as st

# Numbers at the edges of what the loader, numpy and nnabla keep (int32, int64, float32, float64).
EDGE_INTS = [0, 1, -1, 2, 3, 7, 255, 256, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 63 - 1, 2 ** 63, -2 ** 63, 10 ** 12,
             10 ** 30, 10 ** 400]
EDGE_FLOATS = [0.0, -0.0, 1e-300, 5e-324, 1e-8, 0.5, 1.0, -1.0, 1e30, 3.5e38, 1.7e308, float("inf"),
               float("-inf"), float("nan")]
ODD_TEXT = ["", " ", "  x ", "$maps", "$input_shape[0]", "$input_shape[9]", "$a ** $a ** $a", "${maps}", "1e-3",
            "1.0e-3", "0x10", "3,3", "[3, 3]", "None", "null", "~", "true", "yes", "NaN", ".inf", "../../etc",
            "/etc/passwd", "a/b", "C:\\x", "*Name", "x" * 300, "Ｃｏｎｖｏｌｕｔｉｏｎ", "ReLU ", "relu", "\t", "é",
            "\u202e", "\u0000", "\x7f", "\ud800", "🙂", "x:image", "Input", "Unit", "RepeatStart"]

scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(-3, 300), st.sampled_from(EDGE_INTS), st.integers(),
    st.sampled_from(EDGE_FLOATS), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_TEXT), st.text(max_size=12),
)

values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=6), st.integers(-2, 2)), inner,
                    max_size=3)), max_leaves=8)


def nested(value, depth: int):
    """`value` inside `depth` one-element lists."""
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def typo(draw, word: str) -> str:
    """`word` with one character dropped, doubled, swapped, changed or its case flipped."""
    if not word:
        return draw(st.text(min_size=1, max_size=3))
    i = draw(st.integers(0, len(word) - 1))
    how = draw(st.sampled_from(["drop", "double", "swap", "change", "case", "space"]))
    if how == "drop":
        return word[:i] + word[i + 1:]
    if how == "double":
        return word[:i] + word[i] + word[i:]
    if how == "swap" and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if how == "change":
        return word[:i] + draw(st.characters()) + word[i + 1:]
    if how == "space":
        return word[:i] + " " + word[i:]
    return word.swapcase()


ALIAS_BOMB = "".join(f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 9) + "]\n" if i else "b0: &b0 [x, x, x]\n"
                     for i in range(9))


@st.composite
def edited_text(draw, text: str) -> bytes:
    """`text` as UTF-8 with one to three edits a user or a broken disk makes: truncation, lost, doubled
    or swapped lines, inserted text or bytes, other line ends, tabs, a byte-order mark, appended bombs."""
    data = text.encode("utf-8", "surrogatepass")
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["truncate", "drop_line", "double_line", "swap_lines", "insert_text",
                                    "insert_bytes", "crlf", "cr", "tabs", "bom", "indent", "bomb", "deep",
                                    "long_number", "anchor"]))
        lines = data.split(b"\n")
        at = draw(st.integers(0, len(data)))
        if how == "truncate":
            data = data[:at]
        elif how in ("drop_line", "double_line", "swap_lines", "indent") and lines:
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if how == "drop_line":
                del lines[i]
            elif how == "double_line":
                lines.insert(i, lines[i])
            elif how == "swap_lines":
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines[i] = b" " * draw(st.integers(1, 5)) + lines[i]
            data = b"\n".join(lines)
        elif how == "insert_text":
            piece = draw(st.one_of(st.text(max_size=8), st.sampled_from(
                [":", ": ", "- ", "{", "}", "[", "]", "&a ", "*a", "!!python/object:os.system ", "!!binary ",
                 "? ", "<<: ", "'", '"', "#", "|", ">", "%YAML 1.1\n", "---\n", "...\n", "\t"])))
            data = data[:at] + piece.encode("utf-8", "surrogatepass") + data[at:]
        elif how == "insert_bytes":
            data = data[:at] + draw(st.binary(min_size=1, max_size=6)) + data[at:]
        elif how == "crlf":
            data = data.replace(b"\n", b"\r\n")
        elif how == "cr":
            data = data.replace(b"\n", b"\r")
        elif how == "tabs":
            data = data.replace(b"  ", b"\t")
        elif how == "bom":
            data = b"\xef\xbb\xbf" + data
        elif how == "bomb":
            data += b"\n" + ALIAS_BOMB.encode()
        elif how == "deep":
            depth = draw(st.sampled_from([50, 99, 100, 101, 150, 5000]))
            data += b"\ndeep: " + b"[" * depth + b"]" * depth + b"\n"
        elif how == "long_number":
            data = data[:at] + b"9" * draw(st.sampled_from([19, 20, 400, 4300, 4301, 10000])) + data[at:]
        else:
            data = data[:at] + b"&x " + data[at:] + b"\nagain: *x\n"
    return data
