"""Evaluating CEL (cel-python's interpreter) over a Task's Field values, within a CPU-time budget.

Numbers: every numeric Field value is passed to CEL as a double, and the comparison and
arithmetic operators promote int/uint operands to double when mixed with one (see
app.cel.expressions)."""
from __future__ import annotations

import datetime
import decimal
import math
import operator
import time
from functools import lru_cache
from typing import Any, Callable

import celpy
import lark
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import Evaluator, base_functions, operator_in

from app.cel.core import (ENV, DEFAULT_BUDGET_MS, BudgetExceeded, ExpressionError, TooComplex, parse_tree,
                                  syntax_message, complexity_error)

_INTS = (celtypes.IntType, celtypes.UintType)


def _promote(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(a, _INTS) and isinstance(b, celtypes.DoubleType):
        return celtypes.DoubleType(a), b
    if isinstance(b, _INTS) and isinstance(a, celtypes.DoubleType):
        return a, celtypes.DoubleType(b)
    return a, b


def _celify(result: Any) -> Any:
    """Python arithmetic on celtypes may return plain floats/ints; wrap them back."""
    if type(result) is float:
        return celtypes.DoubleType(result)
    return celtypes.IntType(result) if type(result) is int else result


def _promoting(func: Callable) -> Callable:
    return lambda a, b: _celify(func(*_promote(a, b)))


def _mod(a: Any, b: Any) -> Any:
    a, b = _promote(a, b)
    if isinstance(a, celtypes.DoubleType) and isinstance(b, celtypes.DoubleType):
        return celtypes.DoubleType(math.fmod(a, b))
    return operator.mod(a, b)


def _in(item: Any, container: Any) -> Any:
    if isinstance(item, (*_INTS, celtypes.DoubleType)) and isinstance(container, celtypes.ListType):
        container = celtypes.ListType(celtypes.DoubleType(x) if isinstance(x, _INTS) else x
                                      for x in container)
        item = celtypes.DoubleType(item)
    return operator_in(item, container)


_OVERRIDES = {name: _promoting(base_functions[name])
              for name in ("_<_", "_<=_", "_>_", "_>=_", "_==_", "_!=_", "_+_", "_-_", "_*_", "_/_")}
_OVERRIDES.update({"_%_": _mod, "_in_": _in})


@lru_cache(maxsize=2048)
def _program(expr: str) -> tuple[Any, frozenset[str], Any]:
    """The runner, the names to bind (every identifier; macro variables shadow theirs) and its base
    activation (built once: cel-python clones it for each evaluation's values, and building it loads
    every function annotation, ~a third of a small expression's evaluation). An expression over a
    limit is refused before anything walks it recursively."""
    too_complex = complexity_error(expr, saving=False)
    if too_complex:
        raise TooComplex(too_complex)
    tree = parse_tree(expr)
    names = frozenset(str(node.children[0]) for node in tree.iter_subtrees()
                      if node.data in ("ident", "dot_ident") and node.children)
    program = ENV.program(_pruned(tree), functions=_OVERRIDES)
    return program, names, program.new_activation()


# grammar rules whose node, with a single child, only hands its child's value up (cel-python's
# Evaluator: `if len(tree.children) == 1: return self.visit_children(tree)[0]`)
_PASS_THROUGH = frozenset({"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication",
                           "unary"})


def _pruned(tree: lark.Tree) -> lark.Tree:
    """The tree without those single-child links: `a > 1005` walks 8 nodes instead of 18 (each visit also
    checks the CPU budget). Same values and errors: only nodes that return their child's value go."""
    while tree.data in _PASS_THROUGH and len(tree.children) == 1 and isinstance(tree.children[0], lark.Tree):
        tree = tree.children[0]
    children = [_pruned(c) if isinstance(c, lark.Tree) else c for c in tree.children]
    return lark.Tree(tree.data, children, getattr(tree, "_meta", None))


def _to_cel(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return None if value is None else celtypes.BoolType(value)
    if isinstance(value, (int, float, decimal.Decimal)):
        return celtypes.DoubleType(float(value))
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return celtypes.StringType(value.isoformat())
    if isinstance(value, (list, tuple)):
        return celtypes.ListType(_to_cel(v) for v in value)
    if isinstance(value, dict):
        return celtypes.MapType({celtypes.StringType(str(k)): _to_cel(v) for k, v in value.items()})
    return celpy.json_to_cel(value)


def _from_cel(value: Any) -> Any:
    if value is None or isinstance(value, (celtypes.BoolType, bool)):
        return None if value is None else bool(value)
    if isinstance(value, _INTS):
        return int(value)
    if isinstance(value, (celtypes.DoubleType, float)):
        return float(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, celtypes.BytesType):
        return bytes(value)
    if isinstance(value, celtypes.ListType):
        return [_from_cel(v) for v in value]
    if isinstance(value, celtypes.MapType):
        return {_from_cel(k): _from_cel(v) for k, v in value.items()}
    return str(value)


class _OutOfTime(Exception):
    """Raised inside the evaluator; not a CELEvalError, so no macro or short-circuit swallows it."""


class _BudgetEvaluator(Evaluator):
    """cel-python's tree-walking evaluator, checking its CPU-time deadline at every node it visits
    (macros evaluate their bodies with sub-evaluators: those share the deadline)."""

    def __init__(self, ast: lark.Tree, activation: Any, deadline: float) -> None:
        super().__init__(ast, activation)
        self.deadline = deadline

    def sub_evaluator(self, ast: lark.Tree) -> Evaluator:
        return _BudgetEvaluator(ast, self.activation, self.deadline)

    def visit(self, tree: lark.Tree) -> Any:
        if time.thread_time() > self.deadline:
            raise _OutOfTime
        return super().visit(tree)


def evaluate_value(expr: str, values: dict, *, budget_ms: float = DEFAULT_BUDGET_MS) -> Any:
    """Evaluate ``expr`` over Field ``values`` (absent Fields are null); return a plain Python value.

    The evaluation may use ``budget_ms`` of this thread's CPU time (not wall-clock time, so a busy
    server does not fail conditions that merely waited); past it, BudgetExceeded."""
    try:
        program, names, base = _program(expr)
    except CELParseError as exc:
        raise ExpressionError(syntax_message(exc)) from None
    activation = {name: _to_cel(values.get(name)) for name in names}
    evaluator = _BudgetEvaluator(program.ast, base, time.thread_time() + budget_ms / 1000)
    try:
        result = evaluator.evaluate(activation)
    except _OutOfTime:
        raise BudgetExceeded(f"took longer than its budget of {budget_ms:g} ms and was stopped") from None
    except Exception as exc:  # noqa: BLE001 - celpy raises assorted types; all mean "failed"
        raise ExpressionError(_short(exc)) from None
    if isinstance(result, celpy.CELEvalError):
        raise ExpressionError(_short(result))
    return _from_cel(result)


def _short(exc: BaseException) -> str:
    message = str(exc.args[0] if exc.args else type(exc).__name__)
    return message.split(" (in activation")[0].splitlines()[0][:300]


def evaluate(expr: str, values: dict, *, budget_ms: float = DEFAULT_BUDGET_MS) -> bool:
    """Evaluate a boolean condition; raises ExpressionError if it fails or is not a bool (its
    subclasses TooComplex and BudgetExceeded when it is over a limit)."""
    result = evaluate_value(expr, values, budget_ms=budget_ms)
    if not isinstance(result, bool):
        raise ExpressionError(f"must be a boolean condition, got {type(result).__name__}")
    return result
