"""Derive the training, validation and runtime variants from one network.

As Caffe's TRAIN/TEST rules did, one description yields every variant, so they
can never drift apart:
- training: everything but validation metrics (Dropout on, batch statistics);
- validation: everything (Dropout off, running statistics; layers decide via
  `EmitContext.train`);
- runtime: losses, metrics and their targets removed, and the layers that read
  no sample (a penalty on a Parameter); a loss that includes an activation
  (SoftmaxCrossEntropy, SigmoidCrossEntropy) leaves that activation as the
  output, as NNC's runtime network does.
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
    kept: List[Node] = _sample_dependent(graph)
    names, predictions = {n.name for n in graph.nodes}, {n.name for n in kept}
    for loss in graph.nodes:
        activation = getattr(loss.layer, "runtime_activation", None)
        if loss.layer.role != "loss" or not activation or loss.inputs[0] not in predictions:
            continue
        source = loss.inputs[0]
        if any(n.inputs == (source,) and n.type == activation for n in kept):
            continue   # the network already applies it
        name = activation if activation not in names else f"{source}_{activation}"
        names.add(name)
        props = {"axis": loss.props["axis"]} if "axis" in loss.props else {}
        kept.append(Node(name, activation, props, (source,), loss.location))
    return Graph(graph.name, kept)


def _sample_dependent(graph: Graph) -> List[Node]:
    """The nodes left once losses and metrics go: those that read a sample, and what they read. A branch
    that reads no sample (a penalty on a Parameter, summed into the loss) has no output to give."""
    reads_data = set()
    for n in graph.nodes:       # topological: inputs first
        if n.layer.role == "input" or any(i in reads_data for i in n.inputs):
            reads_data.add(n.name)
    wanted = {n.name for n in graph.nodes if n.layer.role not in ("loss", "metric")
              and (n.name in reads_data or not reads_data)}      # a network without inputs keeps every layer
    for n in reversed(graph.nodes):
        if n.name in wanted:
            wanted.update(n.sources)
    return [n for n in graph.nodes if n.name in wanted]


def variant_graphs(project, network: str, variants=VARIANTS) -> Dict[str, InferredGraph]:
    """The project's network `network`, expanded once, as each variant with shapes and costs."""
    graph = network_graph(project, network)
    return {v: infer(derive(graph, v), v) for v in variants}


def variant_graph(project, network: str, variant: str) -> InferredGraph:
    return variant_graphs(project, network, (variant,))[variant]
