"""User-typed formulas -> Objectives, without ever executing the text.

The text is never handed to ``eval``/``exec`` or to sympy's string parsers. The pipeline is:

1. cheap checks on the raw text: length, allowed characters, bracket nesting;
2. ``^`` is rewritten to ``**`` (with a column map back to the user's text, so that error
   columns always refer to what the user typed; ``^`` keeps the precedence of ``**``);
3. ``ast.parse(..., mode="eval")`` and a walk of the tree against a whitelist: numbers, the
   variables ``x``/``y``, the constants ``pi``/``e``, ``+ - * / **``, unary ``+``/``-`` and
   one-argument calls of a fixed set of functions;
4. resource limits on the tree (node count, nesting depth, bounded constant powers, an estimate
   of the size of the second derivatives), all checked *before* any sympy object exists;
5. the sympy expression is built node by node from the tree, differentiated with ``sympy.diff``
   and turned into numpy component functions with ``sympy.lambdify`` (which generates code from
   the sympy tree built here, never from the user's text).

Every refusal is an :class:`ExpressionError` carrying a 1-based column into the user's text.
sympy is imported lazily, inside the functions, so that application start-up does not pay for it.
"""

from __future__ import annotations

import ast
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np

from engine.objective import Objective

# -- limits ------------------------------------------------------------------------------------
MAX_LENGTH = 2000  # characters of user text
MAX_NODES = 500  # expression nodes in the syntax tree
MAX_DEPTH = 32  # nesting depth (chains like a+b+c or a*b*c count as one level)
MAX_EXPONENT = 100  # largest |p| allowed for a constant exponent p
MAX_LITERAL = 10**15  # largest magnitude of a number literal
MIN_LITERAL = 1e-300  # smallest non-zero magnitude of a number literal
MAX_CONSTANT_LOG10 = 300  # constant sub-expressions must stay within 10^±300
MAX_DERIVATIVE_SIZE = 20_000  # estimated tree size of one second derivative
CALL_WEIGHT = 5  # a function node (sin, exp, ...) is costlier to differentiate and evaluate
TIME_BUDGET = 10.0  # seconds; a last-resort guard between the symbolic steps
TITLE_LENGTH = 40
SORTED_DISPLAY_LENGTH = 400
DEFAULT_HALF_WIDTH = 3.0

VARIABLES = ("x", "y")
CONSTANTS = {"pi": math.pi, "e": math.e}


def _math_abs(v: float) -> float:
    return abs(v)


# name -> (sympy attribute, float implementation used for constant folding checks)
FUNCTIONS: dict[str, tuple[str, Callable[[float], float]]] = {
    "sin": ("sin", math.sin),
    "cos": ("cos", math.cos),
    "tan": ("tan", math.tan),
    "exp": ("exp", math.exp),
    "log": ("log", math.log),
    "ln": ("log", math.log),
    "sqrt": ("sqrt", math.sqrt),
    "abs": ("Abs", _math_abs),
    "sinh": ("sinh", math.sinh),
    "cosh": ("cosh", math.cosh),
    "tanh": ("tanh", math.tanh),
    "asin": ("asin", math.asin),
    "arcsin": ("asin", math.asin),
    "acos": ("acos", math.acos),
    "arccos": ("acos", math.acos),
    "atan": ("atan", math.atan),
    "arctan": ("atan", math.atan),
}

# Same-width stand-ins for characters people paste from formulas (columns stay valid).
_UNICODE_SUBSTITUTES = {"\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u00f7": "/"}
_UNICODE_HINTS = {
    "\u03c0": "write pi",
    "\u00b2": "write ^2",
    "\u00b3": "write ^3",
    "\u221a": "write sqrt(...)",
}
_OPEN_BRACKETS = "([{"
_CLOSE_BRACKETS = ")]}"

_ADDITIVE = (ast.Add, ast.Sub)
_MULTIPLICATIVE = (ast.Mult, ast.Div)
_OPERATOR_SYMBOLS = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.And: "and",
    ast.Or: "or",
    ast.Not: "not",
    ast.Invert: "~",
}


