"""The nnabla engine: context, lowering of inferred graphs, parameters, monitor, solver states, step."""
