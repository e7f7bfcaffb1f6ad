"""CEL conditions over a Table's Fields: static type check and evaluation (cel-python, never eval).

Numbers: every numeric Field value is passed to CEL as a double, and the comparison and
arithmetic operators promote int/uint operands to double when mixed with one, so
``budget > 1000``, ``budget == 5`` and ``size(name) == 3.0`` all work as people expect.
"""
from __future__ import annotations

import datetime
import decimal
import math
import operator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import celpy
import lark
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import base_functions, operator_in

__all__ = ["FieldInfo", "ExpressionError", "check", "evaluate", "evaluate_value", "identifiers"]

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
_ENV = celpy.Environment()


@dataclass(frozen=True)
class FieldInfo:
    """What the checker needs to know about a Field."""
    key: str
    type: str
    options: dict = field(default_factory=dict)


class ExpressionError(Exception):
    """A condition failed to parse or evaluate."""


@lru_cache(maxsize=2048)
def _compile(expr: str) -> lark.Tree:
    return _ENV.compile(expr)


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
    """Parse and type-check ``expr`` against ``fields``; return error messages (empty if fine)."""
    try:
        tree = _compile(expr)
    except CELParseError as exc:
        return [_syntax(exc)]
    checker = _Checker(fields)
    kind = checker.visit(tree)
    if want == "bool" and kind not in ("bool", "dyn"):
        checker.err(f"must be a boolean condition, got {kind}")
    return checker.errors


def identifiers(expr: str) -> set[str]:
    """The Field keys ``expr`` reads (macro variables excluded). Raises ExpressionError on bad syntax."""
    try:
        tree = _compile(expr)
    except CELParseError as exc:
        raise ExpressionError(_syntax(exc)) from None
    checker = _Checker(None)
    checker.visit(tree)
    return set(checker.idents)


# --- evaluation -------------------------------------------------------------------------------

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
def _program(expr: str) -> tuple[Any, frozenset[str]]:
    return _ENV.program(_compile(expr), functions=_OVERRIDES), frozenset(identifiers(expr))


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


def _syntax(exc: CELParseError) -> str:
    return f"syntax error at column {getattr(exc, 'column', None) or 1}"


def evaluate_value(expr: str, values: dict) -> Any:
    """Evaluate ``expr`` over Field ``values`` (absent Fields are null); return a plain Python value."""
    try:
        program, names = _program(expr)
    except CELParseError as exc:
        raise ExpressionError(_syntax(exc)) from None
    activation = {name: _to_cel(values.get(name)) for name in names}
    try:
        result = program.evaluate(activation)
    except Exception as exc:  # noqa: BLE001 - celpy raises assorted types; all mean "failed"
        raise ExpressionError(_short(exc)) from None
    if isinstance(result, celpy.CELEvalError):
        raise ExpressionError(_short(result))
    return _from_cel(result)


def _short(exc: BaseException) -> str:
    message = str(exc.args[0] if exc.args else type(exc).__name__)
    return message.split(" (in activation")[0].splitlines()[0][:300]


def evaluate(expr: str, values: dict) -> bool:
    """Evaluate a boolean condition; raises ExpressionError if it fails or is not a bool."""
    result = evaluate_value(expr, values)
    if not isinstance(result, bool):
        raise ExpressionError(f"must be a boolean condition, got {type(result).__name__}")
    return result
