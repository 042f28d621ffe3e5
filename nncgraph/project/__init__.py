"""Project files: YAML with source locations -> a typed, validated Project."""
