"""The one message catalogue: both languages hold the same keys, every key the pages use exists,
and a lookup falls back to English, then to the key itself."""

from __future__ import annotations

import re
from pathlib import Path

from steadypos import i18n
from steadypos.tms.fleet_models import RolloutState
from steadypos.tms.models import ApplicationStatus, Role, TerminalState
from steadypos.tms.pages.parameters import TARGET_KINDS
from steadypos.tms.services import rollouts
from steadypos.tms.services.alerts import TelemetryCause
from steadypos.tms.services.telemetry import READINGS
from steadypos.tms.services.terminals import TRANSITIONS

TEMPLATES = Path(i18n.__file__).parents[1] / "tms" / "pages" / "templates"


def test_both_languages_have_the_same_keys() -> None:
    assert set(i18n.catalogue("zh")) == set(i18n.catalogue("en"))
    assert all(i18n.catalogue("zh")[k] != "" for k in i18n.catalogue("zh"))


def test_every_key_the_pages_use_exists() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"t\('([a-z_]+\.[a-z_.]+)'\)", template.read_text()))
    # Keys the templates build from states, roles and actions.
    used |= {f"status.{s}" for s in TerminalState} | {f"role.{r}" for r in Role}
    used |= {f"app_status.{s}" for s in ApplicationStatus}
    used |= {f"action.{a}" for a in TRANSITIONS} | {f"audit.terminal.{a}" for a in TRANSITIONS}
    used |= {f"error.{c}" for c in (400, 401, 403, 404, 409, 422, 429, 503)}
    used |= {f"rollout_state.{s}" for s in RolloutState} | {f"target.{k}" for k in TARGET_KINDS}
    used |= {f"rollout.action.{a}" for a in rollouts.TRANSITIONS}
    used |= {f"alert.{c}" for c in TelemetryCause}
    used |= {f"health.{r}" for r in READINGS} | {"rollout.line_new", "rollout.line_old"}
    used |= {"drift.source.template", "drift.source.registry", "rollout.drop",
             "rollout.guard_values"}
    missing = sorted(k for k in used if k not in i18n.catalogue("en"))
    assert not missing and len(used) > 60


def test_lookup_and_language_choice() -> None:
    assert i18n.t("nav.terminals", "zh") == "终端"
    assert i18n.t("nav.terminals", "en") == "Terminals"
    assert i18n.t("no.such.key", "zh") == "no.such.key"
    assert i18n.pick("en-GB,en;q=0.9") == "en" and i18n.pick("fr, zh-CN;q=0.5") == "zh"
    assert i18n.pick(None) == i18n.DEFAULT == "zh"
