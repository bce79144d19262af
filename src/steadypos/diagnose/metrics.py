"""Accuracy of a diagnosis against ground truth: per-label precision/recall, macro-F1, confusion."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from steadypos.diagnose.taxonomy import ALL_LABELS


@dataclass
class Score:
    confusion: Counter  # (truth, predicted) -> count
    precision: dict[str, float]
    recall: dict[str, float]
    f1: dict[str, float]
    support: dict[str, int]
    present: list[str]  # labels with at least one true terminal

    @property
    def macro_f1(self) -> float:
        return sum(self.f1[k] for k in self.present) / len(self.present) if self.present else 0.0

    def table(self) -> str:
        rows = [f"{'label':26s} {'P':>5s} {'R':>5s} {'F1':>5s} {'n':>5s}"]
        for k in ALL_LABELS:
            if self.support.get(k) or any(p == k for _, p in self.confusion):
                rows.append(
                    f"{k:26s} {self.precision[k]:5.2f} {self.recall[k]:5.2f} {self.f1[k]:5.2f} "
                    f"{self.support.get(k, 0):5d}"
                )
        rows.append(f"macro-F1 {self.macro_f1:.3f} over {len(self.present)} labels")
        return "\n".join(rows)

    def confusion_table(self) -> str:
        labels = [k for k in ALL_LABELS if self.support.get(k) or any(
            p == k for _, p in self.confusion)]  # fmt: skip
        short = {k: k[:6] for k in labels}
        head = "truth \\ predicted".ljust(26) + " ".join(f"{short[k]:>6s}" for k in labels)
        rows = [head]
        for t in labels:
            cells = " ".join(f"{self.confusion.get((t, p), 0) or '.':>6}" for p in labels)
            rows.append(f"{t:26s}{cells}")
        return "\n".join(rows)


def score(truth: dict[str, str], predicted: dict[str, str]) -> Score:
    confusion: Counter = Counter((truth[t], predicted.get(t, "none")) for t in truth)
    precision: dict[str, float] = {}
    recall: dict[str, float] = {}
    f1: dict[str, float] = {}
    support: dict[str, int] = {}
    for k in map(str, ALL_LABELS):
        tp = confusion.get((k, k), 0)
        fp = sum(v for (t, p), v in confusion.items() if p == k and t != k)
        fn = sum(v for (t, p), v in confusion.items() if t == k and p != k)
        precision[k] = tp / (tp + fp) if tp + fp else 0.0
        recall[k] = tp / (tp + fn) if tp + fn else 0.0
        pr = precision[k] + recall[k]
        f1[k] = 2 * precision[k] * recall[k] / pr if pr else 0.0
        support[k] = tp + fn
    present = [str(k) for k in ALL_LABELS if support[k]]
    return Score(confusion, precision, recall, f1, support, present)
