"""Graph IR: named nodes and edges, their variants, and the shape + cost pass."""