class ExpressionError(ValueError):
    """The text is not an acceptable formula.

    ``message`` (also ``str(exc)``) is the full text, e.g. "unknown name 'os' at column 1";
    ``column`` is 1-based in the user's text; ``reason`` is the message without the column.
    """

    def __init__(self, message: str, column: int = 1, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column
        self.reason = reason if reason is not None else message


@dataclass(frozen=True)
class ParsedExpression:
    """A validated formula with its symbolic gradient and Hessian."""

    text: str
    dim: int
    expr: Any  # sympy.Expr
    gradient: tuple[Any, ...]
    hessian: tuple[tuple[Any, ...], ...]
    formula: str
    gradient_text: str
    hessian_text: str

    @property
    def variables(self) -> tuple[str, ...]:
        return VARIABLES[: self.dim]


# -- source text and columns -------------------------------------------------------------------


class _Source:
    """The text given to ``ast.parse`` plus a map from its indices to the user's columns."""

    def __init__(self, original: str, rewritten: str, columns: list[int]) -> None:
        self.original = original
        self.text = rewritten
        self.columns = columns  # rewritten index -> 0-based index into the original text

    def column(self, index: int) -> int:
        """1-based column in the user's text of rewritten index ``index`` (0-based)."""
        if 0 <= index < len(self.columns):
            return self.columns[index] + 1
        return len(self.original) + 1

    def node_column(self, node: ast.AST) -> int:
        return self.column(getattr(node, "col_offset", 0))

    def after(self, node: ast.AST) -> int:
        """Column of the first token after ``node`` (skipping blanks and closing brackets)."""
        i = getattr(node, "end_col_offset", None) or 0
        while i < len(self.text) and (self.text[i].isspace() or self.text[i] in _CLOSE_BRACKETS):
            i += 1
        return self.column(i)

    def segment(self, node: ast.AST) -> str:
        """The user's text of ``node`` (so ``^`` shows as typed)."""
        start, end = getattr(node, "col_offset", 0), getattr(node, "end_col_offset", None)
        if end is None or end <= start or end > len(self.columns):
            return self.text[start:end]
        return self.original[self.columns[start] : self.columns[end - 1] + 1]


def _fail(what: str, column: int) -> ExpressionError:
    return ExpressionError(f"{what} at column {column}", column, what)


def _prepare(text: str) -> _Source:
    """Length, character and nesting checks; rewrite ``^`` as ``**``."""
    if not isinstance(text, str):
        raise TypeError(f"expression must be a string, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"expression is too long ({len(text):,} characters; the limit is {MAX_LENGTH:,})",
            MAX_LENGTH + 1,
        )
    out: list[str] = []
    columns: list[int] = []
    depth = 0
    for i, ch in enumerate(text):
        ch = _UNICODE_SUBSTITUTES.get(ch, ch)
        if not (" " <= ch <= "~" or ch == "\t") or ch == "#":
            hint = _UNICODE_HINTS.get(ch)
            what = f"unexpected character {ch!r}" + (f" ({hint})" if hint else "")
            raise _fail(what, i + 1)
        if ch in _OPEN_BRACKETS:
            depth += 1
            if depth > MAX_DEPTH:
                raise _fail(f"expression is nested too deeply (limit {MAX_DEPTH})", i + 1)
        elif ch in _CLOSE_BRACKETS:
            depth = max(0, depth - 1)
        if not out and ch in " \t":
            continue  # leading blanks: Python would call them an indent (columns stay mapped)
        if ch == "^":
            out.append("**")
            columns.extend((i, i))
        else:
            out.append(ch)
            columns.append(i)
    if not text.strip():
        raise ExpressionError("the expression is empty", 1)
    return _Source(text, "".join(out), columns)


def _parse_tree(src: _Source) -> ast.expr:
    try:
        with warnings.catch_warnings():  # "1if x", "2or y": refused below anyway, without
            warnings.simplefilter("ignore", SyntaxWarning)  # "invalid decimal literal" on stderr
            tree = ast.parse(src.text, mode="eval")
    except SyntaxError as exc:
        detail = (exc.msg or "").strip()
        if exc.offset is None or exc.offset <= 0 or exc.offset > len(src.text):
            column = len(src.original.rstrip()) + 1
            detail = "the expression ends too early" if exc.offset == 0 else detail
        else:
            column = src.column(exc.offset - 1)
        if "forgot a comma" in detail:
            detail = "missing an operator such as '*'?"
        elif detail == "invalid decimal literal":
            detail = "write 2*x, not 2x"
        elif detail.startswith("invalid syntax") or not detail:
            detail = ""
        suffix = f" ({detail})" if detail else ""
        raise ExpressionError(
            f"syntax error at column {column}{suffix}", column, f"syntax error{suffix}"
        ) from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise ExpressionError("expression is too complex to parse", 1) from None
    return tree.body


# -- whitelist ---------------------------------------------------------------------------------


def _chain(node: ast.BinOp) -> tuple[ast.expr, list[tuple[ast.operator, ast.expr]]]:
    """Flatten a left-leaning chain a op b op c ... of one precedence class (iteratively)."""
    kind = _ADDITIVE if isinstance(node.op, _ADDITIVE) else _MULTIPLICATIVE
    rest: list[tuple[ast.operator, ast.expr]] = []
    cur: ast.expr = node
    while isinstance(cur, ast.BinOp) and isinstance(cur.op, kind):
        rest.append((cur.op, cur.right))
        cur = cur.left
    rest.reverse()
    return cur, rest


def _disallowed(node: ast.AST, src: _Source, dim: int | None) -> tuple[int, str] | None:
    """(column, reason) if ``node`` itself is not allowed; its children are checked apart."""
    col = src.node_column(node)
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            return col, f"{src.segment(node)!r} is not allowed"
        if isinstance(value, (str, bytes)):
            return col, "strings are not allowed"
        if isinstance(value, complex):
            return col, f"complex number {src.segment(node)!r} is not allowed"
        if isinstance(value, (int, float)):
            return _check_literal(node, src)
        return col, f"{src.segment(node)!r} is not allowed"
    if isinstance(node, ast.Name):
        name = node.id
        if name in VARIABLES:
            if dim == 1 and name == "y":
                return col, "'y' is not a variable of a 1-D function (use x only)"
            return None
        if name in CONSTANTS:
            return None
        if name in FUNCTIONS:
            return col, f"function '{name}' must be called, e.g. {name}(x)"
        return col, f"unknown name {name!r}; the allowed names are x, y, pi and e"
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, _ADDITIVE + _MULTIPLICATIVE + (ast.Pow,)):
            return None
        symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
        return src.after(node.left), f"operator '{symbol}' is not allowed"
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            return None
        symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
        return col, f"operator '{symbol}' is not allowed"
    if isinstance(node, ast.Call):
        func = node.func
        if not isinstance(func, ast.Name):
            return src.node_column(
                func
            ), "only the built-in functions (sin, exp, ...) can be called"
        if func.id not in FUNCTIONS:
            if func.id in VARIABLES or func.id in CONSTANTS:
                return src.node_column(func), f"{func.id!r} is not a function"
            return src.node_column(func), f"unknown function {func.id!r}"
        if node.keywords:
            kw = node.keywords[0]
            label = f"'{kw.arg}='" if kw.arg else "'**'"
            return src.node_column(kw), f"keyword argument {label} is not allowed"
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                return src.node_column(arg), "'*' unpacking is not allowed"
        if len(node.args) != 1:
            return (
                src.node_column(func),
                f"{func.id}() takes exactly one argument ({len(node.args)} given)",
            )
        return None
    if isinstance(node, ast.Attribute):
        return src.after(node.value), f"attribute access '.{node.attr}' is not allowed"
    if isinstance(node, ast.Subscript):
        return src.after(node.value), "indexing with '[...]' is not allowed"
    if isinstance(node, ast.Lambda):
        return col, "'lambda' is not allowed"
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        return col, "comprehensions are not allowed"
    if isinstance(node, (ast.JoinedStr, ast.FormattedValue)):
        return col, "f-strings are not allowed"
    if isinstance(node, ast.NamedExpr):
        return src.after(node.target), "assignment ':=' is not allowed"
    if isinstance(node, ast.Starred):
        return col, "'*' unpacking is not allowed"
    if isinstance(node, ast.IfExp):
        return src.after(node.body), "'if ... else' is not allowed"
    if isinstance(node, ast.Compare):
        symbol = _OPERATOR_SYMBOLS.get(type(node.ops[0]), "comparison")
        return src.after(node.left), f"comparison '{symbol}' is not allowed"
    if isinstance(node, ast.BoolOp):
        symbol = _OPERATOR_SYMBOLS.get(type(node.op), "and")
        return src.after(node.values[0]), f"'{symbol}' is not allowed"
    if isinstance(node, ast.Tuple):
        where = src.after(node.elts[0]) if node.elts else col
        return where, "tuples (commas or '()') are not allowed"
    if isinstance(node, (ast.List, ast.Set, ast.Dict)):
        return col, f"{type(node).__name__.lower()}s are not allowed"
    if isinstance(node, (ast.Yield, ast.YieldFrom)):
        return col, "'yield' is not allowed"
    if isinstance(node, ast.Await):
        return col, "'await' is not allowed"
    return col, f"{type(node).__name__} is not allowed"


