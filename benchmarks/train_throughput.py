"""A generated project's `Trainer.train()` against a hand-written PyTorch loop, at realistic steps.

Two figures, kept apart because a short block mixes them up:

- per step (the result, target >= 0.95): the hand loop's seconds per optimizer step over the
  Trainer's, in the steady state. Each side trains blocks of two lengths (--steps SHORT LONG);
  the time per step is the difference of their median times over the difference of their
  steps, so what a `train()` call costs once cancels out.
- fixed cost (target <= 0.5 s): what one `train()` call costs beyond the hand loop's set-up,
  once: the short block's median time less its steps at the per-step time, Trainer minus hand.

Setups (each rendered from the template into a temporary directory and imported):

- tabular (the headline): the default project's MLP at hidden_size 1024, batch 64, about 6 ms
  a step on one CPU thread;
- sequence: a `modality=sequence` project's Transformer encoder with its default sizes, batch 64;
- small (for information only): the default MLP at its own size, batch 8, about 0.7 ms a step,
  where the Trainer's bookkeeping per step weighs most.

In every block, the Trainer side is what `<package>.train.main` builds (ProjectTrainer, the
project's collate_fn, metrics and TrackingCallback) with the project's TrainArguments: AdamW
over two parameter groups, linear warmup and decay, clipping at max_grad_norm=1.0, MLflow on (a
temporary SQLite store) logging every 50 steps and at the last one. Evaluation and checkpoints
are off: they are work the hand loop does not do. The hand side is the same model, data order,
optimizer, schedule, clipping and MLflow logging, written by hand. Both open their MLflow run
with the project's tracked_run before the clock starts, as train.py does; the clock runs from the
call to train() (or the loop's first line) until `mlflow.flush_async_logging()` returns. Both
start from the same seed, and the script checks that they end with bitwise identical weights.

With --plain-trainer (the default), transformers' own Trainer with its default
TrainingArguments (but the same batch size and steps, the column-removing collator, a progress
bar, MLflow on) trains the same model and data, given only the loss a plain module needs: its
figures are printed beside the others, for reference, outside the result.

torch runs on one thread (--threads): on a shared 2-core machine a second thread that spins
while waiting for the other core makes timings swing. Both sides use the same setting.

    python benchmarks/train_throughput.py [--rounds N] [--threads N] [--no-plain-trainer]
        [--setups tabular,sequence,small] [--template DIR] [--keep]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import os
import pstats
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.dont_write_bytecode = True  # no benchmarks/__pycache__ in the repository
import _bench  # noqa: E402

NAME = "train_throughput"
TARGET = 0.95
FIXED_COST_TARGET = 0.5  # seconds


@dataclass
class Setup:
    answers: list[str]
    package: str
    model: dict
    batch_size: int
    steps: tuple[int, int]
    headline: bool = False
    figures: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    same_weights: bool | None = None
    profiles: dict[str, list[tuple[float, int, str]]] = field(default_factory=dict)


SETUPS = {
    "tabular": Setup([], "my_project", {"hidden_size": 1024}, 64, (40, 160), headline=True),
    "sequence": Setup(
        ["modality=sequence", "package_name=sequence_bench"], "sequence_bench", {}, 64, (20, 80)
    ),
    "small": Setup([], "my_project", {}, 8, (150, 750)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="Measured rounds (default 7).")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads, both sides (0: torch's default)."
    )
    parser.add_argument(
        "--setups",
        default=",".join(SETUPS),
        help=f"Comma-separated setups to time (default: {','.join(SETUPS)}).",
    )
    parser.add_argument(
        "--no-plain-trainer",
        dest="plain_trainer",
        action="store_false",
        help="Leave out transformers' own Trainer (reference figures).",
    )
    _bench.add_template_arguments(parser, keep=True)
    options = parser.parse_args()
    chosen = [name.strip() for name in options.setups.split(",") if name.strip()]
    if unknown := sorted(set(chosen) - set(SETUPS)):
        parser.error(f"unknown setups {unknown}; the setups are {', '.join(SETUPS)}")

    with _bench.workspace(NAME, keep=options.keep) as (tmp, env):
        rendered: dict[str, Path] = {}
        for name in chosen:
            setup = SETUPS[name]
            if setup.package not in rendered:
                project = tmp / setup.package
                _bench.render_default_project(project, env, options.template, setup.answers)
                sys.path.insert(0, str(project / "src"))
                rendered[setup.package] = project
        print(f"projects rendered from {options.template}: {', '.join(rendered)}")
        import torch

        if options.threads:
            torch.set_num_threads(options.threads)
        with _bench.output_to(tmp / "output.log"):
            for name in chosen:
                measure(SETUPS[name], tmp / name, options)
    report({name: SETUPS[name] for name in chosen}, options)


def measure(setup: Setup, tmp: Path, options: argparse.Namespace) -> None:
    """Fill setup.figures: seconds per block, by side and by block length."""
    import mlflow
    import torch
    from torch.utils.data import DataLoader, Dataset, RandomSampler
    from transformers import Trainer, TrainingArguments, get_linear_schedule_with_warmup, set_seed

    def module(name: str):
        return importlib.import_module(f"{setup.package}.{name}")

    config, data, train = module("config"), module("data"), module("train")
    splits = module("splits")
    model_module, tracking, trainer_module = module("model"), module("tracking"), module("trainer")
    model_args, data_args = config.ModelArguments(**setup.model), config.DataArguments()
    loaded = splits.build_datasets(data_args)
    datasets = loaded.splits
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    mlflow.set_experiment(os.environ["MLFLOW_EXPERIMENT_NAME"])  # creates the store: not timed
    final: dict[str, dict] = {}

    def arguments(steps: int, output: str = "outputs"):
        return config.TrainArguments(
            output_dir=str(tmp / output),
            eval_strategy="no",
            save_strategy="no",
            per_device_train_batch_size=setup.batch_size,
            max_steps=steps,
        )

    def new_model():
        return model_module.Model(**train.model_config(model_args, loaded))

    def timed(trainer_or_loop, args) -> float:
        with tracking.tracked_run(True, args.output_dir, None):
            start = time.perf_counter()
            trainer_or_loop()
            mlflow.flush_async_logging()  # what the block logged is stored, inside the clock
            return time.perf_counter() - start

    def project_trainer(args):
        return trainer_module.ProjectTrainer(
            model=new_model(),
            args=args,
            train_dataset=datasets["train"],
            eval_dataset=datasets["validation"],
            data_collator=data.collate_fn,
            compute_metrics=importlib.import_module(f"{setup.package}.metrics").compute_metrics,
            callbacks=[tracking.TrackingCallback(model_args, data_args)],
        )

    # The hand loop's parameter groups are the project's: no weight decay on biases and
    # normalisation weights.
    probe = project_trainer(arguments(1))
    decay = set(probe.get_decay_parameter_names(probe.model))

    def trainer_block(steps: int) -> float:
        args = arguments(steps)
        set_seed(args.seed)
        trainer = project_trainer(args)
        seconds = timed(trainer.train, args)
        final["trainer"] = trainer.model.state_dict()
        return seconds

    def hand_block(steps: int) -> float:
        args = arguments(steps)
        set_seed(args.seed)
        model = new_model()
        set_seed(args.seed)  # as Trainer.__init__ does, once the model is built

        def loop() -> None:
            mlflow.log_params(
                {"learning_rate": args.learning_rate, "batch_size": setup.batch_size},
                synchronous=False,
            )
            generator = torch.Generator()
            train_set = datasets["train"]
            loader = DataLoader(
                train_set,
                batch_size=setup.batch_size,
                sampler=RandomSampler(train_set, generator=generator),
                collate_fn=data.collate_fn,
            )
            named = list(model.named_parameters())
            optimizer = torch.optim.AdamW(
                [
                    {
                        "params": [p for n, p in named if n in decay],
                        "weight_decay": args.weight_decay,
                    },
                    {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0},
                ],
                lr=args.learning_rate,
                betas=(args.adam_beta1, args.adam_beta2),
                eps=args.adam_epsilon,
                fused=trainer_module.fused_step(p for _, p in named),
            )
            scheduler = get_linear_schedule_with_warmup(
                optimizer, args.get_warmup_steps(steps), steps
            )
            model.train()
            step, epoch, running, since = 0, 0, torch.zeros(()), 0
            while step < steps:
                generator.manual_seed(args.seed + epoch)  # accelerate's seedable sampler does this
                for batch in loader:
                    labels = batch.pop(data.LABEL_NAMES[0])
                    loss = trainer_module.compute_loss_value(model(**batch), labels)
                    loss.backward()
                    grad_norm = torch.nn.utils.clip_grad_norm_(
                        model.parameters(), args.max_grad_norm
                    )
                    learning_rate = scheduler.get_last_lr()[0]
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    running += loss.detach()
                    step, since = step + 1, since + 1
                    if step % args.logging_steps == 0 or step == steps:  # the Trainer logs both
                        logs = {"loss": running.item() / since, "grad_norm": grad_norm.item()}
                        logs |= {"learning_rate": learning_rate, "epoch": step / len(loader)}
                        mlflow.log_metrics(logs, step=step, synchronous=False)
                        running.zero_()
                        since = 0
                    if step == steps:
                        break
                epoch += 1

        seconds = timed(loop, args)
        final["hand"] = model.state_dict()
        return seconds

    class PlainTrainer(Trainer):
        """What a plain nn.Module returning logits needs: a loss. Nothing else is changed."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs[data.LABEL_NAMES[0]]
            logits = model(**{k: v for k, v in inputs.items() if k not in data.LABEL_NAMES})
            loss = trainer_module.compute_loss_value(logits, labels)
            return (loss, {"logits": logits}) if return_outputs else loss

    class OneExampleAtATime(Dataset):
        """The project's examples as a plain map-style Dataset (no batch-slicing fast path)."""

        def __len__(self) -> int:
            return len(datasets["train"])

        def __getitem__(self, index: int):
            return datasets["train"][index]

    def plain_block(steps: int) -> float:
        args = TrainingArguments(
            output_dir=str(tmp / "plain-outputs"),
            report_to=["mlflow"],
            label_names=list(data.LABEL_NAMES),
            per_device_train_batch_size=setup.batch_size,
            max_steps=steps,
        )
        set_seed(args.seed)
        trainer = PlainTrainer(
            model=new_model(),
            args=args,
            train_dataset=OneExampleAtATime(),
            data_collator=data.collate_fn,
        )
        return timed(trainer.train, args)

    sides = {"trainer": trainer_block, "hand": hand_block}
    if options.plain_trainer:
        sides["plain"] = plain_block
    short, long = setup.steps
    for block in sides.values():
        block(short)  # warm-up, not measured: first-call costs (lazy imports, MLflow threads)
    measures = {
        f"{side} {steps}": (lambda block=block, steps=steps: block(steps))
        for side, block in sides.items()
        for steps in (short, long)
    }
    figures = _bench.interleaved(options.rounds, measures, show=False)
    setup.figures = {
        side: {steps: figures[f"{side} {steps}"] for steps in (short, long)} for side in sides
    }
    hand_block(long)
    trainer_block(long)
    setup.same_weights = all(
        torch.equal(tensor, final["hand"][name]) for name, tensor in final["trainer"].items()
    )
    if setup.headline:
        setup.profiles = {side: profile(sides[side], long) for side in ("trainer", "hand")}


