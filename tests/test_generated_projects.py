"""The slow layer: generated projects pass their own test suites and work as their README says.

The projects share this interpreter's packages (no install per project): each suite runs as
`python -m pytest` in the project with `src` on PYTHONPATH, the way its own CI would after
`pip install -e .`. Every pair of option values is exercised by at least one project.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from commands import make_venv, shell_blocks
from matrix import (
    ANSWER_DEPENDENT,
    AXES,
    FREE_TEXT,
    HEADS_VARIANTS,
    as_flag,
    option_matrix,
    pairs,
    pairwise_cover,
    value_cover,
    with_heads,
)

from trainerforge.generate import new_project
from trainerforge.template_source import installed_template

pytestmark = pytest.mark.slow
TEMPLATE_TESTS = installed_template() / "template" / "tests"

COVER = with_heads(list(pairwise_cover()))
# Projects whose multi-process tests (torchrun DDP, SIGKILL and resume) run too: the default
# (tabular, MLflow), and the first multitask sequence project (its heads' losses summed over
# processes, on the other body).
FULL = {
    0,
    next(
        i
        for i, answers in enumerate(COVER)
        if answers["task"] == "multitask" and answers["modality"] == "sequence"
    ),
}
# Projects that run their whole suite: between them every option value, and FULL. The rest of
# the cover runs the tests whose code each answer shapes (data, model, loss, optimizer and
# schedule, metrics, a debug run that must beat chance, own files); the search, resume and
# serving machinery they leave out is the same code for every pair of answers but one value's.
WHOLE = {COVER.index(answers) for answers in value_cover(COVER)} | FULL


def render(tmp_path: Path, answers: dict[str, str], package_name: str) -> Path:
    project = tmp_path / package_name.replace("_", "-")
    data = [f"{key}={as_flag(value)}" for key, value in answers.items()]
    new_project(project, data=[*data, f"package_name={package_name}"], defaults=True)
    return project


def project_env(project: Path, **extra: str) -> dict[str, str]:
    """This interpreter's environment, with the project's sources importable."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    # Two projects run at once on two cores: one thread each keeps them from fighting.
    return env | {"PYTHONPATH": str(project / "src"), "OMP_NUM_THREADS": "1", **extra}


def test_the_whole_suites_hold_every_option_value_and_the_rest_each_answer_dependent_file():
    for axis in AXES:
        assert {COVER[i][axis] for i in WHOLE} == {a[axis] for a in option_matrix()}
    names = {re.sub(r"\{%.*?%\}", "", path.name) for path in TEMPLATE_TESTS.iterdir()}
    shaped = {f"tests/{name.removesuffix('.jinja')}" for name in names if name.startswith("test_")}
    assert set(ANSWER_DEPENDENT) <= shaped
    # What the other projects leave out is a known list: a new test file must be placed.
    assert shaped - set(ANSWER_DEPENDENT) == {
        "tests/test_distributed.py",
        "tests/test_resume.py",
        "tests/test_search.py",
        "tests/test_serving.py",
    }


def test_the_cover_holds_every_allowed_pair_and_each_value():
    allowed_pairs = set().union(*(pairs(answers) for answers in option_matrix()))
    assert set().union(*(pairs(answers) for answers in COVER)) == allowed_pairs
    for axis in AXES:
        assert {answers[axis] for answers in COVER} == {a[axis] for a in option_matrix()}
    # Multitask projects with copier.yml's default heads and with each variant.
    heads = [answers.get("heads") for answers in COVER if answers["task"] == "multitask"]
    assert None in heads
    assert all(variant in heads for variant in HEADS_VARIANTS)