def _check_literal(node: ast.Constant, src: _Source) -> tuple[int, str] | None:
    value = node.value
    literal = src.segment(node)
    col = src.node_column(node)
    if isinstance(value, int):
        if abs(value) > MAX_LITERAL:
            return col, f"number {literal!r} is too large (the limit is 1e15)"
        return None
    if not math.isfinite(value) or abs(value) > MAX_LITERAL:
        return col, f"number {literal!r} is too large (the limit is 1e15)"
    mantissa = literal.lower().split("e")[0]
    if (value == 0 and any(c in "123456789" for c in mantissa)) or 0 < abs(value) < MIN_LITERAL:
        return col, f"number {literal!r} is too small (the limit is 1e-300)"
    return None


def _validate(root: ast.expr, src: _Source, dim: int | None) -> set[str]:
    """Whitelist walk (iterative); returns the variables used. Raises the leftmost problem."""
    problems: list[tuple[int, int, str]] = []  # (column, visit order, reason)
    used: set[str] = set()
    count = 0
    deepest: tuple[int, ast.AST] = (0, root)
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > deepest[0]:
            deepest = (depth, node)
        problem = _disallowed(node, src, dim)
        if problem is not None:
            problems.append((problem[0], count, problem[1]))
            continue  # the inside of a refused construct is not examined
        if isinstance(node, ast.Name) and node.id in VARIABLES:
            used.add(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ADDITIVE + _MULTIPLICATIVE):
            first, rest = _chain(node)
            children = [first, *(operand for _, operand in rest)]
        elif isinstance(node, ast.BinOp):
            children = [node.left, node.right]
        elif isinstance(node, ast.UnaryOp):
            children = [node.operand]
        elif isinstance(node, ast.Call):
            children = list(node.args)
        else:
            children = []
        for child in reversed(children):
            stack.append((child, depth + 1))
    if problems:
        column, _, reason = min(problems)
        raise _fail(reason, column)
    if count > MAX_NODES:
        raise ExpressionError(
            f"expression is too large ({count} parts; the limit is {MAX_NODES})", 1
        )
    if deepest[0] > MAX_DEPTH:
        raise _fail(
            f"expression is nested too deeply (limit {MAX_DEPTH})", src.node_column(deepest[1])
        )
    return used