def profile(block, steps: int) -> list[tuple[float, int, str]]:
    """Seconds (own time) and calls of each function a block ran, under cProfile."""
    profiler = cProfile.Profile()
    profiler.runcall(block, steps)
    stats = pstats.Stats(profiler).stats  # {(file, line, function): (cc, calls, own, ...)}
    rows = [
        (own, calls, f"{Path(file).name}:{line}({function})")
        for (file, line, function), (_, calls, own, *_) in stats.items()
    ]
    return sorted(rows, reverse=True)


def where_the_time_goes(setup: Setup, top: int = 15) -> None:
    """The functions whose own time per step the Trainer spends beyond the hand loop's."""
    steps = setup.steps[1]
    hand = {name: own for own, _, name in setup.profiles["hand"]}
    extra = [
        (own - hand.get(name, 0.0), calls, name) for own, calls, name in setup.profiles["trainer"]
    ]
    extra.sort(reverse=True)
    print(
        f"  where the Trainer's time goes beyond the hand loop's, per step of a {steps}-step "
        "block under cProfile (which inflates Python-level costs); own time per function:"
    )
    for seconds, calls, name in extra[:top]:
        print(f"    {seconds / steps * 1e6:9.1f} us/step  {calls / steps:6.1f} calls/step  {name}")


