"""Compile inferred graphs to nnabla. The only place (with training) that imports nnabla."""
