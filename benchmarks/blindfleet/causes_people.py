"""Causes in the people at the counter. Most of it lives in the roster (people.py): a careless
trained operator, or untrained new hires who learn; here only the new QR mode after an update."""

from __future__ import annotations

import math

from . import catalog as C
from .catalog import vtuple
from .causes import Cause
from .model import Flow


class OperatorError(Cause):
    """One trained operator who hurries: swipes chip cards, lets the PIN pad time out, walks away
    from half-done flows, most of all when the queue is long (see Operator.rates)."""

    label = "operator_error"


class TrainingGap(Cause):
    """New hires with no training record (people.py), or, after the update that brought QR
    scanning, operators never trained on it fumbling the new mode."""

    label = "training_gap"

    def setup(self) -> None:
        self.qr_done = 0

    def adjust_rates(self, flow: Flow) -> None:
        op = self.sim.op
        if (self.variant != "new_feature" or flow.cust.card != "qr" or op is None
                or C.NEW_FEATURE_COURSE in op.courses
                or vtuple(self.sim.app_version) < vtuple(C.FEATURE_VERSION)):
            return
        self.qr_done += 1
        e = (0.35 + 0.65 * self.k) * (0.35 + 0.65 * math.exp(-self.qr_done / 40))
        flow.rates["qr_fumble"] = 0.5 * e
        flow.rates["abandon"] += 0.3 * e


PEOPLE_CAUSES: dict[str, type[Cause]] = {c.label: c for c in (OperatorError, TrainingGap)}
