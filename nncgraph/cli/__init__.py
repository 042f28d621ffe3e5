"""The command line: `nncgraph run|check|render|layers|schema|dataset`."""
