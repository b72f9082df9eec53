"""Fine-tuning the encoder end to end with a 3-class sentiment head (`earful train --fine-tune`).

The frozen-encoder heads (sentiment.train) never change the encoder; this trains every weight of it
together with one linear layer on its mean-pooled, unit-length sentence vector, which is exactly what
`BatchedEncoder.encode` returns. So the saved model folder works as `sentiment.model` (the encoder;
`earful train` then fits heads on it) and exports to ONNX like any model folder, and its own head
labels texts from any runtime's vectors (`FineTunedClassifier`).

A run is bounded and resumable:

- its length is fixed up front (`epochs` over the training texts, or `max_steps`), so the learning
  rate schedule does not depend on how often it was stopped;
- each epoch's batches are a pure function of the seed and the epoch (`epoch_batches`), so the data
  position is just the step number;
- every `checkpoint_every` steps, at `max_minutes` and when asked to stop, the model, optimiser,
  schedule, step, per-step losses and torch's random state are written (atomically) into a folder
  named by a fingerprint of everything that decides the weights (model, data, hyper-parameters,
  seed); the next run with the same fingerprint resumes from the newest one and, on the same device
  and thread count, reaches the same weights as a run that was never stopped.

`max_minutes` bounds one invocation's wall time (the checkpoint writes included); the total across
resumptions is kept in the checkpoint and reported.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from sentiment.encoder import load_pretrained
from sentiment.metrics import macro_f1
from sentiment.postprocess import LABELS

log = logging.getLogger(__name__)
MAX_FILE_BYTES = 50 * 1024 * 1024  # no file of a model that ships with the project may be larger
HEAD_FILE = "classifier.safetensors"
META_FILE = "fine_tune.json"
CHUNK_BATCHES = 50  # batches sorted by length together: little padding, still well shuffled
WEIGHT_DECAY = 0.01
DROPOUT = 0.1
CLIP_NORM = 1.0
# (done, total, loss): one optimiser step done; loss is the mean of the last LOSS_WINDOW steps.
OnStep = Callable[[int, int, float], None]
LOSS_WINDOW = 50


@dataclass(frozen=True, slots=True)
class TrainingText:
    text: str
    label: int  # index into LABELS
    weight: float = 1.0  # what it counts in the loss (SemEval tweets: sentiment.train.TWEET_WEIGHT)


@dataclass
class Outcome:
    """What one invocation of `fine_tune` did."""

    finished: bool  # every planned step is done
    stopped_by: str  # "done", "max_minutes" or "stop"
    step: int
    total_steps: int
    steps_per_epoch: int
    resumed_from: int | None  # the step of the checkpoint it started from
    device: str
    threads: int
    wall_s: float  # this invocation
    train_s: float  # all invocations of this run, summed
    losses: list[float] = field(default_factory=list)  # per optimiser step, from step 1
    checkpoint: Path | None = None
    fingerprint: str = ""

    @property
    def epochs_done(self) -> float:
        return self.step / max(self.steps_per_epoch, 1)


class Classifier(torch.nn.Module):
    """The encoder, mean pooling over the real tokens, unit length, dropout, one linear layer."""

    def __init__(self, encoder: Any, labels: int = len(LABELS)) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = torch.nn.Dropout(DROPOUT)
        self.head = torch.nn.Linear(int(encoder.config.hidden_size), labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return self.head(self.dropout(torch.nn.functional.normalize(pooled, p=2, dim=1)))


def epoch_batches(lengths: Sequence[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The batches of one epoch, in order: a seeded shuffle, cut into chunks of `CHUNK_BATCHES`
    batches sorted by token count (a batch pads to its own longest text), the batches shuffled again."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths)).tolist()
    span = batch_size * CHUNK_BATCHES
    batches: list[list[int]] = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start:start + span], key=lambda i: (lengths[i], i))
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches)).tolist()]


def planned_steps(n_texts: int, settings: Any) -> tuple[int, int]:
    """(optimiser steps in all, steps per epoch) for `settings` (a `FineTuneConfig`)."""
    per_epoch = math.ceil(n_texts / settings.batch_size)
    total = per_epoch * settings.epochs
    return (min(total, settings.max_steps) if settings.max_steps else total), per_epoch


def fingerprint(model: str, texts: Sequence[TrainingText], settings: Any) -> str:
    """A hash of everything that decides the weights; `max_minutes` and the folders are not in it."""
    from sentiment.encoder import resolve_model

    decides = {k: getattr(settings, k) for k in ("max_steps", "epochs", "learning_rate", "head_learning_rate",
                                                  "warmup_fraction", "batch_size", "max_length", "seed")}
    digest = hashlib.sha256(json.dumps([model, resolve_model(model)[0], decides, WEIGHT_DECAY, DROPOUT, CLIP_NORM,
                                        CHUNK_BATCHES], sort_keys=True).encode())
    for t in texts:
        digest.update(f"{t.label}\x00{t.weight}\x00{t.text}\x01".encode())
    return digest.hexdigest()[:16]


def linear_schedule(total: int, warmup_fraction: float) -> Callable[[int], float]:
    """The learning rate's factor at each step: linear warm-up, then linear decay to zero at `total`."""
    warmup = int(total * warmup_fraction)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def pick_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def fine_tune(
    model: str,
    texts: Sequence[TrainingText],
    settings: Any,
    *,
    checkpoint_dir: Path,
    threads: int | None = None,
    device: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    stop: threading.Event | None = None,
    on_step: OnStep | None = None,
    say: Callable[[str], None] | None = None,
) -> tuple[Outcome, Classifier, Any]:
    """Train (or resume training) `model` with a new head on `texts`; (outcome, classifier, tokenizer).

    `settings` is a `FineTuneConfig`. The run stops after its planned steps, when `clock` says
    `max_minutes` have passed since the call, or when `stop` is set (checked between steps).
    """
    from transformers import AutoModel, AutoTokenizer

    say = say or log.info
    started = clock()
    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    device = device or pick_device()
    if not texts:
        raise ValueError("no training texts")
    tokenizer = load_pretrained(model, AutoTokenizer)
    ids = tokenizer([t.text or " " for t in texts], truncation=True, max_length=settings.max_length,
                    return_attention_mask=False, return_token_type_ids=False)["input_ids"]
    total, per_epoch = planned_steps(len(texts), settings)
    run = fingerprint(model, texts, settings)
    folder = checkpoint_dir / run
    torch.manual_seed(settings.seed)  # the head's initial weights
    encoder = load_pretrained(model, AutoModel).float()  # a folder saved in fp16 trains in fp32
    classifier = Classifier(encoder).to(device)
    optimizer = torch.optim.AdamW(_parameter_groups(classifier, settings))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_schedule(total, settings.warmup_fraction))
    step, losses, train_s, resumed = 0, [], 0.0, None
    newest = newest_checkpoint(folder)
    if newest is not None:
        state = torch.load(newest, map_location=device, weights_only=False)
        classifier.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step, losses, train_s, resumed = state["step"], list(state["losses"]), state["train_s"], state["step"]
        _set_rng(state["rng"], device)
    else:
        torch.manual_seed(settings.seed + 1)  # dropout, from a state the checkpoint records
    say(f"fine-tuning {model} on {device} ({threads} CPU threads): {len(texts)} texts, {total} steps of "
        f"{settings.batch_size} ({total / per_epoch:.2f} epochs), max_length {settings.max_length}, "
        + (f"resuming at step {step} from {newest}" if newest is not None else f"checkpoints in {folder}"))
    labels = torch.tensor([t.label for t in texts])
    weights = torch.tensor([t.weight for t in texts], dtype=torch.float32)
    pad_id = tokenizer.pad_token_id or 0
    batches: dict[int, list[list[int]]] = {}
    lengths = [len(s) for s in ids]
    stopped_by, saved_at = "done", step if newest is not None else -1
    classifier.train()
    while step < total:
        epoch, position = divmod(step, per_epoch)
        if epoch not in batches:
            batches = {epoch: epoch_batches(lengths, settings.batch_size, settings.seed, epoch)}
        chosen = batches[epoch][position]
        begun = clock()
        loss = _train_step(classifier, optimizer, schedule, [ids[i] for i in chosen], pad_id, labels[chosen],
                           weights[chosen], device)
        train_s += clock() - begun
        step += 1
        losses.append(loss)
        if on_step is not None:
            on_step(step, total, float(np.mean(losses[-LOSS_WINDOW:])))
        out_of_time = clock() - started >= settings.max_minutes * 60
        asked = stop is not None and stop.is_set()
        if step % settings.checkpoint_every == 0 or step == total or out_of_time or asked:
            save_checkpoint(folder, step, classifier, optimizer, schedule, losses, train_s, device)
            saved_at = step
        if step < total and (out_of_time or asked):
            stopped_by = "max_minutes" if out_of_time else "stop"
            break
    classifier.eval()
    outcome = Outcome(finished=step >= total, stopped_by=stopped_by, step=step, total_steps=total,
                      steps_per_epoch=per_epoch, resumed_from=resumed, device=device, threads=threads,
                      wall_s=clock() - started, train_s=train_s, losses=losses,
                      checkpoint=_checkpoint_path(folder, saved_at) if saved_at >= 0 else None, fingerprint=run)
    return outcome, classifier, tokenizer


