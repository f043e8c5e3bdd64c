"""A generated project's `Trainer.train()` against a hand-written PyTorch loop: samples/s (>= 0.90).

Renders the default project with copier into a temporary directory, imports it, and alternates,
in one process, blocks of:

- trainer: what `<package>.train.main` builds (ProjectTrainer, the project's collate_fn, metrics
  and TrackingCallback) with the default TrainArguments: batch 8, 3 epochs of the 2000 synthetic
  examples (750 steps), AdamW over the project's two parameter groups, linear warmup and decay,
  gradient clipping at max_grad_norm=1.0, MLflow on (a temporary SQLite store) logging every 50
  steps. Only eval_strategy and save_strategy are "no": evaluating and checkpointing are work
  beyond the training steps, which the hand loop does not do (the project's defaults evaluate
  and save once per epoch). Output goes to a file, so by the project's default the Trainer
  prints its log lines without a progress bar, as a job writing to a log does.
- hand: the same model, data (the project's dataset and collate_fn through a plain DataLoader,
  shuffled like the Trainer's seeded sampler), AdamW groups, schedule, clipping at 1.0 and MLflow
  logging of loss, grad_norm, learning_rate and epoch every 50 steps (asynchronously, as the
  Trainer's callback does), written by hand.

Each block opens its MLflow run with the project's tracked_run before the clock starts, as
train.py does, and is timed from the call to train() (or the loop's first line) until what it
logged is stored: the clock stops after `mlflow.flush_async_logging()`, so MLflow's background
writes are inside it on both sides. MLflow's writer buffers a second at a time
(MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS=1, the projects' default), set here for every template
so that an older one (`--template`), whose unbuffered writer makes a flush wait about a second
for its next poll, is compared on its training loop.
Both start from the same seed, and the script checks that they end with bitwise identical weights:
the same work. The ratio is median(hand seconds) / median(trainer seconds), that is the Trainer's
throughput over the hand loop's.

With --plain-trainer, a third block, for reference only, trains the same model on the same
examples with transformers' own Trainer and its default TrainingArguments (batch 8, 3 epochs,
the fused AdamW step and linear schedule, a log and a checkpoint every 500 steps, a progress
bar, pinned memory, the column-removing collator over one example at a time), given only the
loss a plain nn.Module needs and MLflow on: what the template saves a user from.

torch runs on one thread by default (--threads): this model is too small to gain from a second
one, and on a shared 2-core machine a second thread that spins while waiting for the other core
makes timings swing tenfold. Both sides always use the same setting.

    python benchmarks/train_throughput.py [--rounds N] [--threads N] [--batch-size N]
        [--hidden-size N] [--plain-trainer] [--template DIR]
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no benchmarks/__pycache__ in the repository
import _bench  # noqa: E402

NAME = "train_throughput"
TARGET = 0.90


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11, help="Measured rounds (default 11).")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads, both sides (0: torch's default)."
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="per_device_train_batch_size, both sides (default: TrainArguments' default, 8).",
    )
    parser.add_argument(
        "--hidden-size",
        type=int,
        default=None,
        help="The MLP's hidden_size, both sides (default: ModelArguments' default, 64): a wider "
        "model spends longer in each step, so the Trainer's fixed cost per step weighs less.",
    )
    parser.add_argument(
        "--plain-trainer",
        action="store_true",
        help="Also time, for reference, transformers' own Trainer with its default "
        "TrainingArguments on the same model and data (not part of the ratio).",
    )
    _bench.add_template_arguments(parser, keep=True)
    options = parser.parse_args()

    with _bench.workspace(NAME, keep=options.keep) as (tmp, env):
        project = _bench.render_default_project(tmp / "project", env, template=options.template)
        import yaml

        answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
        package = answers["package_name"]
        sys.path.insert(0, str(project / "src"))
        print(f"project: {project} (rendered from {options.template}), package {package}")
        with _bench.output_to(tmp / "output.log"):
            measured = run_blocks(tmp, package, options)
    report(*measured)


def run_blocks(tmp: Path, package: str, options: argparse.Namespace):
    import mlflow
    import torch
    from torch.utils.data import DataLoader, Dataset, RandomSampler
    from transformers import Trainer, TrainingArguments, get_linear_schedule_with_warmup, set_seed

    config = importlib.import_module(f"{package}.config")
    data = importlib.import_module(f"{package}.data")
    metrics = importlib.import_module(f"{package}.metrics")
    model_module = importlib.import_module(f"{package}.model")
    tracking = importlib.import_module(f"{package}.tracking")
    train = importlib.import_module(f"{package}.train")
    trainer_module = importlib.import_module(f"{package}.trainer")

    if options.threads:
        torch.set_num_threads(options.threads)
    model_overrides = {"hidden_size": options.hidden_size} if options.hidden_size else {}
    model_args, data_args = config.ModelArguments(**model_overrides), config.DataArguments()
    datasets = train.build_datasets(data_args)
    # The projects' writer setting since it was made their default (see the docstring), for any
    # template: the flush that ends each block then waits for the writes, not for a poll.
    os.environ["MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS"] = "1"
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    mlflow.set_experiment(os.environ["MLFLOW_EXPERIMENT_NAME"])  # creates the store: not timed

    def training_arguments():
        overrides = {}
        if options.batch_size:
            overrides["per_device_train_batch_size"] = options.batch_size
        return config.TrainArguments(
            output_dir=str(tmp / "outputs"), eval_strategy="no", save_strategy="no", **overrides
        )

    def new_model():
        return model_module.Model(**train.model_config(model_args, data_args))

    final = {}

    def project_trainer(args):
        return trainer_module.ProjectTrainer(
            model=new_model(),
            args=args,
            train_dataset=datasets["train"],
            eval_dataset=datasets["eval"],
            data_collator=data.collate_fn,
            compute_metrics=metrics.compute_metrics,
            callbacks=[tracking.TrackingCallback(model_args, data_args)],
        )

    # The hand loop builds the optimizer the project builds: fused or not (older templates).
    fused = project_trainer(training_arguments()).create_optimizer().defaults.get("fused")

    def trainer_block() -> tuple[float, float, int]:
        args = training_arguments()
        set_seed(args.seed)
        trainer = project_trainer(args)
        with tracking.tracked_run(True, args.output_dir, None):
            wall, cpu = time.perf_counter(), time.process_time()
            result = trainer.train()
            mlflow.flush_async_logging()  # what the block logged is stored, inside the clock
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        final["trainer"] = trainer.model.state_dict()
        final["trainer_loss"] = result.training_loss
        return wall, cpu, result.global_step

    def hand_block() -> tuple[float, float, int]:
        args = training_arguments()
        set_seed(args.seed)
        model = new_model()
        set_seed(args.seed)  # as Trainer.__init__ does, once the model is built
        with tracking.tracked_run(True, args.output_dir, None):
            wall, cpu = time.perf_counter(), time.process_time()
            mlflow.log_params(
                {
                    "learning_rate": args.learning_rate,
                    "batch_size": args.per_device_train_batch_size,
                    "epochs": args.num_train_epochs,
                    "weight_decay": args.weight_decay,
                    "max_grad_norm": args.max_grad_norm,
                    "seed": args.seed,
                },
                synchronous=False,
            )
            generator = torch.Generator()
            loader = DataLoader(
                datasets["train"],
                batch_size=args.per_device_train_batch_size,
                sampler=RandomSampler(datasets["train"], generator=generator),
                collate_fn=data.collate_fn,
            )
            # No weight decay on biases (the MLP has no normalisation layers).
            named = list(model.named_parameters())
            decayed = [param for name, param in named if not name.endswith("bias")]
            undecayed = [param for name, param in named if name.endswith("bias")]
            optimizer = torch.optim.AdamW(
                [
                    {"params": decayed, "weight_decay": args.weight_decay},
                    {"params": undecayed, "weight_decay": 0.0},
                ],
                lr=args.learning_rate,
                betas=(args.adam_beta1, args.adam_beta2),
                eps=args.adam_epsilon,
                fused=fused,
            )
            epochs = int(args.num_train_epochs)
            total_steps = len(loader) * epochs
            scheduler = get_linear_schedule_with_warmup(
                optimizer, args.get_warmup_steps(total_steps), total_steps
            )
            model.train()
            step, running_loss, total_loss = 0, torch.zeros(()), 0.0
            for epoch in range(epochs):
                generator.manual_seed(args.seed + epoch)  # accelerate's seedable sampler does this
                for batch in loader:
                    logits = model(features=batch["features"])
                    loss = trainer_module.compute_loss_value(logits, batch["labels"])
                    loss.backward()
                    grad_norm = torch.nn.utils.clip_grad_norm_(
                        model.parameters(), args.max_grad_norm
                    )
                    learning_rate = scheduler.get_last_lr()[0]
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    running_loss += loss.detach()
                    step += 1
                    if step % args.logging_steps == 0:
                        logged = running_loss.item()
                        total_loss += logged
                        running_loss.zero_()
                        mlflow.log_metrics(
                            {
                                "loss": logged / args.logging_steps,
                                "grad_norm": grad_norm.item(),
                                "learning_rate": learning_rate,
                                "epoch": step / len(loader),
                            },
                            step=step,
                            synchronous=False,
                        )
            total_loss += running_loss.item()
            mlflow.flush_async_logging()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        final["hand"] = model.state_dict()
        final["hand_loss"] = total_loss / step
        return wall, cpu, step

    class PlainTrainer(Trainer):
        """What a plain nn.Module returning logits needs: a loss. Nothing else is changed."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            features = {key: value for key, value in inputs.items() if key not in data.LABEL_NAMES}
            logits = model(**features)
            loss = trainer_module.compute_loss_value(logits, inputs[data.LABEL_NAMES[0]])
            return (loss, {"logits": logits}) if return_outputs else loss

    class OneExampleAtATime(Dataset):
        """The project's examples without its batch-slicing `__getitems__`: a plain Dataset."""

        def __init__(self, dataset) -> None:
            self.dataset = dataset

        def __len__(self) -> int:
            return len(self.dataset)

        def __getitem__(self, index: int):
            return self.dataset[index]

    def plain_block() -> tuple[float, float, int]:
        # TrainingArguments' defaults (8 examples a batch, 3 epochs, the fused AdamW and linear
        # schedule, logging every 500 steps, a checkpoint every 500, a progress bar, pinned
        # memory, the column-removing collator), with MLflow on as on the other sides.
        args = TrainingArguments(
            output_dir=str(tmp / "plain-outputs"),
            report_to=["mlflow"],
            label_names=list(data.LABEL_NAMES),
            per_device_train_batch_size=training_arguments().per_device_train_batch_size,
        )
        set_seed(args.seed)
        trainer = PlainTrainer(
            model=new_model(),
            args=args,
            train_dataset=OneExampleAtATime(datasets["train"]),
            data_collator=data.collate_fn,
        )
        with tracking.tracked_run(True, args.output_dir, None):
            wall, cpu = time.perf_counter(), time.process_time()
            result = trainer.train()
            mlflow.flush_async_logging()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return wall, cpu, result.global_step

    samples, figures_cpu = {}, {"trainer": [], "hand": []}

    def measure(block, name):
        def timed() -> float:
            wall, cpu, steps = block()
            figures_cpu[name].append(cpu)
            samples[name] = steps * training_arguments().per_device_train_batch_size
            return wall

        return timed

    blocks = {"trainer": trainer_block, "hand": hand_block}
    if options.plain_trainer:
        blocks["plain"] = plain_block
        figures_cpu["plain"] = []
    for block in blocks.values():
        block()  # warm-up, not measured: first-call costs (lazy imports, MLflow threads)
    figures = _bench.interleaved(
        options.rounds, {name: measure(block, name) for name, block in blocks.items()}, show=False
    )
    same = all(
        torch.equal(tensor, final["hand"][name]) for name, tensor in final["trainer"].items()
    )
    details = {
        "model": f"hidden_size {model_args.hidden_size}, "
        f"{sum(p.numel() for p in new_model().parameters()):,} parameters",
        "threads": torch.get_num_threads(),
        "fused": fused,
        "batch_size": training_arguments().per_device_train_batch_size,
        "samples": samples,
        "same_weights": same,
        "losses": (final["trainer_loss"], final["hand_loss"]),
        "arguments": training_arguments(),
    }
    return figures, figures_cpu, details


