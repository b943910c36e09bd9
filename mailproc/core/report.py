"""The one report type every stage returns: what a run did, as named counts, and the error
that stopped it, if any.

Each stage's report (:class:`~mailproc.intake.poll.PollReport`,
:class:`~mailproc.workflow.process.ProcessReport`, …) is a :class:`StageReport` with its own
counters, so the CLI, the scheduler and the logs treat every stage alike.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass
class StageReport:
    stage: ClassVar[str] = "stage"

    def counts(self) -> dict[str, int]:
        """Every whole-number field, by name."""
        return {f.name: value for f in dataclasses.fields(self)
                if isinstance(value := getattr(self, f.name), int) and not isinstance(value, bool)}

    def add(self, other: StageReport) -> None:
        """Add another run's counts of the same stage to these."""
        if type(other) is not type(self):
            raise TypeError(f"cannot add a {type(other).__name__} to a {type(self).__name__}")
        for name, value in other.counts().items():
            setattr(self, name, getattr(self, name) + value)

    @property
    def problem(self) -> str | None:
        """The error that stopped the run, if any (stages that can be stopped set ``error``)."""
        error = getattr(self, "error", None)
        return str(error) if error else None

    def as_json(self) -> dict[str, Any]:
        return {"stage": self.stage, **dataclasses.asdict(self)}

    def __str__(self) -> str:
        text = f"{self.stage}: " + " ".join(f"{name}={value}" for name, value in self.counts().items())
        return text + (f" error={self.problem}" if self.problem else "")
