"""Reading and writing NNC and nnabla files."""
