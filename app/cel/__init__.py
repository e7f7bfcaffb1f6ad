"""Conditions and computed values in the Common Expression Language (cel-python, never `eval`):
`expressions` is the API (type check at save time, evaluation at run time), `core` parses with size
and nesting limits, `evaluate` runs within a CPU-time budget."""
