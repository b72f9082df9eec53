"""The model's commands: `earful score`, `earful eval` and `earful train` (with `--fine-tune`),
and the tables and progress bars they draw."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from core.cli.common import app, err, guarded, out, progress_bars
from core.config import Settings
from core.errors import InvalidInput
from core.paths import DataPaths


@app.command()
def score(
    ctx: typer.Context,
    limit: Optional[int] = typer.Option(None, "--limit", help="Score at most this many (default: all unscored)."),
) -> None:
    """Score unscored mentions now (the scheduler also does this every sentiment.interval_seconds)."""
    from sentiment.job import chunk_size, score_pending
    from sentiment.scorer import Scorer

    def body() -> int:
        settings = ctx.obj.settings()
        db = ctx.obj.database(settings)
        scorer = Scorer.from_settings(settings.sentiment, paths=DataPaths.of(settings))
        with progress_bars() as report:
            return score_pending(db, scorer, batch_size=chunk_size(settings.sentiment), limit=limit, on_progress=report)

    out.print(f"scored {guarded(body)} mentions")


@app.command("eval")
def eval_(
    ctx: typer.Context,
    file: Optional[Path] = typer.Argument(None, help="CSV with a text column and a label column (positive/negative/neutral)."),
    text_col: str = typer.Option("text", "--text-col"),
    label_col: str = typer.Option("label", "--label-col"),
    tweeteval: bool = typer.Option(False, "--tweeteval", help="Instead of a FILE: the TweetEval sentiment benchmark "
                                   "in sentiment.corpora.tweeteval, beside its published leaderboard."),
    split: str = typer.Option("test", "--split", help="With --tweeteval: test (12,284 tweets) or val (2,000)."),
    group_col: Optional[str] = typer.Option(None, "--group-col", help="Adapt to each group's class mix (e.g. a "
                                            "brand column) instead of the whole file's."),
    no_adapt: bool = typer.Option(False, "--no-adapt", help="Only the model's own labels, not adapted to the "
                                  "file's class mix (sentiment.adaptation)."),
    heads: Optional[Path] = typer.Option(None, "--heads", help="Evaluate these heads (a .npz that earful train "
                                         "wrote) instead of the version in use (the data directory's "
                                         "models/CURRENT, else the packaged sentiment/heads/CURRENT)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Measure the current model and VADER on your own labelled mentions, or on TweetEval, with the
    calibration of the model's probabilities (expected calibration error before and after its temperature)."""
    from sentiment.job import evaluate_csv, evaluate_tweeteval
    from sentiment.scorer import Scorer

    def body() -> dict[str, Any]:
        settings = ctx.obj.settings()
        if (file is None) == (not tweeteval):
            raise InvalidInput("give either a FILE or --tweeteval")
        if file is not None and not file.exists():
            raise InvalidInput(f"{file} does not exist")
        folder = settings.sentiment.corpora.tweeteval
        if tweeteval and not (folder and Path(folder).is_dir()):
            from sentiment.tweets import TWEETEVAL_SOURCE

            raise InvalidInput(f"sentiment.corpora.tweeteval: {folder or 'not set'} is no folder; obtain the "
                               f"benchmark from {TWEETEVAL_SOURCE} and set the key to its folder")
        if group_col and file is None:
            raise InvalidInput("--group-col names a column of FILE; --tweeteval has none")
        if heads is not None and not (heads.suffix == ".npz" and heads.is_file()):
            raise InvalidInput(f"--heads {heads}: no such heads file; give a <version>.npz that `earful train` wrote")
        paths = DataPaths.of(settings)
        scorer = (Scorer.from_settings(settings.sentiment, paths=paths) if heads is None
                  else Scorer.from_settings(settings.sentiment, heads.stem, heads_dir=heads.parent, paths=paths))
        # Adapted as production adapts one brand's stream: the file's rows (or each group) are the stream.
        adaptation = None if no_adapt else settings.sentiment.adaptation
        with progress_bars() as report:
            if file is None:
                return evaluate_tweeteval(Path(folder), scorer, split=split, on_progress=report,  # type: ignore[arg-type]
                                          adaptation=adaptation)
            return evaluate_csv(file, text_col, label_col, scorer, on_progress=report, group_col=group_col,
                                adaptation=adaptation)

    result = guarded(body)
    if as_json:
        print(json.dumps(result))
    else:
        print_evaluation(result)


