"""Guided exercises for training mode: the trainee does real flows (against the host's sandbox)
and answers what-would-you-do questions; each gets feedback, the course a score, and the score
goes to the event log as a `training` event (operator, course, score) for diagnosis and the TMS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steadypos.protocol.codes import ResponseCode
from steadypos.terminal.counter.desk import Desk
from steadypos.terminal.counter.screens import Choice, ChoiceScreen
from steadypos.terminal.counter.view import Money, ResultView
from steadypos.terminal.counter.words import say
from steadypos.terminal.events import EventLog, events_path


@dataclass(frozen=True)
class Exercise:
    """A flow to do (`expect` judges the result of the next flow of that `kind`; others the
    trainee needs on the way, such as a sale to refund, do not count) or a question (`choices`,
    `right` the key)."""

    name: str  # texts training.<name>.task/right/wrong
    kind: str = ""
    expect: Callable[[ResultView], bool] | None = None
    choices: tuple[str, ...] = ()
    right: str = ""


@dataclass(frozen=True)
class Course:
    name: str
    title: str  # catalogue key
    exercises: tuple[Exercise, ...]


BASICS = Course("basics", "training.basics", (
    Exercise("sale", "sale", lambda v: v.money is Money.CHARGED),
    Exercise("wrong_pin", "sale", lambda v: v.rc == ResponseCode.WRONG_PIN),
    Exercise("chip_swiped", choices=("i", "s"), right="i"),
    Exercise("void", "void", lambda v: v.money is Money.CHARGED),
    Exercise("refund", "refund", lambda v: v.money is Money.CHARGED),
    Exercise("settle", "settle", lambda v: v.result == "done"),
    Exercise("interrupted", choices=("w", "r"), right="w"),
    Exercise("printer", choices=("p", "c"), right="p"),
))


@dataclass
class CourseRun:
    """One trainee going through a course."""

    course: Course
    operator: str
    index: int = 0
    marks: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.index >= len(self.course.exercises)

    @property
    def current(self) -> Exercise | None:
        return None if self.done else self.course.exercises[self.index]

    @property
    def total(self) -> int:
        return len(self.course.exercises)

    @property
    def score(self) -> int:
        return sum(right for _, right in self.marks)

    def task(self, lang: str) -> str:
        ex = self.current
        if ex is None:
            return ""
        return say("counter.course.step", lang, n=self.index + 1, total=self.total,
                   task=say(f"training.{ex.name}.task", lang))

    def _mark(self, right: bool) -> None:
        ex = self.current
        assert ex is not None
        self.marks.append((ex.name, right))
        self.index += 1

    def check(self, view: ResultView) -> None:
        """Judge the result of the flow the trainee just did, if the exercise asks for one."""
        ex = self.current
        if ex is not None and ex.expect is not None and view.kind == ex.kind:
            self._mark(ex.expect(view))

    async def ask_questions(self, app: Desk) -> None:
        """Ask every question that comes next, until an exercise needs a flow."""
        while (ex := self.current) is not None and ex.expect is None:
            picked = await app.push_screen_wait(ChoiceScreen(
                self.task(app.lang), [Choice(k, k, k.upper()) for k in ex.choices]))
            self._mark(picked == ex.right)

    def feedback(self, lang: str) -> list[str]:
        """One line per exercise: right or not, and why."""
        return [say("counter.course.right" if right else "counter.course.wrong", lang,
                    why=say(f"training.{name}.{'right' if right else 'wrong'}", lang))
                for name, right in self.marks]

    def score_event(self) -> dict[str, Any]:
        """The `training` event's keys (event log v1: operator, course; and how it went)."""
        return {"operator": self.operator or None, "course": self.course.name,
                "score": self.score, "total": self.total,
                "missed": [name for name, right in self.marks if not right]}


def record(journal: Path, tid: str, score: dict[str, Any]) -> None:
    """Write the `training` event in the live terminal's event log, where the diagnosis and the
    TMS read who was trained (a training session's own log is the training copy's)."""
    log = EventLog(events_path(journal), tid)
    try:
        log.emit("training", **score)
    finally:
        log.close()
