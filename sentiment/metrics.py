"""Classification metrics, pure Python (evaluation and training share them)."""

from __future__ import annotations

from typing import Any, Sequence

from sentiment.postprocess import LABELS


def classification_report(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] = LABELS) -> dict[str, Any]:
    """macro_f1, macro_recall, accuracy, per_class {label: precision, recall, f1, support}, confusion[gold][pred].

    Macro-averaged recall is the official metric of SemEval-2017 Task 4A and TweetEval sentiment:
    unlike accuracy it does not reward favouring the commonest class."""
    if len(gold) != len(pred):
        raise ValueError("gold and predicted labels differ in length")
    confusion = {g: {p: 0 for p in labels} for g in labels}
    for g, p in zip(gold, pred):
        confusion[g][p] += 1
    per_class = {}
    for label in labels:
        tp = confusion[label][label]
        predicted = sum(confusion[g][label] for g in labels)
        actual = sum(confusion[label].values())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": actual}
    n = len(gold)
    accuracy = sum(confusion[label][label] for label in labels) / n if n else 0.0
    macro = sum(per_class[label]["f1"] for label in labels) / len(labels)
    macro_recall = sum(per_class[label]["recall"] for label in labels) / len(labels)
    return {"macro_f1": round(macro, 4), "macro_recall": round(macro_recall, 4), "accuracy": round(accuracy, 4),
            "per_class": per_class, "confusion": confusion}


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    return float(classification_report(gold, pred)["macro_f1"])