def _parameter_groups(classifier: Classifier, settings: Any) -> list[dict[str, Any]]:
    """AdamW groups: the encoder at `learning_rate`, the new head at `head_learning_rate`; no weight
    decay on biases and LayerNorm weights (the usual BERT recipe)."""
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, param in classifier.named_parameters():
        groups.setdefault((name.startswith("head."), param.ndim < 2), []).append(param)
    return [{"params": params, "lr": settings.head_learning_rate if head else settings.learning_rate,
             "weight_decay": 0.0 if flat else WEIGHT_DECAY}
            for (head, flat), params in sorted(groups.items())]


def _train_step(classifier: Classifier, optimizer: Any, schedule: Any, sequences: list[list[int]], pad_id: int,
                labels: torch.Tensor, weights: torch.Tensor, device: str) -> float:
    from sentiment.encoder import pad_batch

    batch = {k: torch.from_numpy(v).to(device) for k, v in pad_batch(sequences, pad_id).items()}
    logits = classifier(batch["input_ids"], batch["attention_mask"])
    per_text = torch.nn.functional.cross_entropy(logits, labels.to(device), reduction="none")
    w = weights.to(device)
    loss = (per_text * w).sum() / w.sum()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(classifier.parameters(), CLIP_NORM)
    optimizer.step()
    schedule.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


