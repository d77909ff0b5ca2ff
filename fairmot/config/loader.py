"""Reading params.yaml into the schema: unknown keys name the nearest valid one, wrong types name the
key, and a value given on the command line is reported as the option the user typed."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml

from fairmot.config.checks import check_values
from fairmot.config.schema import Params
from fairmot.errors import ConfigError


def load_params(path: Path | str | None = "params.yaml", overrides: Mapping[str, Any] | None = None,
                options: Mapping[str, str] | None = None) -> Params:
    """Read params.yaml (missing keys take the shipped defaults), apply dotted-key overrides, validate.

    `overrides` maps dotted keys ("track.conf_thres") to values given on the command line; None values
    are ignored, so options that were not given leave the file's value alone. A bad override is
    reported as the command-line option, not as a params.yaml value: `options` maps a key to the option
    the user typed ("tune.n_trials": "--trials"); a key without one is reported as --<last part of the key>.
    """
    raw: dict[str, Any] = {}
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    origin = _Origin("defaults" if path is None else str(path), frozenset(given), dict(options or {}))
    if path is not None:
        raw = _read_yaml(Path(path))
    for dotted, value in given.items():
        node = raw
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    params = _build(Params, raw, prefix="", origin=origin)
    check_values(params, origin.of)
    return params


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"{path}: params file not found; run from the project root or pass --params FILE")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a params file; pass --params FILE")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
                          "save the params file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the params file ({exc.strerror or exc})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({_one_line(exc)})") from None
    if raw is None or raw == {}:
        raise ConfigError(f"{path}: the params file is empty; restore the shipped params.yaml "
                          "(git checkout params.yaml) rather than training on unstated values")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    return raw


@dataclass(frozen=True)
class _Origin:
    """Where each value came from: the params file, or a command-line option (an override)."""

    source: str
    cli_keys: frozenset[str] = frozenset()
    # key -> the option the user typed, when it is not --<last part of the key> (tune.n_trials: --trials)
    options: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def option(self, key: str) -> str:
        return self.options.get(key) or f"--{key.rsplit('.', 1)[-1].replace('_', '-')}"

    def of(self, key: str) -> str:
        """The prefix of an error about `key`: the file, or the option the user typed."""
        if key in self.cli_keys:
            return f"command-line option {self.option(key)}: '{key}'"
        return f"{self.source}: '{key}'"


def _build(cls: type, raw: Mapping[str, Any], prefix: str, origin: _Origin) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            full = f"{prefix}{key}"
            candidates = [f"{prefix}{name}" for name in fields]
            close = difflib.get_close_matches(full, candidates, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys here: {', '.join(candidates)}"
            where = f"command-line option {origin.option(full)}" if full in origin.cli_keys else origin.source
            raise ConfigError(f"{where}: unknown parameter '{full}'{hint}")
    values = {}
    for name in fields:
        if name not in raw:
            continue
        hint = hints[name]
        full = f"{prefix}{name}"
        if dataclasses.is_dataclass(hint):
            section = raw[name] if raw[name] is not None else {}
            if not isinstance(section, Mapping):
                raise ConfigError(f"{origin.of(full)} must be a section (a mapping of keys), got {raw[name]!r}")
            values[name] = _build(hint, section, prefix=f"{full}.", origin=origin)
        else:
            values[name] = _coerce(raw[name], hint, full, origin.of(full))
    return cls(**values)


def _coerce(value: Any, hint: Any, key: str, where: str) -> Any:
    """`value` as type `hint`; `where` starts the error message (file or option, and the key)."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        for option in get_args(hint):
            try:
                return _coerce(value, option, key, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where} = {value!r} must be {_describe(hint)}")
    if origin is Literal:
        if value not in get_args(hint):
            choices = ", ".join(repr(c) for c in get_args(hint))
            raise ConfigError(f"{where} = {value!r} must be one of {choices}")
        return value
    if dataclasses.is_dataclass(hint):  # an entry of a list of sections (data.datasets)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a section (a mapping of keys), got {value!r}")
        return _build(hint, value, prefix=f"{key}.", origin=_Origin(where.rsplit(": '", 1)[0]))
    if origin is dict:  # class maps: YAML may give number keys (MOT class 1); keys are kept as text
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} = {value!r} must be a mapping (key: value)")
        _, item = get_args(hint)
        return {str(k): _coerce(v, item, f"{key}.{k}", where.replace(f"'{key}'", f"'{key}.{k}'")) for k, v in value.items()}
    if origin is list:
        (item,) = get_args(hint)
        if isinstance(value, (int, float, str)) and not isinstance(value, bool) and item is not str:
            value = [value]  # `-S lr_step=20` gives a scalar
        if not isinstance(value, list):
            raise ConfigError(f"{where} = {value!r} must be {_describe(hint)}")
        return [_coerce(v, item, f"{key}[{i}]", where.replace(f"'{key}'", f"'{key}[{i}]'")) for i, v in enumerate(value)]
    return _coerce_scalar(value, hint, where)


def _coerce_scalar(value: Any, hint: Any, where: str) -> Any:
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} = {value!r} must be true or false (a YAML boolean, not a string)")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} = {value!r} must be an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} = {value!r} must be a number{_float_hint(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} = {value!r} must be a string")
        return value
    raise TypeError(f"unsupported schema type {hint!r} for {where}")


def _float_hint(value: Any) -> str:
    """YAML 1.1 reads `5e-4` (no dot in the mantissa) as a string; say how to write it as a number."""
    if not isinstance(value, str):
        return ""
    try:
        number = float(value)
    except ValueError:
        return ""
    mantissa, _, exponent = value.lower().partition("e")
    if not exponent:
        return ""
    return (f" (YAML reads {value} as a string: its mantissa has no dot); "
            f"write {mantissa}.0e{exponent} or {number!r}")


def _one_line(exc: yaml.YAMLError) -> str:
    """PyYAML's message spans several lines (it quotes the text); keep the line, column and problem."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is not None and problem:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return " ".join(str(exc).split())


def _describe(hint: Any) -> str:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(hint))
    if origin is list:
        return f"a list of {_describe(get_args(hint)[0])}"
    if origin is dict:
        return f"a mapping to {_describe(get_args(hint)[1])}"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(hint, str(hint))
