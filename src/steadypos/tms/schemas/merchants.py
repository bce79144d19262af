"""Merchants, made by approving an application."""

from __future__ import annotations

from steadypos.tms.schemas.common import Model, Time


class MerchantOut(Model):
    mid: str
    legal_name: str
    licence_no: str
    contact_name: str
    contact_phone: str
    address: str
    settlement_account: str
    application_id: str
    terminals: int
    created_at: Time
