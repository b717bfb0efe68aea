"""The house plan: the pure rules import no Kafka, Redis, Faust, HTTP or file I/O."""

import ast
from pathlib import Path

import streams.rules

RULES = Path(streams.rules.__file__).parent
# What a pure rule may build on: the standard library's data and maths, the wire schemas, validation and JSON.
ALLOWED = {
    "__future__", "base64", "collections", "dataclasses", "datetime", "enum", "functools", "hashlib", "heapq", "hmac",
    "itertools", "math", "re", "string", "typing", "unicodedata", "uuid", "orjson", "pydantic", "schemas", "streams",
    "pypinyin",  # names to pinyin initials; reads only its own dictionaries, once, when imported
}  # fmt: skip
FORBIDDEN_CALLS = {"open", "print", "input", "exec", "eval"}


def _imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_rules_folder_imports_only_pure_modules():
    for path in sorted(RULES.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in _imports(tree):
            top = name.split(".")[0]
            assert top in ALLOWED, f"{path.name} imports {name}"
            if top == "streams":
                assert name.startswith("streams.rules"), f"{path.name} imports {name}, outside the rules"
        calls = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
        assert not calls & FORBIDDEN_CALLS, f"{path.name} calls {calls & FORBIDDEN_CALLS}"


def test_the_check_itself_catches_an_impure_import():
    assert "redis.asyncio" in _imports(ast.parse("from redis.asyncio import Redis"))
