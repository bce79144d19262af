"""`/notify-hooks`: where incidents are announced (webhooks and e-mail per user or team);
admins only, every change in the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select

from steadypos.tms import audit
from steadypos.tms.deps import Admin, Db
from steadypos.tms.errors import NotFound
from steadypos.tms.notify_models import HookKind, NotifyHook
from steadypos.tms.schemas.common import ID_PATTERN, Page
from steadypos.tms.schemas.notify import HookIn, HookOut

router = APIRouter(prefix="/notify-hooks", tags=["notifications"])
IdPath = Annotated[str, Path(pattern=ID_PATTERN)]


def _out(hook: NotifyHook) -> HookOut:
    return HookOut(id=hook.id, owner=hook.owner, kind=HookKind(hook.kind), target=hook.target,
                   signed=hook.secret is not None, created_at=hook.created_at)


@router.post("", response_model=HookOut, status_code=201)
def add(body: HookIn, db: Db, actor: Admin) -> HookOut:
    """A hook: from now on it is told of every new and every escalated incident."""
    hook = NotifyHook(owner=body.owner, kind=body.kind, target=body.target, secret=body.secret)
    db.add(hook)
    db.flush()
    audit.record(db, actor.name, "notify_hook.add", "notify_hook", str(hook.id), None,
                 {"owner": hook.owner, "kind": hook.kind, "target": hook.target})
    db.commit()
    return _out(hook)


@router.get("", response_model=Page[HookOut])
def listing(db: Db, actor: Admin) -> Page[HookOut]:
    hooks = db.scalars(select(NotifyHook).order_by(NotifyHook.id)).all()
    return Page[HookOut](items=[_out(h) for h in hooks], total=len(hooks))


@router.delete("/{hook_id}", status_code=204)
def remove(hook_id: IdPath, db: Db, actor: Admin) -> None:
    hook = db.get(NotifyHook, int(hook_id))
    if hook is None:
        raise NotFound(f"no notification hook {hook_id}")
    audit.record(db, actor.name, "notify_hook.remove", "notify_hook", str(hook.id),
                 {"owner": hook.owner, "kind": hook.kind, "target": hook.target}, None)
    db.delete(hook)
    db.commit()