# -- constant folding bounds and a size estimate, before sympy ---------------------------------


@dataclass(frozen=True)
class _Info:
    value: float | None  # the value of a constant sub-expression, None if it has a variable
    size: float  # estimated tree sizes of the expression, its 1st and 2nd derivatives
    d1: float
    d2: float


def _finite(value: Any, node: ast.AST, src: _Source, what: str = "value") -> float:
    if isinstance(value, complex):
        raise _fail(f"{src.segment(node)!r} is not a real number", src.node_column(node))
    # too large is refused; too small just underflows towards 0, which is harmless
    if not math.isfinite(value) or (value != 0 and math.log10(abs(value)) > MAX_CONSTANT_LOG10):
        raise _fail(f"{what} of {src.segment(node)!r} is out of range", src.node_column(node))
    return float(value)


def _analyze(node: ast.expr, src: _Source) -> _Info:
    """Bounded constant evaluation (floats) and a derivative-size estimate; raises on excess."""
    if isinstance(node, ast.Constant):
        return _Info(float(node.value), 1, 0, 0)
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return _Info(CONSTANTS[node.id], 1, 0, 0)
        return _Info(None, 1, 1, 0)
    if isinstance(node, ast.UnaryOp):
        inner = _analyze(node.operand, src)
        value = None if inner.value is None else -inner.value
        if isinstance(node.op, ast.UAdd):
            value = inner.value
        return _Info(value, inner.size + 1, inner.d1, inner.d2)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        arg = _analyze(node.args[0], src)
        if arg.value is not None:
            try:
                value = FUNCTIONS[name][1](arg.value)
            except (ValueError, OverflowError, ZeroDivisionError):
                raise _fail(
                    f"{src.segment(node)!r} is undefined or out of range", src.node_column(node)
                ) from None
            return _Info(_finite(value, node, src), arg.size + CALL_WEIGHT, 0, 0)
        return _Info(
            None,
            arg.size + CALL_WEIGHT,
            arg.d1 + arg.size + 2 * CALL_WEIGHT,
            arg.d2 + 2 * arg.d1 + 2 * arg.size + 4 * CALL_WEIGHT,
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return _analyze_power(node, src)
    if isinstance(node, ast.BinOp):
        first, rest = _chain(node)
        items = [(None, first, _analyze(first, src))]
        items += [(op, operand, _analyze(operand, src)) for op, operand in rest]
        if isinstance(node.op, _ADDITIVE):
            return _analyze_sum(node, items, src)
        return _analyze_product(node, items, src)
    raise _fail(f"{type(node).__name__} is not allowed", src.node_column(node))  # pragma: no cover


def _analyze_sum(node: ast.BinOp, items: list[tuple[Any, ast.expr, _Info]], src: _Source) -> _Info:
    value: float | None = 0.0
    for op, _, info in items:
        if value is None or info.value is None:
            value = None
        else:
            value = value - info.value if isinstance(op, ast.Sub) else value + info.value
    if value is not None:
        value = _finite(value, node, src)
    return _Info(
        value,
        sum(i.size for _, _, i in items) + len(items),
        sum(i.d1 for _, _, i in items),
        sum(i.d2 for _, _, i in items),
    )


def _analyze_product(
    node: ast.BinOp, items: list[tuple[Any, ast.expr, _Info]], src: _Source
) -> _Info:
    value: float | None = 1.0
    factors: list[_Info] = []
    for op, operand, info in items:
        if isinstance(op, ast.Div):
            if info.value == 0:
                raise _fail(
                    f"division by zero ({src.segment(operand)!r})", src.node_column(operand)
                )
            # 1/u: like u^-1
            info = _Info(
                None if info.value is None else 1.0 / info.value,
                info.size + 2,
                info.d1 + info.size + 3 if info.value is None else 0,
                info.d2 + 2 * info.d1 + 2 * info.size + 6 if info.value is None else 0,
            )
        factors.append(info)
        value = None if value is None or info.value is None else value * info.value
    if value is not None:
        value = _finite(value, node, src)
    total = sum(f.size for f in factors) + len(factors)
    varying = [f for f in factors if f.value is None]
    k = len(varying)
    d1 = sum(f.d1 for f in varying) + k * total
    d2 = (
        sum(f.d2 for f in varying)
        + k * total
        + max(k - 1, 0) * sum(f.d1 for f in varying)
        + k * k * total / 2
    )
    return _Info(value, total, d1, d2)


def _analyze_power(node: ast.BinOp, src: _Source) -> _Info:
    exponent = _analyze(node.right, src)
    if exponent.value is not None and abs(exponent.value) > MAX_EXPONENT:
        raise _fail(
            f"exponent {src.segment(node.right)!r} is too large (|exponent| must be at most "
            f"{MAX_EXPONENT})",
            src.node_column(node.right),
        )
    base = _analyze(node.left, src)
    size = base.size + exponent.size + 1
    if base.value is not None and exponent.value is not None:
        b, p = base.value, exponent.value
        if b == 0 and p < 0:
            raise _fail(f"{src.segment(node)!r} divides by zero", src.node_column(node))
        if b != 0 and p * math.log10(abs(b)) > MAX_CONSTANT_LOG10:
            raise _fail(f"power {src.segment(node)!r} is out of range", src.node_column(node))
        if b < 0 and p != int(p):
            raise _fail(f"{src.segment(node)!r} is not a real number", src.node_column(node))
        try:
            value = b**p
        except (OverflowError, ZeroDivisionError):
            raise _fail(
                f"power {src.segment(node)!r} is out of range", src.node_column(node)
            ) from None
        return _Info(_finite(value, node, src), size, 0, 0)
    if exponent.value is not None:  # u^p
        return _Info(None, size, base.d1 + base.size + 3, base.d2 + 2 * base.d1 + 2 * base.size + 6)
    # u^v = exp(v log u)
    w_size = base.size + exponent.size + 2
    w_d1 = exponent.d1 + exponent.size + 2 * base.size + base.d1
    w_d2 = exponent.d2 + base.d2 + 2 * (base.d1 + exponent.d1) + 2 * w_size
    return _Info(None, size, w_size + w_d1 + size, 2 * w_size + 2 * w_d1 + w_d2 + size)


# -- sympy -------------------------------------------------------------------------------------

_BUILD_ERRORS = (ArithmeticError, ValueError, TypeError, AttributeError, RecursionError)


def _symbols() -> dict[str, Any]:
    import sympy

    return {
        "x": sympy.Symbol("x", real=True),
        "y": sympy.Symbol("y", real=True),
        "pi": sympy.pi,
        "e": sympy.E,
    }


def _number(node: ast.Constant, src: _Source) -> Any:
    import sympy

    value = node.value
    if isinstance(value, int):
        return sympy.Integer(value)
    if value == 0:
        return sympy.Integer(0)
    exact = Fraction(src.segment(node).replace("_", ""))  # bounded: 1e-300 <= |value| <= 1e15
    if exact.denominator <= 1000:
        return sympy.Rational(exact.numerator, exact.denominator)
    return sympy.Float(value)


def _build(node: ast.expr, src: _Source, names: dict[str, Any], trail: list) -> Any:
    """The sympy expression of a validated tree; ``trail`` records (node, result) post-order."""
    import sympy

    if isinstance(node, ast.Constant):
        result = _number(node, src)
    elif isinstance(node, ast.Name):
        result = names[node.id]
    elif isinstance(node, ast.UnaryOp):
        inner = _build(node.operand, src, names, trail)
        result = -inner if isinstance(node.op, ast.USub) else inner
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        fn = getattr(sympy, FUNCTIONS[node.func.id][0])
        result = fn(_build(node.args[0], src, names, trail))
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        base = _build(node.left, src, names, trail)
        exponent = _build(node.right, src, names, trail)
        if base.is_number and base.is_extended_nonpositive and exponent.free_symbols:
            # 0^x and (-1)^x: not differentiable / not real for a real variable exponent
            raise _fail(
                f"{src.segment(node)!r} has a base <= 0 under a variable exponent",
                src.node_column(node),
            )
        result = sympy.Pow(base, exponent)
    elif isinstance(node, ast.BinOp):
        first, rest = _chain(node)
        terms = [_build(first, src, names, trail)]
        for op, operand in rest:
            part = _build(operand, src, names, trail)
            if isinstance(op, ast.Sub):
                part = -part
            elif isinstance(op, ast.Div):
                part = sympy.Pow(part, -1)
            terms.append(part)
        result = sympy.Add(*terms) if isinstance(node.op, _ADDITIVE) else sympy.Mul(*terms)
    else:  # pragma: no cover - _validate lets nothing else through
        raise _fail(f"{type(node).__name__} is not allowed", src.node_column(node))
    trail.append((node, result))
    return result


def _bad_atoms() -> tuple[Any, ...]:
    import sympy

    s = sympy.S
    return (s.ComplexInfinity, s.Infinity, s.NegativeInfinity, s.NaN, s.ImaginaryUnit)


def _check_defined(expr: Any, trail: list, src: _Source) -> None:
    bad = _bad_atoms()
    if not expr.has(*bad):
        return
    import sympy

    for node, result in trail:
        if result.has(*bad):
            if result.has(sympy.S.ImaginaryUnit) and not result.has(*bad[:4]):
                reason = f"{src.segment(node)!r} is not real-valued"
            else:
                reason = f"{src.segment(node)!r} is infinite or undefined (division by zero?)"
            raise _fail(reason, src.node_column(node))
    raise ExpressionError("the expression is infinite or undefined", 1)  # pragma: no cover


def _display(expr: Any) -> str:
    """One-line text with ^ for powers; terms are sorted only when the text is short (sorting
    large expressions is slow in sympy's printer)."""
    import sympy

    text = sympy.sstr(expr, order="none", full_prec=False)
    if len(text) <= SORTED_DISPLAY_LENGTH:
        text = sympy.sstr(expr, full_prec=False)
    return text.replace("**", "^")


def _without_delta(expr: Any) -> Any:
    """d/dx sign(u) = 2·DiracDelta(u): zero almost everywhere, and numpy cannot print it."""
    import sympy

    if expr.has(sympy.DiracDelta):
        return expr.replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)
    return expr


