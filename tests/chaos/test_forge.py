"""chaos/forge.py: the variants it makes keep the captured pos_ecb MAC, carry exactly the edits
plus the compensation in one other field, and do not survive x919."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steadypos.chaos.forge import NO_CARRIER, fold, forge
from steadypos.protocol import mac
from steadypos.protocol.codec import decode_frame, encode_frame
from steadypos.protocol.frame import PREFIX_LEN

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "vectors.json").read_text())
FRAME = bytes.fromhex(VECTORS["sale_0200"]["frame_hex"])  # a 1.0 sale, MAC'd with pos_ecb
MAK = bytes.fromhex(VECTORS["working_keys_clear"]["mak"])
EDITS = [{4: "000000005000"}, {11: "000777"}, {60: "22000002"}, {4: "000000009999", 11: "000002"}]


@pytest.mark.parametrize("edits", EDITS, ids=lambda e: "+".join(f"F{n}" for n in e))
def test_every_variant_keeps_the_mac_and_changes_only_edits_and_carrier(edits):
    captured = decode_frame(FRAME)
    variants = forge(FRAME, edits)
    assert variants
    assert len({v.carrier for v in variants}) == len(variants)  # one per carrier field
    for v in variants:
        got = decode_frame(v.frame)
        assert got.fields[64] == captured.fields[64]
        assert mac.verify(got, MAK, mac.MacAlgorithm.POS_ECB)
        assert not mac.verify(got, MAK, mac.MacAlgorithm.X919)
        assert v.carrier not in edits and got.fields[v.carrier] == v.carrier_value
        changed = {n for n in got.fields if got.fields[n] != captured.fields.get(n)}
        assert changed == set(edits) | {v.carrier}
        assert fold(v.frame[PREFIX_LEN:-8]) == fold(FRAME[PREFIX_LEN:-8])
        assert encode_frame(got) == v.frame  # decodes and re-encodes to the same bytes


def test_edits_that_cancel_out_need_no_carrier():
    captured = decode_frame(FRAME)
    (v,) = forge(FRAME, {4: "000000001234"})  # the value it has: the fold does not change
    assert v.carrier == NO_CARRIER and v.frame == encode_frame(captured)


def test_an_edit_that_changes_the_length_is_refused():
    with pytest.raises(ValueError, match="length"):
        forge(FRAME, {2: "62220212345678901"})  # 19 -> 17 digits


def test_only_data_fields_of_a_maced_frame():
    with pytest.raises(ValueError):
        forge(FRAME, {64: "00" * 8})
