"""CEL conditions over a Table's Fields: the static type check at save time (cel-python parses,
never eval). Evaluation lives in app.cel.evaluate, limits and errors in app.cel.core;
this module is the one others import.

Numbers: every numeric Field value is passed to CEL as a double, and the comparison and
arithmetic operators promote int/uint operands to double when mixed with one, so
``budget > 1000``, ``budget == 5`` and ``size(name) == 3.0`` all work as people expect.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lark
from celpy.celparser import CELParseError

from app.cel.core import (DEFAULT_BUDGET_MS, TOO_COMPLEX, BudgetExceeded, ExpressionError, TooComplex,
                                  parse_tree, syntax_message, complexity_error)
from app.cel.evaluate import evaluate, evaluate_value

__all__ = ["FieldInfo", "ExpressionError", "BudgetExceeded", "TooComplex", "check", "complexity_error",
           "evaluate", "evaluate_value", "identifiers", "DEFAULT_BUDGET_MS", "TOO_COMPLEX"]

FIELD_CEL_TYPES = {"number": "number", "text": "string", "email": "string", "phone": "string",
                   "url": "string", "choice": "string", "date": "string", "datetime": "string",
                   "boolean": "bool", "json": "dyn", "file": "dyn"}
_LITERALS = {"INT_LIT": "number", "UINT_LIT": "number", "FLOAT_LIT": "number",
             "STRING_LIT": "string", "MLSTRING_LIT": "string", "BYTES_LIT": "bytes",
             "BOOL_LIT": "bool", "NULL_LIT": "null"}
_FUNCTIONS = {"int": "number", "uint": "number", "double": "number", "string": "string",
              "bool": "bool", "bytes": "bytes", "timestamp": "timestamp", "duration": "duration",
              "dyn": "dyn", "type": "dyn"}
_STRING_METHODS = {"startsWith", "endsWith", "contains", "matches"}
_MACROS = {"all": "bool", "exists": "bool", "exists_one": "bool", "map": "list", "filter": "list"}
_TIME_METHODS = {"getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getFullYear",
                 "getMonth", "getHours", "getMilliseconds", "getMinutes", "getSeconds"}
_ORDERED = {"number", "string", "bytes", "bool", "timestamp", "duration", "dyn", "null"}
_REL_OPS = {"relation_lt": "<", "relation_le": "<=", "relation_gt": ">", "relation_ge": ">=",
            "relation_eq": "==", "relation_ne": "!=", "relation_in": "in"}
_ARITH = {"addition_add": "+", "addition_sub": "-", "multiplication_mul": "*",
          "multiplication_div": "/", "multiplication_mod": "%"}
@dataclass(frozen=True)
class FieldInfo:
    """What the checker needs to know about a Field."""
    key: str
    type: str
    options: dict = field(default_factory=dict)


def _bare_ident(tree: Any) -> str | None:
    """The name if ``tree`` is nothing but an identifier (macro variables)."""
    while isinstance(tree, lark.Tree) and tree.data != "ident" and len(tree.children) == 1:
        tree = tree.children[0]
    if isinstance(tree, lark.Tree) and tree.data == "ident":
        return str(tree.children[0])
    return None


def _args(children: list) -> list:
    lists = [c for c in children if isinstance(c, lark.Tree) and c.data == "exprlist"]
    return list(lists[0].children) if lists else []


class _Checker:
    """Infers a coarse CEL type for each node, collecting error messages."""

    def __init__(self, fields: dict[str, FieldInfo] | None) -> None:
        self.fields, self.errors, self.idents = fields, [], set()

    def err(self, message: str) -> str:
        if message not in self.errors:
            self.errors.append(message)
        return "dyn"

    def visit(self, t: lark.Tree, scope: frozenset = frozenset()) -> str:
        handler = getattr(self, "_" + t.data, None)
        if handler is None:
            return self.err(f"unsupported expression ({t.data})")
        return handler(t, scope)

    def _kids(self, t: lark.Tree, scope: frozenset) -> list[str]:
        return [self.visit(c, scope) for c in t.children if isinstance(c, lark.Tree)]

    def _expr(self, t, scope):
        kinds = self._kids(t, scope)
        if len(kinds) == 1:
            return kinds[0]
        cond, a, b = kinds
        if cond not in ("bool", "dyn"):
            self.err(f'"? :" needs a bool condition, got {cond}')
        return a if a == b or b == "null" else b if a == "null" else "dyn"

    def _logic(self, t, scope, op):
        kinds = self._kids(t, scope)
        if len(kinds) == 1:
            return kinds[0]
        for k in kinds:
            if k not in ("bool", "dyn"):
                self.err(f'"{op}" needs bool operands, got {k}')
        return "bool"

    def _conditionalor(self, t, scope):
        return self._logic(t, scope, "||")

    def _conditionaland(self, t, scope):
        return self._logic(t, scope, "&&")

    def _relation(self, t, scope):
        if len(t.children) == 1:
            return self.visit(t.children[0], scope)
        op_tree, right_tree = t.children
        op = _REL_OPS[op_tree.data]
        left, right = self.visit(op_tree.children[0], scope), self.visit(right_tree, scope)
        if op == "in":
            if right not in ("list", "map", "dyn"):
                self.err(f'"in" needs a list or map on the right, got {right}')
        elif not (left == right or {"dyn", "null"} & {left, right}):
            self.err(f"cannot compare {left} with {right}")
        elif op not in ("==", "!=") and not {left, right} <= _ORDERED:
            self.err(f"cannot order {left} with {right}")
        return "bool"

    def _arith(self, t, scope):
        if len(t.children) == 1:
            return self.visit(t.children[0], scope)
        op_tree, right_tree = t.children
        op = _ARITH[op_tree.data]
        left, right = self.visit(op_tree.children[0], scope), self.visit(right_tree, scope)
        pair = (left, right)
        if "dyn" in pair:
            other = right if left == "dyn" else left
            keeps = ("number", "string", "list") if op == "+" else ("number",)
            return other if other in keeps else "dyn"
        if pair == ("number", "number"):
            return "number"
        if op == "+" and left == right and left in ("string", "list", "bytes", "duration"):
            return left
        if op in "+-" and pair in (("timestamp", "duration"), ("duration", "timestamp")):
            return "timestamp"
        if op == "-" and pair in (("timestamp", "timestamp"), ("duration", "duration")):
            return "duration"
        return self.err(f'cannot apply "{op}" to {left} and {right}')

    _addition = _multiplication = _arith

    def _unary(self, t, scope):
        if len(t.children) == 1:
            return self.visit(t.children[0], scope)
        op, kind = t.children[0].data, self.visit(t.children[1], scope)
        if op == "unary_not":
            return "bool" if kind in ("bool", "dyn") else self.err(f'"!" needs a bool, got {kind}')
        return kind if kind in ("number", "duration", "dyn") else self.err(f'"-" needs a number, got {kind}')

    def _member(self, t, scope):
        return self.visit(t.children[0], scope)

    _primary = _paren_expr = _member

    def _member_dot(self, t, scope):
        kind = self.visit(t.children[0], scope)
        if kind in ("map", "dyn"):
            return "dyn"
        return self.err(f'cannot select "{t.children[1]}" from {kind}')

    def _member_index(self, t, scope):
        kind, index = self.visit(t.children[0], scope), self.visit(t.children[1], scope)
        if kind == "list" and index not in ("number", "dyn"):
            self.err(f"a list index must be a number, got {index}")
        elif kind not in ("list", "map", "dyn"):
            self.err(f"cannot index {kind}")
        return "dyn"

    def _member_object(self, t, scope):
        return self.err("message construction is not supported")

    def _member_dot_arg(self, t, scope):
        name, args = str(t.children[1]), _args(t.children)
        receiver = self.visit(t.children[0], scope)
        if name in _MACROS:
            var = _bare_ident(args[0]) if len(args) == 2 else None
            if var is None:
                return self.err(f'"{name}" needs a variable and an expression')
            if receiver not in ("list", "map", "dyn"):
                self.err(f'"{name}" needs a list or map, got {receiver}')
            body = self.visit(args[1], scope | {var})
            if _MACROS[name] == "bool" or name == "filter":
                if body not in ("bool", "dyn"):
                    self.err(f'"{name}" needs a bool expression, got {body}')
            return _MACROS[name]
        for a in args:
            self.visit(a, scope)
        return self._call(name, [receiver] + [None] * len(args))

    def _call(self, name: str, kinds: list) -> str:
        """Result type of ``name`` applied to a receiver/first argument of type kinds[0]."""
        first = kinds[0] if kinds else None
        if name in _STRING_METHODS:
            if first not in ("string", "dyn"):
                self.err(f'"{name}" needs a string, got {first}')
            return "bool"
        if name == "size":
            if first not in ("string", "list", "map", "bytes", "dyn"):
                self.err(f'"size" needs a string, list or map, got {first}')
            return "number"
        if name in _TIME_METHODS:
            return "number"
        if name in _FUNCTIONS:
            return _FUNCTIONS[name]
        return self.err(f'unknown function "{name}"')

    def _ident_arg(self, t, scope):
        name, args = str(t.children[0]), _args(t.children)
        if name == "has":
            inner = args[0] if len(args) == 1 else None
            while isinstance(inner, lark.Tree) and inner.data != "member_dot" and len(inner.children) == 1:
                inner = inner.children[0]
            if not (isinstance(inner, lark.Tree) and inner.data == "member_dot"):
                return self.err('"has" needs a field selection like has(data.key)')
            self.visit(inner.children[0], scope)
            return "bool"
        kinds = [self.visit(a, scope) for a in args]
        return self._call(name, kinds)

    _dot_ident_arg = _ident_arg

    def _ident(self, t, scope):
        name = str(t.children[0])
        if name in scope:
            return "dyn"
        self.idents.add(name)
        if self.fields is None:
            return "dyn"
        info = self.fields.get(name)
        if info is None:
            return self.err(f'unknown field "{name}"')
        return FIELD_CEL_TYPES.get(info.type, "dyn")

    _dot_ident = _ident

    def _literal(self, t, scope):
        return _LITERALS.get(t.children[0].type, "dyn")

    def _list_lit(self, t, scope):
        for c in _args(t.children):
            self.visit(c, scope)
        return "list"

    def _map_lit(self, t, scope):
        for inits in t.children:
            if isinstance(inits, lark.Tree):
                self._kids(inits, scope)
        return "map"


def check(expr: str, fields: dict[str, FieldInfo], *, want: str = "bool") -> list[str]:
    """Parse and type-check ``expr`` against ``fields``; return error messages (empty if fine).
    An expression over a limit gets that one message (starting with "too complex")."""
    too_complex = complexity_error(expr)
    if too_complex:
        return [too_complex]
    try:
        tree = parse_tree(expr)
    except CELParseError as exc:
        return [syntax_message(exc)]
    checker = _Checker(fields)
    kind = checker.visit(tree)
    if want == "bool" and kind not in ("bool", "dyn"):
        checker.err(f"must be a boolean condition, got {kind}")
    return checker.errors


def identifiers(expr: str) -> set[str]:
    """The Field keys ``expr`` reads (macro variables excluded). Raises ExpressionError on bad syntax,
    TooComplex over a limit."""
    too_complex = complexity_error(expr)
    if too_complex:
        raise TooComplex(too_complex)
    try:
        tree = parse_tree(expr)
    except CELParseError as exc:
        raise ExpressionError(syntax_message(exc)) from None
    checker = _Checker(None)
    checker.visit(tree)
    return set(checker.idents)
