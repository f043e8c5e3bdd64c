"""The option matrix of copier.yml, and a small covering set of it for the slow layer.

copier.yml is the single source of truth: the axes' choices and the choice validators that
refuse nonsense combinations (e.g. task=regression with loss=bce) are read from it.
"""

from __future__ import annotations

import itertools
from functools import cache

import jinja2
import yaml

from trainerforge.template_source import installed_template

AXES = ("task", "modality", "loss", "optimizer", "scheduler", "tracking")

# Quotes, backslashes, Jinja and GitHub expressions, a newline and non-ASCII text (one character
# outside the Basic Multilingual Plane, which JSON-style escaping would split in two).
FREE_TEXT = {
    "description": "Say \"hi\" & 'bye' \\ {{ 7 * 6 }} {% if x %}y{% endif %} {# c #} ${{ sha }}\n"
    "second line: naïve · 日本語 🚀",
    "author_name": 'O\'Brien, "Bob" {{ name }} \\ Ünïcode',
    "mlflow_experiment": "exp \"quoted\" 'x' \\ {{ y }} 🚀",
}


# The heads of multitask projects beside copier.yml's default (a 3-class head and a regression
# head): between them, every task and each of its losses, weights other than 1, and 2 to 5 heads.
HEADS_VARIANTS = (
    {
        "kind": {"task": "multiclass", "num_labels": 4, "loss": "focal"},
        "flag": {"task": "binary"},
        "pair": {"task": "binary", "loss": "cross_entropy", "weight": 0.5},
        "tags": {"task": "multilabel", "num_labels": 3, "loss": "focal"},
        "size": {"task": "regression", "loss": "huber", "weight": 2},
    },
    {
        "flag": {"task": "binary", "loss": "focal"},
        "tags": {"task": "multilabel", "num_labels": 4},
        "size": {"task": "regression", "loss": "l1"},
    },
)


# The generated test files whose code each answer shapes (configs, data, model, loss, optimizer
# and schedule, metrics, a debug run that must beat chance, own files). The search, resume and
# serving tests exercise code that is the same for every pair of answers but one value's.
ANSWER_DEPENDENT = (
    "tests/test_configs.py",
    "tests/test_data.py",
    "tests/test_model.py",
    "tests/test_trainer.py",
    "tests/test_metrics.py",
    "tests/test_train.py",
    "tests/test_own_data.py",
)


def with_heads(combos: list[dict]) -> list[dict]:
    """The combinations, multitask ones taking copier.yml's default heads and HEADS_VARIANTS
    in turn."""
    variants = [None, *HEADS_VARIANTS]
    chosen, multitask = [], 0
    for answers in combos:
        if answers["task"] == "multitask":
            heads = variants[multitask % len(variants)]
            answers = answers | ({"heads": heads} if heads else {})
            multitask += 1
        chosen.append(answers)
    return chosen


def as_flag(value: object) -> str:
    """An answer as `-d KEY=VALUE` gives it: a mapping as one line of YAML."""
    if isinstance(value, dict):
        return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return str(value)


@cache
def questions() -> dict:
    return yaml.safe_load((installed_template() / "copier.yml").read_text(encoding="utf-8"))


def choices(question: str) -> list[tuple[str, str | None]]:
    """The (value, validator) pairs of a question's choices."""
    return [
        (spec["value"], spec.get("validator")) if isinstance(spec, dict) else (spec, None)
        for spec in questions()[question]["choices"].values()
    ]


def default_answers() -> dict[str, str]:
    """The default value of every axis, with the loss the default task implies."""
    answers = {axis: questions()[axis]["default"] for axis in AXES}
    answers["loss"] = jinja2.Template(answers["loss"]).render(**answers).strip()
    return answers


def allowed(validator: str | None, answers: dict[str, str]) -> bool:
    """Whether a choice's validator accepts it given the other answers."""
    return not validator or not jinja2.Template(validator).render(**answers).strip()


@cache
def option_matrix() -> tuple[dict[str, str], ...]:
    """Every combination of the axes' choices that the choice validators allow."""
    combos = []
    for values in itertools.product(*(choices(axis) for axis in AXES)):
        answers = {axis: value for axis, (value, _) in zip(AXES, values, strict=True)}
        if all(allowed(validator, answers) for _, validator in values):
            combos.append(answers)
    return tuple(combos)


def pairs(answers: dict[str, str]) -> set[tuple[str, str, str, str]]:
    """Every pair of (axis, value) settings that one combination exercises together."""
    return {
        (first, answers[first], second, answers[second])
        for first, second in itertools.combinations(AXES, 2)
    }


@cache
def pairwise_cover() -> tuple[dict[str, str], ...]:
    """A small set of combinations, the default first, in which every allowed pair appears.

    Greedy: repeatedly take the combination that covers the most pairs not yet covered. A pair
    that no allowed combination holds (e.g. regression with bce) needs no cover.
    """
    uncovered = set().union(*(pairs(combo) for combo in option_matrix()))
    chosen = [default_answers()]
    uncovered -= pairs(chosen[0])
    while uncovered:
        best = max(option_matrix(), key=lambda combo: len(pairs(combo) & uncovered))
        chosen.append(best)
        uncovered -= pairs(best)
    return tuple(chosen)


def value_cover(cover: list[dict]) -> list[dict]:
    """Combinations of `cover`, its first first, in which every option value of it appears."""
    missing = {(axis, answers[axis]) for answers in cover for axis in AXES}
    chosen = []
    while missing:
        best = max(cover, key=lambda answers: len({(a, answers[a]) for a in AXES} & missing))
        chosen.append(best)
        missing -= {(axis, best[axis]) for axis in AXES}
    return chosen
