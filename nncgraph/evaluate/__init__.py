"""Evaluation and inference with a trained run: `nncgraph evaluate` and `nncgraph infer`."""