def _check_time(start: float) -> None:
    if time.perf_counter() - start > TIME_BUDGET:
        raise ExpressionError("the expression is too complex to differentiate", 1)


def parse_expression(text: str, dim: int | None = None) -> ParsedExpression:
    """Validate ``text`` and return it as a sympy expression with gradient and Hessian.

    ``dim`` forces the number of variables (1: x, 2: x and y); by default it is 2 when ``y``
    appears and 1 otherwise. Raises :class:`ExpressionError` for anything not acceptable.
    """
    if dim not in (None, 1, 2):
        raise ValueError(f"dim must be 1 or 2 (got {dim!r})")
    src = _prepare(text)
    root = _parse_tree(src)
    used = _validate(root, src, dim)
    info = _analyze(root, src)
    if info.d2 > MAX_DERIVATIVE_SIZE:
        raise ExpressionError(
            "the expression is too complex to differentiate (its second derivatives would be "
            "too large)",
            1,
        )
    ndim = dim if dim is not None else (2 if "y" in used else 1)
    start = time.perf_counter()
    try:
        names = _symbols()
        trail: list = []
        expr = _build(root, src, names, trail)
        _check_defined(expr, trail, src)
        variables = [names[v] for v in VARIABLES[:ndim]]
        import sympy

        gradient = tuple(_without_delta(sympy.diff(expr, v)) for v in variables)
        _check_time(start)
        rows: list[list[Any]] = [[None] * ndim for _ in range(ndim)]
        for i in range(ndim):
            for j in range(i, ndim):
                rows[i][j] = rows[j][i] = _without_delta(sympy.diff(gradient[i], variables[j]))
                _check_time(start)
        hessian = tuple(tuple(row) for row in rows)
        bad = _bad_atoms()
        if any(d.has(*bad) for d in (*gradient, *(h for row in rows for h in row))):
            raise ExpressionError("the derivatives of the expression are undefined", 1)
        formula = _display(expr)
        gradient_text, hessian_text = _derivative_texts(ndim, gradient, hessian)
    except ExpressionError:
        raise
    except (*_BUILD_ERRORS, MemoryError) as exc:  # a safety net: report, never crash
        raise ExpressionError(
            f"could not process the expression ({type(exc).__name__})", 1
        ) from None
    return ParsedExpression(
        text=text,
        dim=ndim,
        expr=expr,
        gradient=gradient,
        hessian=hessian,
        formula=formula,
        gradient_text=gradient_text,
        hessian_text=hessian_text,
    )