# -- checkpoints ---------------------------------------------------------------------------------


def _checkpoint_path(folder: Path, step: int) -> Path:
    return folder / f"step-{step:08d}.pt"


def newest_checkpoint(folder: Path) -> Path | None:
    found = sorted(folder.glob("step-*.pt")) if folder.is_dir() else []
    return found[-1] if found else None


def save_checkpoint(folder: Path, step: int, classifier: Classifier, optimizer: Any, schedule: Any,
                    losses: list[float], train_s: float, device: str) -> Path:
    """Everything a resumed run needs, written to a temporary file and renamed; older ones removed."""
    folder.mkdir(parents=True, exist_ok=True)
    target = _checkpoint_path(folder, step)
    partial = target.with_suffix(".partial")
    rng: dict[str, Any] = {"torch": torch.get_rng_state()}
    if device.startswith("cuda"):
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save({"model": classifier.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                "step": step, "losses": losses, "train_s": train_s, "rng": rng}, partial)
    os.replace(partial, target)
    for old in folder.glob("step-*.pt"):
        if old != target:
            old.unlink(missing_ok=True)
    return target


def _set_rng(rng: dict[str, Any], device: str) -> None:
    torch.set_rng_state(rng["torch"])
    if device.startswith("cuda") and "cuda" in rng:
        torch.cuda.set_rng_state_all(rng["cuda"])


# -- the saved model -----------------------------------------------------------------------------


def weights_dtype(fp32_bytes: int) -> torch.dtype:
    """fp32, unless its weights file would pass the project's 50 MB limit per file: then fp16."""
    return torch.float16 if fp32_bytes > MAX_FILE_BYTES * 0.98 else torch.float32