def report(figures, figures_cpu, details) -> None:
    args = details["arguments"]
    print(
        f"per block: {details['samples']['trainer']} samples ({details['model']}; "
        f"batch {details['batch_size']}, "
        f"{args.num_train_epochs:g} epochs, lr {args.learning_rate:g}, "
        f"max_grad_norm {args.max_grad_norm:g}, logging_steps {args.logging_steps:g}, "
        f"report_to {args.report_to}, eval_strategy {args.eval_strategy.value}, "
        f"save_strategy {args.save_strategy.value}, fused AdamW step {details['fused']}); "
        f"torch threads: {details['threads']}"
    )
    print(
        "same work: hand loop and Trainer end with bitwise identical weights: "
        f"{details['same_weights']} (mean training loss {details['losses'][0]:.6f} vs "
        f"{details['losses'][1]:.6f})"
    )
    if len(set(details["samples"].values())) > 1:
        sys.exit(f"error: the blocks trained on different numbers of samples: {details['samples']}")
    print("wall time per block:")
    _bench.print_raw(figures)
    print("CPU time (process_time) per block:")
    _bench.print_raw(figures_cpu)
    samples = details["samples"]["trainer"]
    trainer_s, hand_s = _bench.median(figures["trainer"]), _bench.median(figures["hand"])
    ratio = hand_s / trainer_s
    cpu_ratio = _bench.median(figures_cpu["hand"]) / _bench.median(figures_cpu["trainer"])
    print(
        f"throughput (median): trainer {samples / trainer_s:.0f} samples/s, "
        f"hand loop {samples / hand_s:.0f} samples/s"
    )
    if "plain" in figures:
        plain_s = _bench.median(figures["plain"])
        print(
            f"for reference, transformers' Trainer with its defaults: {samples / plain_s:.0f} "
            f"samples/s, {hand_s / plain_s:.2f} of the hand loop's (not part of the result)"
        )
    print(f"ratio by CPU time: {cpu_ratio:.2f}; by wall time (the result): {ratio:.2f}")
    if not details["same_weights"]:
        print("warning: the two sides did not compute the same thing; the ratio is not fair")
    _bench.final_line(NAME, ratio, TARGET, at_least=True)


if __name__ == "__main__":
    main()
