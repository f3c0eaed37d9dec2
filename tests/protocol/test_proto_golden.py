"""Golden vectors: fixed messages and their exact bytes.

The msgpack bodies are checked both ways. Frames are checked one way
(bytes -> message): another zstd release may compress differently, but
must still decompress these bytes. Regenerate only with a protocol bump.
"""

from __future__ import annotations

import pytest

from protocol import (
    Change,
    ErrorResponse,
    SyncRequest,
    SyncResponse,
    capabilities,
    decode_message,
    hlc,
    key_of,
)
from protocol.framing import pack_body, unpack_body
from protocol.limits import DEFAULT_LIMITS
from protocol.messages import Refusal

H = 1_762_934_400_000 << 16
# The capabilities of the peers that made these bytes (mask 15): a later bit (`satellites`, 4) must not move them.
CAPS = frozenset({capabilities.COLUMNAR1, capabilities.ZSTD_DICT1, capabilities.HLC_CLAMP, capabilities.TOMBSTONES})
g1 = ("04512K", "2025/2026", "R130245678", "MATH", 1, 2, 1225, 0, 0, None)
g2 = ("04512K", "2025/2026", "R130245679", "MATH", 1, 2, None, 1, 1, "مرض")
push = [
    Change("grades", key_of("grades", g1), g1, "04512K", 41, H + 1),
    Change("absences", ("R130245678", "2025-11-12"), None, "04512K", 42, H + 2, base=977),
    Change("grades", key_of("grades", g2), g2, "04512K", 43, H + 3),
]
req = SyncRequest("04512K", CAPS, 1200, push, H + 3)
a = ("04512K", "R130245678", "2025-11-12", 3, 3, "maladie", "2025-11-13", "surveillant1")
pull = [
    Change("subjects", ("MATH",), ("MATH", "الرياضيات", "Mathématiques", "0040"), "central", 7, H - 5, sseq=1201),
    Change("absences", key_of("absences", a), a, "04512K", 44, H + 9, sseq=1202),
]
resp = SyncResponse(CAPS, 43, H + 10, pull, 1202, False, H + 10 + hlc.MAX_SKEW, 1)
# Devices and per-row refusals (issue 11): another device's change pulled, one pushed change refused.
pull_dev = [Change("absences", key_of("absences", a), a, "D7K2M9QX", 12, H + 9, sseq=1203)]
resp_refused = SyncResponse(
    CAPS, 45, H + 10, pull_dev, 1203, False, H + 10 + hlc.MAX_SKEW, 1,
    refused=(Refusal(44, "foreign_code", "provisional code TMP-07711B-3 is another school's to give"),),
)  # fmt: skip
err = ErrorResponse("too_many_records", "100001 changes > 100000", {"max_records": 100000})

