"""Bundled policy files and the loader for them or for a county's own policy file."""

import tomllib
from importlib import resources
from pathlib import Path

from streams.rules.policy import Policy

BUNDLED = ("default", "fast", "demo")


def _read(name_or_path: str) -> dict:
    if name_or_path in BUNDLED:
        return tomllib.loads(resources.files("streams.policies").joinpath(f"{name_or_path}.toml").read_text(encoding="utf-8"))
    return tomllib.loads(Path(name_or_path).read_text(encoding="utf-8"))


def _merge(base: dict, override: dict) -> dict:
    """Override's values replace base's, table by table."""
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def load_policy(name_or_path: str) -> Policy:
    """Load a bundled policy by name (default, fast, demo) or a policy file by path; `extends` names a base policy."""
    data = _read(name_or_path)
    base = data.pop("extends", None)
    if base is not None:
        data = _merge(_read(base), data)
    return Policy.model_validate(data)
