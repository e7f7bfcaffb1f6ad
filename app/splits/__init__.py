"""Splits: weighted, sticky assignment of new Tasks among variant Processes or Versions. Changing
them is `operations`; the assignment itself is the engine's (app.runtime.variants)."""
from app.splits.operations import (assign, check_can_edit, create_split, get_split, set_weights, shares,
                                   split_payload, tasks_assigned, weights_of)

__all__ = ["assign", "check_can_edit", "create_split", "get_split", "set_weights", "shares", "split_payload",
           "tasks_assigned", "weights_of"]