def print_evaluation(result: dict[str, Any]) -> None:
    """`earful eval`'s figures as tables: both scorers' summary (beside the published leaderboard on
    a benchmark), then for each its per-class precision, recall and F1 and its confusion matrix."""
    from sentiment.postprocess import LABELS

    bench = result.get("benchmark")
    title = f"{bench['name']} {bench['split']}: " if bench else ""
    summary = Table("scorer", "macro-recall", "macro-F1", "accuracy", "texts/s",
                    title=f"{title}n = {result['n']}, model {result.get('model_version', '?')}")
    names = {"model": f"Earful ({result.get('model_version', '?')})", "vader": "VADER (compound ±0.05)",
             "adapted": f"Earful adapted to the mix ({result.get('model_version', '?')})"}
    adapted = bool(result.get("adapted")) and result["adaptation"].get("applied", False)
    shown = ("model", "adapted", "vader") if adapted else ("model", "vader")
    for name in shown:
        r = result[name]
        summary.add_row(Text(names[name]), f"{r['macro_recall']:.4f}", f"{r['macro_f1']:.4f}", f"{r['accuracy']:.4f}",
                        f"{r['texts_per_s']:.0f}")
    for system, recall in (bench or {}).get("published", {}).items():
        summary.add_row(Text(f"{system} (published)"), f"{recall / 100:.3f}", "", "", "")
    out.print(summary)
    adaptation = result.get("adaptation")
    if adaptation:
        out.print(adaptation_summary(adaptation), highlight=False, markup=False)
    calibration = result.get("calibration")
    if calibration and calibration.get("measured"):
        out.print(calibration_summary(calibration), highlight=False, markup=False)
        out.print(reliability_table(calibration))
    for name in shown:
        r = result[name]
        per_class = Table("class", "precision", "recall", "F1", "support", title=f"{names[name]}: per class")
        for label, c in r["per_class"].items():
            per_class.add_row(label, f"{c['precision']:.4f}", f"{c['recall']:.4f}", f"{c['f1']:.4f}", str(c["support"]))
        confusion = Table("gold \\ predicted", *LABELS, title=f"{names[name]}: confusion matrix")
        for gold in LABELS:
            confusion.add_row(gold, *(str(r["confusion"][gold][p]) for p in LABELS))
        out.print(per_class)
        out.print(confusion)


def adaptation_summary(adaptation: dict[str, Any]) -> str:
    """What `earful eval` adapted to: the training mix and each group's estimated mix."""
    if "groups" not in adaptation:
        return f"not adapted: {adaptation['why']}"
    mix = lambda m: "/".join(f"{p:.3f}" for p in m)  # noqa: E731
    lines = [f"adaptation (negative/neutral/positive): training mix {mix(adaptation['base_priors'])}, "
             f"{adaptation['max_iterations']} EM step(s), groups of fewer than {adaptation['min_mentions']} rows "
             "keep the model's own"]
    for g in adaptation["groups"]:
        lines.append(f"  {g['name'] or '(empty)'}: {g['n']} rows, "
                     + (f"estimated mix {mix(g['mix'])}" if g["adapted"] else "too few rows, not adapted"))
    return "\n".join(lines)


