"""Sweep specs: which ``digitnet train`` options every trial shares (``[base]``), which to
cross (``[grid]``, ``seeds`` among them) and which to sample (``[random]``), read from TOML and
checked before any trial runs.

>>> spec = parse_spec({"base": {"epochs": 2}, "grid": {"eta": [0.5, 3.0], "seeds": [1, 2]}})
>>> len(spec.trials())
4

Every value goes through ``digitnet train``'s own parser (its option names, with ``_`` or
``-``, its types, choices and checks), so a value the command refuses is refused here, naming
the section and the option. One option is the sweep's own: ``train_size``, training on the
first N of the 50,000 training images (for quick sweeps).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np

from digitnet.errors import SweepSpecError
from digitnet.network import Network
from digitnet.sweep.train_options import train_parser

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "SWEEP_OPTIONS",
    "Distribution",
    "OptionValue",
    "SweepSpec",
    "Trial",
    "load_spec",
    "option_text",
    "parse_spec",
]

#: A parsed option value, as ``digitnet train``'s parser returns it (sizes as a tuple).
OptionValue = int | float | str | tuple[int, ...] | None

#: Options of the sweep itself, beside ``digitnet train``'s: their meaning.
SWEEP_OPTIONS: dict[str, str] = {
    "train_size": "train on the first N of the training images (default: all 50,000)",
}
#: ``digitnet train`` options that make no sense per trial.
_NOT_IN_A_SWEEP = {
    "save": "a sweep keeps no models",
    "save_history": "results.csv holds each trial's figures",
    "progress": "a sweep shows its own progress",
}
#: Options that apply with ``recipe`` (``digitnet train --recipe`` ignores the others).
_WITH_RECIPE = {"recipe", "train_size"}
_SECTIONS = ("base", "grid", "random")
_KINDS = ("uniform", "log_uniform", "choice")


@dataclass(frozen=True)
class Distribution:
    """How ``[random]`` draws one option: ``uniform`` or ``log_uniform`` between two bounds
    (integers when both bounds are integers), or a ``choice`` among values."""

    kind: Literal["uniform", "log_uniform", "choice"]
    values: tuple[Any, ...]

    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn with ``rng``."""
        if self.kind == "choice":
            return self.values[int(rng.integers(len(self.values)))]
        low, high = self.values
        integral = all(isinstance(v, int) for v in self.values)
        if self.kind == "uniform":
            return int(rng.integers(low, high + 1)) if integral else float(rng.uniform(low, high))
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
        return round(value) if integral else value


@dataclass(frozen=True)
class Trial:
    """One training run: its options (parsed values, by name, sorted) and its seed. Its
    identity, :attr:`id`, depends on nothing else."""

    options: tuple[tuple[str, OptionValue], ...]
    seed: int

    @property
    def id(self) -> str:
        """A short hash of the options and seed: the same trial has the same id in every run."""
        return _digest({"options": self.texts(), "seed": self.seed})

    @property
    def config_id(self) -> str:
        """A short hash of the options alone: the trials of one configuration share it."""
        return _digest({"options": self.texts()})

    def texts(self) -> dict[str, str]:
        """Each option's value as ``digitnet train`` would take it on its command line."""
        return {name: option_text(value) for name, value in self.options}

    def namespace(self) -> argparse.Namespace:
        """``digitnet train``'s arguments for this trial: its defaults, then the trial's
        options (``train_size`` included) and seed."""
        args = train_parser().parse_args([])
        for name, value in self.options:
            setattr(args, name, list(value) if isinstance(value, tuple) else value)
        args.seed = self.seed
        return args


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep spec: build it with :func:`load_spec` or :func:`parse_spec`."""

    base: dict[str, OptionValue] = field(default_factory=dict)
    grid: dict[str, tuple[OptionValue, ...]] = field(default_factory=dict)
    seeds: tuple[int, ...] = ()
    random: dict[str, Distribution] = field(default_factory=dict)
    random_trials: int = 0
    random_seed: int = 0
    #: ``[base] data_dir``: where each worker finds MNIST (default: its own ``DIGITNET_DATA``
    #: or cache); not part of a trial's identity.
    data_dir: str | None = None

    @property
    def swept(self) -> list[str]:
        """The options that vary between configurations, in the spec's order."""
        return [*self.grid, *self.random]

    def trials(self) -> list[Trial]:
        """Every trial, the seeds of each configuration together: each ``[random]`` point (if
        any) crossed with the grid, crossed with the seeds."""
        points: list[dict[str, OptionValue]] = [{}]
        if self.random:
            rng = np.random.default_rng(self.random_seed)
            points = [
                {name: _parse("random", name, d.sample(rng)) for name, d in self.random.items()}
                for _ in range(self.random_trials)
            ]
        crossed = [
            dict(zip(self.grid, values, strict=True))
            for values in itertools.product(*self.grid.values())
        ]
        trials = []
        for point in points:
            for cell in crossed:
                options = {**self.base, **point, **cell}
                _check_together(options)
                for seed in self.seeds:
                    trials.append(Trial(tuple(sorted(options.items())), seed))
        return list(dict.fromkeys(trials))  # a choice drawn twice is one trial