def _derivative_texts(
    dim: int, gradient: tuple[Any, ...], hessian: tuple[tuple[Any, ...], ...]
) -> tuple[str, str]:
    if dim == 1:
        return f"dE/dx = {_display(gradient[0])}", f"d²E/dx² = {_display(hessian[0][0])}"
    grad = "\n".join(f"∂E/∂{v} = {_display(g)}" for v, g in zip(VARIABLES, gradient))
    hess = "\n".join(
        (
            f"∂²E/∂x² = {_display(hessian[0][0])}",
            f"∂²E/∂x∂y = {_display(hessian[0][1])}",
            f"∂²E/∂y² = {_display(hessian[1][1])}",
        )
    )
    return grad, hess


# -- numpy component functions -----------------------------------------------------------------


def _as_real(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A float array of ``shape``; complex results (e.g. (-1)^(1/3)) become NaN unless real."""
    arr = np.asarray(value)
    if np.iscomplexobj(arr):
        real = arr.real
        arr = np.where(np.abs(arr.imag) <= 1e-12 * (1.0 + np.abs(real)), real, np.nan)
    arr = np.asarray(arr, dtype=float)
    if arr.shape != shape:
        arr = np.broadcast_to(arr, shape).copy()
    return arr


def _inputs(args: tuple[Any, ...]) -> tuple[list[np.ndarray], tuple[int, ...]]:
    arrays = [np.asarray(a, dtype=float) for a in args]
    return arrays, np.broadcast_shapes(*(a.shape for a in arrays))


def _lambdify(variables: list[Any], expr: Any) -> Callable[..., Any]:
    import sympy
    from sympy.printing.numpy import NumPyPrinter

    printer = NumPyPrinter(
        {
            "fully_qualified_modules": False,
            "inline": True,
            "allow_unknown_functions": True,
            "user_functions": {},
            "order": "none",  # the default sorts the terms of every sum: slow for big ones
        }
    )
    return sympy.lambdify(
        variables, expr, modules="numpy", printer=printer, cse=True, docstring_limit=0
    )


def _value_function(variables: list[Any], expr: Any) -> Callable[..., np.ndarray]:
    fn = _lambdify(variables, expr)

    def f(*args: Any) -> np.ndarray:
        arrays, shape = _inputs(args)
        with np.errstate(all="ignore"):
            return _as_real(fn(*arrays), shape)

    return f


def _gradient_function(variables: list[Any], gradient: tuple[Any, ...]) -> Callable[..., tuple]:
    fn = _lambdify(variables, list(gradient))

    def grad(*args: Any) -> tuple[np.ndarray, ...]:
        arrays, shape = _inputs(args)
        with np.errstate(all="ignore"):
            return tuple(_as_real(g, shape) for g in fn(*arrays))

    return grad


def _hessian_function(
    variables: list[Any], hessian: tuple[tuple[Any, ...], ...]
) -> Callable[..., tuple]:
    fn = _lambdify(variables, [list(row) for row in hessian])

    def hess(*args: Any) -> tuple[tuple[np.ndarray, ...], ...]:
        arrays, shape = _inputs(args)
        with np.errstate(all="ignore"):
            rows = fn(*arrays)
            return tuple(tuple(_as_real(h, shape) for h in row) for row in rows)

    return hess


def _default_domain(dim: int) -> tuple[tuple[float, float], ...]:
    return tuple((-DEFAULT_HALF_WIDTH, DEFAULT_HALF_WIDTH) for _ in range(dim))


def _check_domain(domain: Any, dim: int) -> tuple[tuple[float, float], ...]:
    try:
        bounds = tuple((float(lo), float(hi)) for lo, hi in domain)
    except (TypeError, ValueError):
        raise ValueError(f"domain must be {dim} (low, high) pairs (got {domain!r})") from None
    if len(bounds) != dim:
        raise ValueError(f"a {dim}-D function needs {dim} domain ranges (got {len(bounds)})")
    for lo, hi in bounds:
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"invalid domain range ({lo:g}, {hi:g})")
    return bounds


def objective_from_expression(
    text: str,
    domain: tuple[tuple[float, float], ...] | None = None,
    dim: int | None = None,
    name: str = "expression",
) -> Objective:
    """An Objective for the user's formula, with its stationary points inside ``domain``."""
    from engine.stationary import find_stationary_points

    parsed = parse_expression(text, dim=dim)
    ndim = parsed.dim
    bounds = _default_domain(ndim) if domain is None else _check_domain(domain, ndim)
    names = _symbols()
    variables = [names[v] for v in VARIABLES[:ndim]]
    try:
        f = _value_function(variables, parsed.expr)
        grad = _gradient_function(variables, parsed.gradient)
        hess = _hessian_function(variables, parsed.hessian)
    except (*_BUILD_ERRORS, SyntaxError, MemoryError) as exc:  # pragma: no cover - safety net
        raise ExpressionError(
            f"could not compile the expression ({type(exc).__name__})", 1
        ) from None
    try:  # arithmetic on constants alone runs in Python, not numpy (sin of the int 9^85, the
        # float pi^28800): it fails the same way at every point, so one probe tells
        probe = (np.zeros(1),) * ndim
        f(*probe), grad(*probe), hess(*probe)
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise ExpressionError(
            f"a constant in the expression is out of range ({type(exc).__name__})", 1
        ) from None
    stripped = " ".join(text.split())
    title = stripped if len(stripped) <= TITLE_LENGTH else stripped[: TITLE_LENGTH - 1] + "…"
    objective = Objective(
        name=name,
        title=title,
        dim=ndim,
        f=f,
        grad_components=grad,
        hess_components=hess,
        domain=bounds,
        expression=text,
        formula=parsed.formula,
    )
    return replace(objective, stationary=find_stationary_points(objective, bounds))