def calibration_summary(calibration: dict[str, Any]) -> str:
    """`earful eval`'s calibration figures in one paragraph: the temperature, where it was fitted,
    and ECE, classwise ECE and NLL without it (T = 1) and with it."""
    t, before, after = calibration["temperature"], calibration["before"], calibration["after"]
    where = calibration.get("fitted_on")
    source = (f"fitted by earful train on the {where['split']} split, {where['n']:,} texts" if where
              else "these heads carry no fitted temperature: trained before calibration, or on too few held-out texts")
    return (f"calibration of the model's own probabilities ({calibration['binning']}): temperature {t:.4g} "
            f"({source}); ECE {before['ece']:.4f} before (T = 1), {after['ece']:.4f} after; classwise ECE "
            f"{before['classwise_ece']:.4f} before, {after['classwise_ece']:.4f} after; NLL {before['nll']:.4f} "
            f"before, {after['nll']:.4f} after")


def reliability_table(calibration: dict[str, Any]) -> Table:
    """Each bin of the top probability: how many texts, their mean top probability and how many of
    them the model got right, at T = 1 and at the heads' temperature."""
    bins: dict[float, dict[str, Any]] = {}
    for when in ("before", "after"):
        for b in calibration[when]["reliability"]:
            bins.setdefault(b["lower"], {"upper": b["upper"]})[when] = b
    table = Table("top probability", "n before", "confidence before", "accuracy before", "n after",
                  "confidence after", "accuracy after", title="reliability (the model's own probabilities)")
    for lower in sorted(bins):
        row = bins[lower]
        cells = [f"{lower:.3f}-{row['upper']:.3f}"]
        for when in ("before", "after"):
            b = row.get(when)
            cells += [str(b["n"]), f"{b['confidence']:.4f}", f"{b['accuracy']:.4f}"] if b else ["0", "", ""]
        table.add_row(*cells)
    return table


@app.command()
def train(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="Use the new model even if it scores worse on the held-out split."),
    rescore_days: float = typer.Option(7.0, "--rescore-days", help="Re-score mentions of the last N days with a new model."),
    fine_tune: bool = typer.Option(False, "--fine-tune", help="Instead: fine-tune the encoder end to end with a "
                                   "sentiment head (sentiment.fine_tune; resumes from its checkpoint) and compare it "
                                   "with the frozen heads on the held-out split."),
) -> None:
    """Retrain the heads on the human-rated corpora, the SemEval tweets (sentiment.corpora.semeval) and staff
    corrections; keep them only if not worse on the held-out split."""
    from core.models import utcnow
    from sentiment.job import train_command
    from sentiment.train import summary

    if fine_tune:
        print_fine_tune(guarded(lambda: run_fine_tune(ctx.obj.settings(), utcnow())))
        return

    def body() -> dict[str, Any]:
        settings = ctx.obj.settings()
        db = ctx.obj.database(settings)
        with progress_bars() as report:
            return train_command(settings.sentiment, db, now=utcnow(), rescore_days=rescore_days, force=force,
                                 on_progress=report, paths=DataPaths.of(settings))

    result = guarded(body)
    if result["weaker"]:
        out.print(f"warning: {result['weaker']}", style="yellow", markup=False, highlight=False, soft_wrap=True)
    tweets = result["tweets"]
    if tweets:
        out.print(f"SemEval tweets: {tweets['read']} read, {tweets['kept']} kept after dropping {tweets['duplicate_ids']} "
                  f"repeated ids, {tweets['duplicate_texts']} repeated texts, {tweets['conflicting']} copies whose labels "
                  f"disagree and {tweets['in_tweeteval']} tweets TweetEval holds; 10 % held out as \"semeval\"",
                  highlight=False)
    print(summary(result["heldout"]))
    verdict = "now in use" if result["accepted"] else "kept aside: it scored worse than the current model"
    if result["kept_for_tweets"]:
        verdict = ("kept aside: the current model learnt from the SemEval tweets and this one did not "
                   "(set sentiment.corpora.semeval, or --force)")
    if result["examples_only"]:
        verdict += f"; {result['in_use']} (the current heads with the new intent and topic examples) is in use"
    out.print(f"model {result['version']}: {verdict}; {result['corrections']} sentiment corrections and "
              f"{result['labelled_examples']} intent and topic examples used, {result['rescored']} mentions re-scored",
              highlight=False)