def per_step_and_fixed(by_steps: dict[int, list[float]]) -> tuple[float, float]:
    """Seconds per step from two block lengths' medians, and the rest of the short block."""
    (short, short_s), (long, long_s) = sorted(
        (steps, _bench.median(times)) for steps, times in by_steps.items()
    )
    per_step = (long_s - short_s) / (long - short)
    return per_step, short_s - short * per_step


def report(setups: dict[str, Setup], options: argparse.Namespace) -> None:
    headline = None
    for name, setup in setups.items():
        model = ", ".join(f"{key} {value}" for key, value in setup.model.items()) or "defaults"
        role = "the result" if setup.headline else "for information"
        print(f"\n{name} ({role}): {setup.package}, model {model}, batch {setup.batch_size}, ")
        print(f"blocks of {setup.steps[0]} and {setup.steps[1]} steps, seconds per block:")
        _bench.print_raw(
            {
                f"{side} {steps}": times
                for side, by in setup.figures.items()
                for steps, times in by.items()
            }
        )
        figures = {side: per_step_and_fixed(by) for side, by in setup.figures.items()}
        hand_step, hand_fixed = figures["hand"]
        for side, (per_step, fixed) in figures.items():
            print(
                f"  {side:<7} {per_step * 1000:.3f} ms per step "
                f"({setup.batch_size / per_step:.0f} samples/s), fixed {fixed:.3f} s per call"
            )
        ratio = hand_step / figures["trainer"][0]
        fixed_cost = figures["trainer"][1] - hand_fixed
        print(
            f"  per-step ratio (hand / trainer): {ratio:.3f}; fixed cost beyond the hand loop: "
            f"{fixed_cost:.3f} s per train() call"
        )
        if "plain" in figures:
            plain_ratio = hand_step / figures["plain"][0]
            print(
                f"  for reference, transformers' Trainer with its defaults: per-step ratio "
                f"{plain_ratio:.3f}, fixed cost {figures['plain'][1] - hand_fixed:.3f} s"
            )
        print(
            f"  same work: bitwise identical weights after {setup.steps[1]} steps: "
            f"{setup.same_weights}"
        )
        if not setup.same_weights:
            print("  warning: the two sides did not compute the same thing; the ratio is not fair")
        if setup.headline:
            headline = (ratio, fixed_cost)
            if ratio < TARGET or fixed_cost > FIXED_COST_TARGET:
                where_the_time_goes(setup)
    if headline is None:
        print("\nno headline setup (tabular) was timed")
        return
    ratio, fixed_cost = headline
    met = fixed_cost <= FIXED_COST_TARGET
    print(
        f"\nfixed cost: {fixed_cost:.3f} s per train() call, target <= {FIXED_COST_TARGET} s "
        f"({'met' if met else 'NOT met'})"
    )
    _bench.final_line(NAME, ratio, TARGET, at_least=True)


if __name__ == "__main__":
    main()