@pytest.mark.parametrize(
    "index",
    range(len(COVER)),
    ids=["-".join(COVER[i][axis] for axis in AXES) for i in range(len(COVER))],
)
def test_generated_project_passes_its_own_tests(tmp_path, index):
    # The default project also carries free text full of quotes, Jinja and non-ASCII.
    answers = COVER[index] | (FREE_TEXT if index == 0 else {})
    project = render(tmp_path, answers, f"proj{index:02d}")
    marks = "slow or not slow" if index in FULL else "not slow"
    files = [] if index in WHOLE else list(ANSWER_DEPENDENT)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marks, *files],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    # The suite wrote nothing into the project (no mlflow.db, mlruns/ or outputs/).
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=project, capture_output=True, text=True
    ).stdout.splitlines()
    assert [line for line in status if "__pycache__" not in line] == []


def test_the_readme_commands_train_predict_and_track_to_the_local_store(tmp_path):
    # The project of the quick start: `trainerforge new-project demo --defaults`.
    project = tmp_path / "demo"
    new_project(project, defaults=True)
    readme = (project / "README.md").read_text()
    blocks = shell_blocks(readme)
    commands = [command for block in blocks for command in block]
    install, train = blocks[0]  # "Set up and train"
    assert install == ["python", "-m", "pip", "install", "-e", ".[dev]"]
    predict = ["demo-predict", "outputs/debug"]
    assert predict in commands
    # "Bring your own data": train on train.csv, predict new.csv.
    own_data = next(block for block in blocks if "--train_file" in block[0])
    # "Serve": register the model trained on train.csv, predict new.csv with it, serve it.
    register = next(block for block in blocks if "--register_model" in block[0])
    tune = next(block for block in blocks if block[0][0] == "demo-search")
    serving = ["mlflow", "models", "serve"]
    serve, request = next(block for block in blocks if block[0][:3] == serving)
    assert ["mlflow", "ui", "--backend-store-uri", "sqlite:///mlflow.db"] in commands
    write_wine_files(project)

    venv = tmp_path / "venv"
    # The README's `pip install -e ".[dev]"`, minus the downloads this environment already holds.
    install = [make_venv(venv), "-m", "pip", "install", "-q", "--no-deps"]
    subprocess.run([*install, "--no-build-isolation", "-e", project], check=True)

    env = project_env(project)
    del env["PYTHONPATH"]  # the console scripts must work from the installed project

    def script(program: str, *args: str) -> str:
        # `mlflow` is this interpreter's: MLflow loads the model's own copy of the package.
        mlflow = [sys.executable, "-m", "mlflow"]
        command = mlflow if program == "mlflow" else [venv / "bin" / program]
        result = subprocess.run(
            [*command, *args], cwd=project, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    script(*train)
    script(*predict)
    for command in own_data:
        script(*command)
    # The command: three files, string labels, the default recipe and nothing else.
    files = ["--train_file", "train.csv", "--validation_file", "val.csv", "--test_file", "test.csv"]
    script("demo-train", "configs/default.yaml", *files, "--output_dir", "outputs/wine")
    for command in register + tune:
        script(*command)
    served = serve_and_ask(serve, request, project, env)

    # Every option the README gives the scripts, in its commands or its text, is one they take.
    programs = ("demo-train", "demo-predict", "demo-search")
    helps = {program: script(program, "--help") for program in programs}
    options = {program: set() for program in helps}
    for command in commands:
        if command[0] in helps:
            options[command[0]].update(word for word in command if word.startswith("--"))
        elif "demo.train" in command:  # torchrun or accelerate: the options after the module
            after = command[command.index("demo.train") :]
            options["demo-train"].update(word for word in after if word.startswith("--"))
    in_text = {
        word
        for span in re.findall(r"`(--[^`]*)`", readme)
        for word in span.split()
        if word.startswith("--")
    }
    assert len(options["demo-train"] | in_text) > 10, options

    def takes(help_text: str, name: str) -> bool:
        return bool(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", help_text))

    for program, names in options.items():
        for name in sorted(names):
            assert takes(helps[program], name), (program, name)
    for name in sorted(in_text):  # an option in the text: one of the scripts takes it
        assert any(takes(text, name) for text in helps.values()), name

    results = json.loads((project / "outputs" / "debug" / "all_results.json").read_text())
    assert results["test_accuracy"] > 0.5  # four classes: chance is about 0.25
    assert (project / "predictions.jsonl").read_text().count("\n") == 128

    # Real data with three string classes, in a project generated for four: the data decide.
    with (project / "predictions.csv").open() as lines:
        rows = list(csv.DictReader(lines))
    assert len(rows) == 20
    assert {row["prediction"] for row in rows} <= {"class_0", "class_1", "class_2"}
    assert {"probability_class_0", "probability_class_1", "probability_class_2"} <= set(rows[0])
    config = json.loads((project / "outputs" / "mine" / "config.json").read_text())
    assert config["num_features"] == 13
    assert config["id2label"] == {"0": "class_0", "1": "class_1", "2": "class_2"}
    # The registered model, through the project, MLflow's predict and its server, says the same.
    with (project / "registered-predictions.csv").open() as lines:
        registered = [row["prediction"] for row in csv.DictReader(lines)]
    assert len(registered) == 20
    mlflow_predicted = json.loads((project / "predictions.json").read_text())["predictions"]
    assert [row["prediction"] for row in mlflow_predicted] == registered
    assert [row["prediction"] for row in served] == registered
    wine = json.loads((project / "outputs" / "wine" / "all_results.json").read_text())
    assert wine["test_accuracy"] > 0.85, wine

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    order = ["start_time"]
    runs = mlflow.search_runs(experiment_names=["demo"], output_format="list", order_by=order)
    # The debug run, the own-data runs, the registered one, the search (a parent and four
    # trials) and the best config trained again.
    search_runs = [run for run in runs if "optuna.study" in run.data.tags]
    assert len(search_runs) == 5
    assert yaml.safe_load((project / "outputs/search/best_config.yaml").read_text())
    runs = [run for run in runs if "optuna.study" not in run.data.tags]
    assert [run.info.status for run in runs] == ["FINISHED"] * 5
    (version,) = mlflow.MlflowClient().search_model_versions("name='demo'")
    assert version.run_id == runs[3].info.run_id
    assert runs[0].data.metrics["test_accuracy"] == pytest.approx(results["test_accuracy"])


def serve_and_ask(serve: list[str], request: list[str], project: Path, env: dict) -> list[dict]:
    """Start the README's `mlflow models serve`, send it the README's request; the predictions.

    The request is a curl command; it is sent as curl would send it, without needing curl.
    """
    assert [request[0], request[2], request[4]] == ["curl", "-H", "--data-binary"]
    url, header, body = request[1], request[3], project / request[5].removeprefix("@")
    port = serve[serve.index("--port") + 1]
    assert url.startswith(f"http://127.0.0.1:{port}/")
    server = subprocess.Popen(
        [sys.executable, "-m", *serve],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy to localhost
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, "the server exited"
            try:
                direct.open(f"http://127.0.0.1:{port}/ping", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start in 180 s"
                time.sleep(1)
        name, value = (part.strip() for part in header.split(":", 1))
        asked = urllib.request.Request(url, data=body.read_bytes(), headers={name: value})
        with direct.open(asked, timeout=60) as response:
            return json.loads(response.read())["predictions"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def write_wine_files(project: Path) -> None:
    """scikit-learn's bundled wine data as a user has it: CSVs with string class labels.

    train.csv, val.csv and test.csv split it 70/15/15; new.csv is 20 test rows without labels.
    """
    from sklearn.datasets import load_wine

    wine = load_wine()
    header = [name.replace("/", "_") for name in wine.feature_names] + ["label"]
    rows = [[*map(float, x), f"class_{y}"] for x, y in zip(wine.data, wine.target, strict=True)]
    random.Random(0).shuffle(rows)
    cut = {"train": rows[:124], "val": rows[124:151], "test": rows[151:]}
    cut["new"] = [row[:-1] for row in rows[151:171]]
    for name, part in cut.items():
        with (project / f"{name}.csv").open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(header if name != "new" else header[:-1])
            writer.writerows(part)