def load_spec(path: str | os.PathLike[str]) -> SweepSpec:
    """Reads and checks the TOML sweep spec at ``path``."""
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as error:
        raise SweepSpecError(f"{path}: cannot read the sweep spec: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise SweepSpecError(f"{path}: not valid TOML: {error}") from error
    try:
        return parse_spec(document)
    except SweepSpecError as error:
        raise SweepSpecError(f"{path}: {error}") from None


def parse_spec(document: Mapping[str, Any]) -> SweepSpec:
    """Checks a sweep spec given as TOML's tables (a mapping of ``base``, ``grid`` and
    ``random`` to mappings); raises :class:`~digitnet.errors.SweepSpecError` naming the first
    problem."""
    if not isinstance(document, Mapping):
        raise SweepSpecError(f"expected tables [base], [grid], [random]; got {document!r}")
    for section in document:
        if section not in _SECTIONS:
            raise SweepSpecError(
                f"unknown section [{section}]; expected {', '.join(f'[{s}]' for s in _SECTIONS)}"
            )
    tables = {s: _table(s, document.get(s, {})) for s in _SECTIONS}
    base_seed = tables["base"].pop("seed", None)
    data_dir = tables["base"].pop("data_dir", None)
    if data_dir is not None and not isinstance(data_dir, str):
        raise SweepSpecError(f"[base] data_dir: expected a path, got {data_dir!r}")
    grid_seeds = tables["grid"].pop("seeds", None)
    seeds = _seeds(base_seed, grid_seeds)
    for section in _SECTIONS:
        for name in tables[section]:
            _check_name(section, name)
    base = {name: _parse("base", name, value) for name, value in tables["base"].items()}
    grid = {name: _grid_values(name, values) for name, values in tables["grid"].items()}
    if "grid" in document and not grid and grid_seeds is None:
        raise SweepSpecError("[grid] is empty: list at least one option's values")
    random = dict(tables["random"])
    trials = random.pop("trials", None)
    random_seed = random.pop("seed", 0)
    distributions = {name: _distribution(name, spec) for name, spec in random.items()}
    if distributions or trials is not None:
        if not distributions:
            raise SweepSpecError("[random] samples no option: add one, like eta = {...}")
        trials = _count("[random] trials", trials, minimum=1)
        random_seed = _count("[random] seed", random_seed, minimum=0)
    for name in grid.keys() & base.keys():
        raise SweepSpecError(f"{name} is in both [base] and [grid]; keep one")
    for name in distributions.keys() & (base.keys() | grid.keys()):
        raise SweepSpecError(f"{name} is in [random] and in [base] or [grid]; keep one")
    spec = SweepSpec(
        base=base,
        grid=grid,
        seeds=seeds,
        random=distributions,
        random_trials=trials or 0,
        random_seed=random_seed,
        data_dir=data_dir,
    )
    spec.trials()  # every combination checked, and every sampled value, before any trial runs
    return spec


def option_text(value: OptionValue) -> str:
    """A parsed option value as ``digitnet train``'s command line takes it (sizes as
    ``784,30,10``); the form results.csv holds."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


# ---- checking -----------------------------------------------------------------------------------


def _table(section: str, table: Any) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise SweepSpecError(f"[{section}] must be a table of options, got {table!r}")
    return {str(key).replace("-", "_"): value for key, value in table.items()}


def _options() -> dict[str, argparse.Action]:
    """``digitnet train``'s options by name (their ``dest``)."""
    return {
        action.dest: action
        for action in train_parser()._actions
        if action.option_strings and action.dest not in ("help", "seed", "data_dir")
    }


def _check_name(section: str, name: str) -> None:
    if section == "random" and name in ("trials", "seed"):
        return  # the section's own settings
    if name in _NOT_IN_A_SWEEP:
        raise SweepSpecError(f"[{section}] {name}: not a sweep option ({_NOT_IN_A_SWEEP[name]})")
    if section != "base" and name in ("seed", "data_dir"):
        hint = "list seeds in [grid] seeds" if name == "seed" else "set it in [base]"
        raise SweepSpecError(f"[{section}] {name}: not swept; {hint}")
    if section != "grid" and name == "seeds":
        raise SweepSpecError(f"[{section}] seeds: list the seeds in [grid] (or one [base] seed)")
    if name not in _options() and name not in SWEEP_OPTIONS:
        known = sorted([*_options(), *SWEEP_OPTIONS, "seed", "seeds", "data_dir"])
        raise SweepSpecError(
            f"[{section}] {name}: unknown option; digitnet train's options are {', '.join(known)}"
        )


def _parse(section: str, name: str, value: Any) -> OptionValue:
    """``value`` checked and converted as ``digitnet train --NAME VALUE`` would be."""
    where = f"[{section}] {name} = {_toml(value)}"
    if name == "train_size":
        return _count(where, value, minimum=1)
    action = _options()[name]
    text = _command_line_text(where, value)
    try:
        parsed = action.type(text) if callable(action.type) else text
    except (argparse.ArgumentTypeError, ValueError, TypeError) as error:
        raise SweepSpecError(f"{where}: {error}") from None
    if action.choices is not None and parsed not in action.choices:
        choices = ", ".join(repr(c) for c in action.choices)
        raise SweepSpecError(f"{where}: expected one of {choices}")
    if isinstance(parsed, list):
        return tuple(int(v) for v in parsed)
    return cast(OptionValue, parsed)


def _command_line_text(where: str, value: Any) -> str:
    if isinstance(value, bool):
        raise SweepSpecError(f"{where}: expected a number or a name, got a boolean")
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return ",".join(str(v) for v in value)  # sizes as a TOML list: [784, 30, 10]
    if isinstance(value, (int, float, str)):
        return repr(value) if isinstance(value, float) else str(value)
    raise SweepSpecError(f"{where}: expected a number, a name or a list of sizes")


def _grid_values(name: str, values: Any) -> tuple[OptionValue, ...]:
    if not isinstance(values, list):
        raise SweepSpecError(f"[grid] {name}: expected a list of values to cross, got {values!r}")
    if not values:
        raise SweepSpecError(f"[grid] {name}: the list is empty; give at least one value")
    parsed = [_parse("grid", name, value) for value in values]
    if len(set(parsed)) != len(parsed):
        raise SweepSpecError(f"[grid] {name}: a value is listed twice in {_toml(values)}")
    return tuple(parsed)


def _seeds(base_seed: Any, grid_seeds: Any) -> tuple[int, ...]:
    if base_seed is not None and grid_seeds is not None:
        raise SweepSpecError("seed is in [base] and seeds in [grid]; keep one")
    if grid_seeds is None:
        default = train_parser().get_default("seed")
        values = [default if base_seed is None else base_seed]
        section = "base"
    else:
        if not isinstance(grid_seeds, list) or not grid_seeds:
            raise SweepSpecError(f"[grid] seeds: expected a list of seeds, got {grid_seeds!r}")
        values, section = grid_seeds, "grid"
    seed_type = cast(
        Callable[[str], int], next(a for a in train_parser()._actions if a.dest == "seed").type
    )
    seeds = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SweepSpecError(f"[{section}] seed {_toml(value)}: expected an integer")
        try:
            seeds.append(int(seed_type(str(value))))
        except argparse.ArgumentTypeError as error:
            raise SweepSpecError(f"[{section}] seed {value}: {error}") from None
    if len(set(seeds)) != len(seeds):
        raise SweepSpecError(f"[grid] seeds: a seed is listed twice in {_toml(grid_seeds)}")
    return tuple(seeds)


def _distribution(name: str, spec: Any) -> Distribution:
    where = f"[random] {name}"
    if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in _KINDS:
        raise SweepSpecError(
            f"{where}: expected one of {{ uniform = [low, high] }}, {{ log_uniform = [low, "
            f"high] }} or {{ choice = [values] }}; got {_toml(spec)}"
        )
    kind, values = next(iter(spec.items()))
    if not isinstance(values, list) or not values:
        raise SweepSpecError(f"{where}: {kind} needs a non-empty list, got {_toml(values)}")
    if kind == "choice":
        for value in values:
            _parse("random", name, value)
        return Distribution("choice", tuple(values))
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if len(values) != 2 or not numeric or not values[0] < values[1]:
        raise SweepSpecError(f"{where}: {kind} needs [low, high] with low < high, got {values}")
    if kind == "log_uniform" and values[0] <= 0:
        raise SweepSpecError(f"{where}: log_uniform needs positive bounds, got {values}")
    for value in values:
        _parse("random", name, value)
    return Distribution(cast(Literal["uniform", "log_uniform"], kind), tuple(values))


def _check_together(options: Mapping[str, OptionValue]) -> None:
    """What one option alone cannot show: an architecture that does not fit together, or
    options a recipe would ignore."""
    where = ", ".join(f"{k} = {option_text(v)}" for k, v in options.items()) or "the defaults"
    if options.get("recipe") is not None:
        ignored = sorted(set(options) - _WITH_RECIPE)
        if ignored:
            raise SweepSpecError(
                f"{ignored[0]} with recipe {options['recipe']}: a recipe sets its own options "
                "(only seeds and train_size apply, as with digitnet train --recipe)"
            )
        return
    args = Trial(tuple(options.items()), 0).namespace()
    # The architecture check of the network itself, on a network of the same depth with
    # hidden layers of one neuron: cheap whatever the sizes.
    tiny = [args.sizes[0], *[1] * (len(args.sizes) - 2), args.sizes[-1]]
    try:
        Network(tiny, cost=args.cost, activation=args.activation, output=args.output)
    except ValueError as error:
        raise SweepSpecError(f"{where}: {error}") from None


def _count(where: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        bound = "a positive" if minimum else "a non-negative"
        raise SweepSpecError(f"{where}: expected {bound} integer, got {_toml(value)}")
    return value


def _toml(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, dict, str, bool)) else str(value)


def _digest(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
