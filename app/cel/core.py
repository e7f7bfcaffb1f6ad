"""The CEL basics shared by the checker (app.cel.expressions) and the evaluator
(app.cel.evaluate): parsing, errors, and the size and nesting limits an expression must keep."""
from __future__ import annotations

from functools import lru_cache

import celpy
import lark
from celpy.celparser import CELParseError

ENV = celpy.Environment()


class ExpressionError(Exception):
    """A condition failed to parse or evaluate."""


class TooComplex(ExpressionError):
    """The expression is over a size or nesting limit (refused at save time; never evaluated)."""


class BudgetExceeded(ExpressionError):
    """Evaluation used up its CPU-time budget and was stopped."""


# --- limits: checked before anything walks the tree recursively ----------------------------------
# The parser itself is not recursive, but the type checker and cel-python's evaluator are: these
# keep the tree shallow enough for them, and the evaluation cost within reach of the budget.
TOO_COMPLEX = "too complex"
MAX_LENGTH = 4000          # characters
MAX_NESTING = 20           # brackets and calls inside each other
MAX_OPERATORS = 200        # ||, &&, comparisons, arithmetic
MAX_MACRO_NESTING = 2      # all/exists/exists_one/map/filter inside each other
MAX_TREE_DEPTH = 500       # parse-tree levels (any other deep shape, e.g. !!!!!!x)
DEFAULT_BUDGET_MS = 50.0   # CPU time one evaluation may use (configurable: CEL_BUDGET_MS)
_NESTING = {"paren_expr", "list_lit", "map_lit", "member_dot_arg", "ident_arg", "dot_ident_arg", "member_index",
            "member_object"}
_OPERATORS = {"conditionalor", "conditionaland", "relation", "addition", "multiplication", "expr"}
_MACRO_NAMES = {"all", "exists", "exists_one", "map", "filter"}


def _measure(tree: lark.Tree) -> tuple[int, int, int, int]:
    """(max bracket nesting, operators, max macro nesting, tree depth), walking without recursion."""
    nesting = operators = macros = depth = 0
    stack = [(tree, 1, 0, 0)]
    while stack:
        node, level, nest, macro = stack.pop()
        depth = max(depth, level)
        if node.data in _NESTING:
            nest += 1
        if node.data in _OPERATORS and len(node.children) > 1:
            operators += 1
        if node.data == "member_dot_arg" and str(node.children[1]) in _MACRO_NAMES:
            macro += 1
        nesting, macros = max(nesting, nest), max(macros, macro)
        stack.extend((c, level + 1, nest, macro) for c in node.children if isinstance(c, lark.Tree))
    return nesting, operators, macros, depth


@lru_cache(maxsize=2048)
def complexity_error(expr: str, *, saving: bool = True) -> str | None:
    """Why ``expr`` is over a limit, in plain words (starting with "too complex"); None if within them.

    ``saving=False`` (evaluation) skips the macro-nesting limit: what an old Version's nested macros
    cost is the budget's to judge; the other limits keep cel-python's recursion within the stack."""
    if len(expr) > MAX_LENGTH:
        return f"{TOO_COMPLEX}: {len(expr)} characters long, at most {MAX_LENGTH} are allowed"
    try:
        tree = parse_tree(expr)
    except CELParseError:
        return None  # a syntax error, reported as such by check()
    nesting, operators, macros, depth = _measure(tree)
    if nesting > MAX_NESTING:
        return f"{TOO_COMPLEX}: brackets nested {nesting} deep, at most {MAX_NESTING} are allowed"
    if operators > MAX_OPERATORS:
        return f"{TOO_COMPLEX}: {operators} operators, at most {MAX_OPERATORS} are allowed; split the condition"
    if saving and macros > MAX_MACRO_NESTING:
        return (f"{TOO_COMPLEX}: all/exists/map/filter nested {macros} deep, at most {MAX_MACRO_NESTING} "
                "are allowed")
    if depth > MAX_TREE_DEPTH:
        return f"{TOO_COMPLEX}: nested too deeply"
    return None


@lru_cache(maxsize=2048)
def parse_tree(expr: str) -> lark.Tree:
    return ENV.compile(expr)


def syntax_message(exc: CELParseError) -> str:
    return f"syntax error at column {getattr(exc, 'column', None) or 1}"