@contextmanager
def training_bar(console: Console = err) -> Iterator[Callable[[int, int, float], None]]:
    """The fine-tuning bar on stderr: steps done of all, the mean loss of the latest steps, the time
    spent and the estimated time left. A resumed run's bar starts at its checkpoint's step."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TextColumn("ETA"),
                  TimeRemainingColumn(), console=console) as progress:
        task: list[Any] = []

        def report(done: int, total: int, loss: float) -> None:
            if not task:
                task.append(progress.add_task("fine-tuning", total=total, completed=done - 1, loss="-"))
            progress.update(task[0], completed=done, total=total, loss=f"{loss:.4f}")

        yield report


def run_fine_tune(settings: Settings, now: Any) -> dict[str, Any]:
    """`earful train --fine-tune`'s work: Ctrl-C (or SIGTERM) asks the run to checkpoint and stop after
    its current step; a second Ctrl-C stops at once."""
    import signal
    import threading

    from sentiment.job import fine_tune_command

    stop = threading.Event()

    def ask_to_stop(signum: int, frame: Any) -> None:
        err.print("stopping after this step, with a checkpoint (Ctrl-C again to stop at once)", markup=False)
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {sig: signal.signal(sig, ask_to_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with training_bar() as report:
            return fine_tune_command(settings.sentiment, now=now, stop=stop, on_step=report, paths=DataPaths.of(settings),
                                     say=lambda text: err.print(text, markup=False, highlight=False, soft_wrap=True))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def print_fine_tune(result: dict[str, Any]) -> None:
    """What `earful train --fine-tune` did: where it stopped, or the frozen-vs-fine-tuned table and the verdict."""
    minutes = result["wall_s"] / 60
    done = (f"{result['step']} of {result['total_steps']} steps ({result['epochs']:.2f} epochs) on {result['device']}, "
            f"{minutes:.1f} minutes this run, {result['train_s'] / 60:.1f} minutes of training in all")
    if result["weaker"]:
        out.print(f"warning: {result['weaker']}", style="yellow", markup=False, highlight=False, soft_wrap=True)
    if not result["finished"]:
        why = "at sentiment.fine_tune.max_minutes" if result["stopped_by"] == "max_minutes" else "as asked"
        out.print(f"stopped {why} after {done}; checkpoint {result['checkpoint']}; run the same command again "
                  "to resume from it" + ("; the model as it stands is measured below" if "version" in result else ""),
                  highlight=False, markup=False, soft_wrap=True)
        if "version" not in result:
            return
    else:
        out.print(f"fine-tuned {done}", highlight=False, markup=False, soft_wrap=True)
    out.print(f"mean loss {result['loss_first']} over the first 100 steps, {result['loss_last']} over the last 100",
              highlight=False, markup=False)
    comparison = result["comparison"]
    table = Table("corpus", "n", f"frozen heads ({result['frozen_version'] or 'none'})", "fine-tuned", "difference",
                  title=f"held-out macro-F1, model {result['version']}")
    rows = comparison["rows"] or [{"corpus": c, "n": v["n"], "fine_tuned": v["model"]} for c, v in result["heldout"].items()]
    for r in rows:
        table.add_row(r["corpus"], str(r["n"]), f"{r['frozen']:.4f}" if "frozen" in r else "",
                      f"{r['fine_tuned']:.4f}", f"{r['difference']:+.4f}" if "difference" in r else "")
    out.print(table)
    verdict = ("beats the frozen heads" if comparison["beats"] else "does not beat the frozen heads") + f": {comparison['why']}"
    out.print(f"{verdict}. Saved in {result['model_dir']}; it is not put in use: sentiment.model may name that folder "
              "(then `earful train` fits the heads on its vectors; docs/model.md, \"Fine-tuning\", says what that costs "
              "intent, topics and suggestions)", highlight=False, markup=False, soft_wrap=True)
