"""Generator inputs: the values an Input with a `generator` (NNC's Generator) gets for each batch.

nnabla_cli fills such a variable before every forward pass with nnabla's
initializer of the same name (utils/load.py `_get_generator`): Normal is
N(0, m^2) (sigma = m), Uniform U(-m, m), Constant m, Range 0, m, 2m, ...
along the last axis, m being the generator multiplier. Here they are drawn
with those distributions, engine-independently, as a pure function of the
training seed, the input's name, where in the run the batch is and the row:
a training batch is drawn at (TRAINING, epoch, iteration), the samples of an
evaluation pass at (EVALUATION,) and their sample numbers. So two runs with
the same seed draw the same values, a resumed run draws what the
uninterrupted one would have, every iteration draws anew, and every
evaluation pass (validation after any epoch, `evaluate`, `infer`) gives
sample i the same values whatever the batch size, so its figures agree.

Rows come in blocks of BLOCK, each block drawn from a generator state of its
own (a hash of seed, place, name and block number): row r is drawn without
drawing the rows before it, at the cost of at most two part-used blocks a batch.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Dict, Tuple

import numpy as np

from ..layers.io import is_generated

TRAINING, EVALUATION = 0, 1     # the first word of where a batch is drawn


@dataclass(frozen=True)
class GeneratedInput:
    name: str                       # the Input layer's name: the batch key its values go under
    shape: Tuple[int, ...]          # one sample, without the batch axis
    generator: str                  # Normal, Uniform, Constant or Range
    multiplier: float


def generated_inputs(inferred) -> Tuple[GeneratedInput, ...]:
    """The generator inputs of an inferred variant, in graph order."""
    return tuple(GeneratedInput(i.node.name, tuple(i.out_shape), i.node.props["generator"],
                                float(i.node.props["generator_multiplier"]))
                 for i in inferred.ordered() if is_generated(i.node))


def draw(generator: str, multiplier: float, shape: Tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """float32 values of `shape` (rows first) with that generator's distribution."""
    if generator == "Normal":
        values = rng.standard_normal(shape, np.float32) * np.float32(multiplier)
    elif generator == "Uniform":
        values = (rng.random(shape, np.float32) * np.float32(2 * multiplier) - np.float32(multiplier))
    elif generator == "Constant":
        values = np.full(shape, multiplier, np.float32)
    elif generator == "Range":
        values = np.broadcast_to(np.arange(shape[-1], dtype=np.float32) * np.float32(multiplier), shape)
    else:
        raise ValueError(f"unknown generator {generator!r}")
    return np.ascontiguousarray(values, np.float32)


BLOCK = 16                          # rows drawn from one generator state
RANDOM = ("Normal", "Uniform")      # the others draw nothing: their rows need no blocks


@dataclass(frozen=True)
class Draws:
    """What a compiled network's generator inputs get, batch by batch. Not shared between threads: each
    compiled network has its own."""

    inputs: Tuple[GeneratedInput, ...]
    batch_size: int
    seed: int
    # one generator, its state set per block (a new one would cost a SeedSequence, ~0.1 ms)
    _rng: np.random.Generator = field(default_factory=lambda: np.random.Generator(np.random.PCG64(0)),
                                      repr=False, compare=False)

    def at(self, where: Tuple[int, ...], first_row: int = 0) -> Dict[str, np.ndarray]:
        """{input name: values of one batch}: rows first_row.. of the draws at `where`, (TRAINING, epoch,
        iteration) or (EVALUATION,); {} for a network without generator inputs."""
        if not self.inputs:
            return {}
        first_block, end_block = first_row // BLOCK, -(-(first_row + self.batch_size) // BLOCK)
        offset = first_row - first_block * BLOCK
        out = {}
        for g in self.inputs:
            if g.generator not in RANDOM:
                out[g.name] = draw(g.generator, g.multiplier, (self.batch_size, *g.shape), self._rng)
                continue
            blocks = []
            for block in range(first_block, end_block):
                self._start(where, g.name, block)
                blocks.append(draw(g.generator, g.multiplier, (BLOCK, *g.shape), self._rng))
            out[g.name] = np.concatenate(blocks)[offset:offset + self.batch_size]
        return out

    def _start(self, where: Tuple[int, ...], name: str, block: int) -> None:
        """Put the generator at the state of one block: a hash of everything the block depends on."""
        text = repr((self.seed, tuple(where), name, block)).encode("utf-8")
        state, inc = divmod(int.from_bytes(hashlib.blake2b(text, digest_size=32).digest(), "little"), 1 << 128)
        self._rng.bit_generator.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc | 1},
                                         "has_uint32": 0, "uinteger": 0}