def save_model(classifier: Classifier, tokenizer: Any, folder: Path, meta: dict[str, Any]) -> Path:
    """A model folder: the encoder (safetensors; fp16 when fp32 would pass 50 MB), its tokenizer, the
    head (`classifier.safetensors`, fp32) and what the run did (`fine_tune.json`)."""
    from safetensors.torch import save_file

    encoder = copy.deepcopy(classifier.encoder).cpu()
    fp32_bytes = sum(p.numel() * 4 for p in encoder.parameters())
    dtype = weights_dtype(fp32_bytes)
    work = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    encoder.to(dtype).save_pretrained(work)
    tokenizer.save_pretrained(work)
    head = classifier.head
    save_file({"weight": head.weight.detach().float().cpu().contiguous(),
               "bias": head.bias.detach().float().cpu().contiguous()}, str(work / HEAD_FILE))
    (work / META_FILE).write_text(json.dumps(meta | {"weights_dtype": str(dtype).removeprefix("torch."),
                                                     "labels": list(LABELS)}, indent=2))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(work, folder)
    return folder


def read_meta(folder: Path) -> dict[str, Any]:
    return json.loads((Path(folder) / META_FILE).read_text())


def write_meta(folder: Path, meta: dict[str, Any]) -> None:
    (Path(folder) / META_FILE).write_text(json.dumps(meta, indent=2))


class FineTunedClassifier:
    """A saved fine-tuned model as a labeller: vectors from `encoder` (any runtime of the folder's
    encoder: torch, ONNX int8), then the head, in numpy. Has what `sentiment.job.evaluate_labelled` needs."""

    def __init__(self, folder: Path, encoder: Any) -> None:
        from safetensors.numpy import load_file

        head = load_file(str(Path(folder) / HEAD_FILE))
        self.weight, self.bias = head["weight"].astype(np.float32), head["bias"].astype(np.float32)
        self.encoder = encoder
        self.version = read_meta(folder).get("version", Path(folder).name)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.encode(list(texts)) @ self.weight.T + self.bias

    def labels(self, texts: Sequence[str]) -> list[str]:
        return [LABELS[i] for i in self.logits(texts).argmax(axis=1)]


def heldout_figures(classifier: FineTunedClassifier, heldout: dict[str, Sequence[Any]]) -> dict[str, dict[str, float]]:
    """Per corpus the macro-F1 on its held-out split, and the mean over corpora (as sentiment.train's)."""
    out: dict[str, dict[str, float]] = {}
    for corpus, examples in heldout.items():
        predicted = classifier.labels([e.text for e in examples])
        out[corpus] = {"model": round(macro_f1([e.label for e in examples], predicted), 4), "n": len(examples)}
    out["mean"] = {"model": round(float(np.mean([v["model"] for v in out.values()])), 4),
                   "n": sum(v["n"] for v in out.values())}
    return out


VADER_CORPORA = ("tweets", "amazon", "movies", "nyt")


def compare(fine_tuned: dict[str, dict[str, float]], frozen: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    """The frozen-vs-fine-tuned rows on the same held-out splits, and whether the fine-tuned model
    beats the frozen heads: a higher mean over every corpus and over the VADER corpora both."""
    if frozen is None:
        return {"rows": [], "beats": False, "why": "no frozen heads on this encoder to compare with"}
    rows = [{"corpus": c, "n": fine_tuned[c]["n"], "frozen": frozen[c]["model"], "fine_tuned": fine_tuned[c]["model"]}
            for c in fine_tuned if c != "mean" and c in frozen]
    groups = {"all": rows, "vader": [r for r in rows if r["corpus"] in VADER_CORPORA]}
    means = [{"corpus": f"mean ({name})", "n": sum(r["n"] for r in group),
              "frozen": round(float(np.mean([r["frozen"] for r in group])), 4),
              "fine_tuned": round(float(np.mean([r["fine_tuned"] for r in group])), 4)}
             for name, group in groups.items() if group]
    rows = [r | {"difference": round(r["fine_tuned"] - r["frozen"], 4)} for r in rows + means]
    worse = [r["corpus"] for r in rows[-len(means):] if not r["fine_tuned"] > r["frozen"]] if means else ["mean (all)"]
    why = ("a higher held-out mean macro-F1 over every corpus and over the VADER corpora" if not worse else
           "not higher on the held-out " + " and ".join(worse) + " macro-F1")
    return {"rows": rows, "beats": not worse, "why": why}
