"""Derive the training, validation and runtime variants from one network.

As Caffe's TRAIN/TEST rules did, one description yields every variant, so they
can never drift apart:
- training: everything but validation metrics (Dropout on, batch statistics);
- validation: everything (Dropout off, running statistics; layers decide via
  `EmitContext.train`);
- runtime: losses, metrics and their targets removed; a loss that includes an
  activation (SoftmaxCrossEntropy, SigmoidCrossEntropy) leaves that activation
  as the output, as NNC's runtime network does.
`variant_graphs` is the one way from a project's network to its shaped variants.
"""
from __future__ import annotations

from typing import Dict, List

from .ir import Graph, network_graph
from .node import Node
from .shape_pass import InferredGraph, infer

VARIANTS = ("training", "validation", "runtime")


def derive(graph: Graph, variant: str) -> Graph:
    if variant == "training":
        return Graph(graph.name, [n for n in graph.nodes if n.layer.role != "metric"])
    if variant == "validation":
        return Graph(graph.name, list(graph.nodes))
    if variant == "runtime":
        return derive_runtime(graph)
    raise ValueError(f"unknown variant {variant!r}")


def derive_runtime(graph: Graph) -> Graph:
    kept: List[Node] = [n for n in graph.nodes if n.layer.role not in ("loss", "metric")]
    names = {n.name for n in graph.nodes}
    for loss in graph.nodes:
        activation = getattr(loss.layer, "runtime_activation", None)
        if loss.layer.role != "loss" or not activation:
            continue
        source = loss.inputs[0]
        if any(n.inputs == (source,) and n.type == activation for n in kept):
            continue   # the network already applies it
        name = activation if activation not in names else f"{source}_{activation}"
        names.add(name)
        props = {"axis": loss.props["axis"]} if "axis" in loss.props else {}
        kept.append(Node(name, activation, props, (source,), loss.location))
    return Graph(graph.name, kept)


def variant_graphs(project, network: str, variants=VARIANTS) -> Dict[str, InferredGraph]:
    """The project's network `network`, expanded once, as each variant with shapes and costs."""
    graph = network_graph(project, network)
    return {v: infer(derive(graph, v), v) for v in variants}


def variant_graph(project, network: str, variant: str) -> InferredGraph:
    return variant_graphs(project, network, (variant,))[variant]
