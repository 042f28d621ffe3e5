"""Graph IR: units expanded into named nodes and edges, their variants, the shape + cost pass, and the
expanded project rendered back as YAML."""