REQUEST_BODY = bytes.fromhex(
    "9701a630343531324b0fcd04b0cf019a771424000003c39292990e02920092292b940092cf0000019a77142400cf0000"
    "019a77142400ce000100009200920103000000c09aa630343531324ba9323032352f323032369292aa52313330323435"
    "363738aa523133303234353637399200920001a44d4154480102920092cd04c9c0920092000192009200019291a6d985"
    "d8b1d8b6920092c000990f012acf019a771424000002cd03d10001c098c0aa52313330323435363738cd4fb4c0c0c0c0"
    "c0920093000100"
)
REQUEST_FRAME0 = bytes.fromhex(
    "4d5a0100c70128b52ffd0000a5040022881d1e70db019418f218a7d84b2f8c84f1bbaa5af8b7a1a5fa6f0d54909a2024"
    "53befdf36fd70c6ec576fb1cc000b289d1dbf7676995ee6ad36b5f017e7f605b5b8595dbdf9f9aa4087a9ac56134f43f"
    "52a066694eb275f760bfbffbf6d85d7e0793e3fd8161fc770377a3e0c82da7024c5c0d033d8bb9c30a00782059987362"
    "c8ba03d8bc8ccba650a030422e96b2cec3240351de3974"
)
REQUEST_FRAME1 = bytes.fromhex(
    "4d5a0101c70128b52ffd000045030023c40dfa359b46f39cedf0794ffd2bd5721c4596b3ce4d23f1584c01c79f4a2ad6"
    "f1164ae3b88e6bdd146201b8a79259e7f7cc584c22895b3e1a13fc41f54a76212bcdf49848e62a6ce1738c3ef4f31f93"
    "82b21506abfe5469d31bc723184c3b78d3e596c0d7f406427532b3"
)
RESPONSE_BODY = bytes.fromhex(
    "99020f2bcf019a77142400000acd04b2c2cf019a7718b7e0000a01929299010107cf019a771423fffffb00cd04b100a7"
    "63656e7472616c94a44d415448b2d8a7d984d8b1d98ad8a7d8b6d98ad8a7d8aaae4d617468c3a96d61746971756573a4"
    "30303430990f012ccf019a77142400000900cd04b200a630343531324b98a630343531324baa52313330323435363738"
    "cd4fb40303a76d616c61646965cd4fb5ac7375727665696c6c616e7431c0"
)
RESPONSE_FRAME0 = bytes.fromhex(
    "4d5a0100ae0128b52ffd0000150500140999020f2bcf019a77142400000acd04b2c218b7e0000a0192929901010723ff"
    "fffb00cd04b100a763656e7472616c94a44d415448b2d8a7d984d8b1d98ad8a7d8b6aaae4d617468c3a96d6174697175"
    "6573a430303430990f012c0900cd04b200a630343531324b98aa52313330323435363738cd4fb40303a76d616c616469"
    "65cd4fb5ac7375727665696c6c616e7431c00500abac3a030da61c01aa69582718718da8da"
)
RESPONSE_FRAME1 = bytes.fromhex(
    "4d5a0101ae0128b52ffd000015030023440eb205cf99733446e2b19862eeedcc584c22895bb46eabfe956629b3ce5a50"
    "ef4cbe7f691cff4fab9066049d9975fe69dd146201b8a752bd5b1a0dfc9f495c08d0a53051fc9113f4073887b99d369d"
    "f50b64fc0b14c2cc206c022c718074fd21cd915872"
)
REFUSED_BODY = bytes.fromhex(
    "9a020f2dcf019a77142400000acd04b3c2cf019a7718b7e0000a019291990f010ccf019a77142400000900cd04b300a8"
    "44374b324d39515898a630343531324baa52313330323435363738cd4fb40303a76d616c61646965cd4fb5ac73757276"
    "65696c6c616e7431c091932cac666f726569676e5f636f6465d93970726f766973696f6e616c20636f646520544d502d"
    "3037373131422d3320697320616e6f74686572207363686f6f6c277320746f2067697665"
)
REFUSED_FRAME0 = bytes.fromhex(
    "4d5a0100b40128b52ffd00008d0500440a9a020f2dcf019a77142400000acd04b3c218b7e0000a019291990f010c0900"
    "cd04b300a844374b324d39515898a630343531324baa52313330323435363738cd4fb40303a76d616c61646965cd4fb5"
    "ac7375727665696c6c616e7431c091932cac666f726569676e5f636f6465d93970726f766973696f6e616c2020544d50"
    "2d3037373131422d3320697320616e6f74686572207363686f6f6c277320746f206769766503005ecd1081a21482b904"
    "b5307bb2"
)
REFUSED_FRAME1 = bytes.fromhex(
    "4d5a0101b40128b52ffd0000b5040064079a020f2dcf019a77142400000acd04b3c218b7e0000a010c090000a844374b"
    "324d39515898a630343531324baa5231333032b40303cd4fb5c091932cac666f726569676e5f636f6465d93970726f76"
    "697320544d502d3037373131422d3320697320616e6f207363686f6f6c277320746f20676976650a3c7cc9b8f281a2dc"
    "d4d062ea8cd17000558303f406700143b684e9ee4b221d20e7"
)
ERROR_BODY = bytes.fromhex(
    "9403b0746f6f5f6d616e795f7265636f726473b7313030303031206368616e676573203e2031303030303081ab6d6178"
    "5f7265636f726473ce000186a0"
)
ERROR_FRAME0 = bytes.fromhex(
    "4d5a01003d28b52ffd0000cd0100e4029403b0746f6f5f6d616e795f7265636f726473b7313031206368616e67657320"
    "3e20313081ab6d6178ce000186a003004891060205004dfaa153a2"
)
ERROR_FRAME1 = bytes.fromhex(
    "4d5a01013d28b52ffd0000bd010094029403b0746f6f5f6d616e795f7265636f726473b731303120636873203e203081"
    "ab6d6178ce000186a0043cc852a844203d103c039ab9329236"
)

CASES = [
    pytest.param(req, REQUEST_BODY, REQUEST_FRAME0, REQUEST_FRAME1, id="sync-request"),
    pytest.param(resp, RESPONSE_BODY, RESPONSE_FRAME0, RESPONSE_FRAME1, id="sync-response"),
    pytest.param(resp_refused, REFUSED_BODY, REFUSED_FRAME0, REFUSED_FRAME1, id="sync-response-refused"),
    pytest.param(err, ERROR_BODY, ERROR_FRAME0, ERROR_FRAME1, id="error-response"),
]


@pytest.mark.parametrize(("msg", "body", "frame0", "frame1"), CASES)
def test_body_bytes_are_exact(msg: object, body: bytes, frame0: bytes, frame1: bytes) -> None:
    assert pack_body(msg.to_wire()) == body  # type: ignore[attr-defined]


@pytest.mark.parametrize(("msg", "body", "frame0", "frame1"), CASES)
def test_golden_bytes_decode(msg: object, body: bytes, frame0: bytes, frame1: bytes) -> None:
    assert type(msg).from_wire(unpack_body(body, DEFAULT_LIMITS)) == msg  # type: ignore[attr-defined]
    assert decode_message(frame0) == msg
    assert decode_message(frame1) == msg
    assert frame0[3] == 0 and frame1[3] == 1


def test_request_wire_structure() -> None:
    """The worked example of SPEC.md, "Batches"."""
    assert req.to_wire() == [
        1, "04512K", 0b1111, 1200, H + 3, True,
        [
            [
                [14, 2, [0, [41, 43]], [0, [1762934400000, 1762934400000], 65536, [0, [1, 3]]], 0, 0, 0, None,
                 ["04512K", "2025/2026", [["R130245678", "R130245679"], [0, [0, 1]]], "MATH", 1, 2,
                  [0, [1225, None]], [0, [0, 1]], [0, [0, 1]], [["مرض"], [0, [None, 0]]]]],
                [15, 1, 42, H + 2, 977, 0, 1, None, [None, "R130245678", 20404, None, None, None, None, None]],
            ],
            [0, [0, 1, 0]],
        ],
    ]  # fmt: skip
