"""The parent-notification outbox: written with the event, once per pupil, kind, day and topic, in the family's
language, one SMS long; phone numbers checked at registration; sending with backoff, a daily cap and
a grace for reports, against a real local HTTP gateway."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from collections.abc import Iterator

import httpx
import pytest

from domain import absences, council, incidents, orientation, pupils
from domain.codes import school_year_of
from domain.errors import InvalidInput
from domain.guardians import record_guardian
from domain.phones import check_mobile, fits_one_sms
from domain.rules import FULL_DAY
from syncclient.notify import outbox, sender
from syncclient.store import NodeStore

TODAY = dt.date.today()


@pytest.fixture
def node(tmp_path) -> Iterator[NodeStore]:
    store = NodeStore.init(tmp_path / "node", "S001", year=school_year_of(TODAY))
    for code, cls, first, lang in (
        ("A100000001", "3APIC-1", "عبد الرحمان-محمد", "ar"),  # cut to 12 characters in a message
        ("B100000002", "3APIC-1", "Marie-Christine", "fr"),
        ("C100000003", "3APIC-1", "Nour", None),  # no SMS consent
    ):
        pupils.register_pupil(
            store.db, store.term, class_code=cls, last_name="X", first_name=first, gender="F", code=code
        )
        if lang:
            record_guardian(
                store.db, store.term, code, name="P", relation="mother", phone="0612345678", lang=lang, sms_consent=True
            )
        else:
            record_guardian(store.db, store.term, code, name="P", relation="father", phone="0712345678")
    yield store
    store.close()


def _messages(store: NodeStore) -> list[tuple]:
    return store.db.execute("SELECT pupil, kind, lang, text FROM _sms_outbox ORDER BY id").fetchall()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0612345678", "+212612345678"),
        ("07 12 34 56 78", "+212712345678"),
        ("+212 6-12-34-56-78", "+212612345678"),
        ("00212712345678", "+212712345678"),
    ],
    ids=["06", "07-spaced", "plus212", "00212"],
)
def test_moroccan_mobiles_are_stored_in_the_international_form(typed, stored):
    assert check_mobile(typed) == stored


@pytest.mark.parametrize("typed", ["0512345678", "061234567", "+33612345678", "06123456789", "phone"], ids=str)
def test_other_numbers_are_refused(typed):
    with pytest.raises(InvalidInput, match="not a Moroccan mobile"):
        check_mobile(typed)


def test_registration_refuses_a_bad_number_and_registers_nothing(tmp_path, run_massar):
    data = tmp_path / "n"
    run_massar("node", "init", "--school", "S001", data=data)
    args = ("node", "register", "--class", "1APIC-1", "--last-name", "A", "--first-name", "B", "--gender", "M")
    bad = run_massar(*args, "--guardian", "Ali", "--phone", "0512345678", "--sms-consent", data=data, check=False)
    assert bad.returncode != 0 and "not a Moroccan mobile number" in bad.stderr
    no_phone = run_massar(*args, "--guardian", "Ali", "--sms-consent", data=data, check=False)
    assert no_phone.returncode != 0 and "SMS consent needs a mobile number" in no_phone.stderr
    store = NodeStore.open(data)
    try:
        assert store.db.execute("SELECT COUNT(*) FROM pupils").fetchone() == (0,)
    finally:
        store.close()
    run_massar(*args, "--guardian", "Ali", "--phone", "06 11 22 33 44", "--lang", "fr", "--sms-consent", data=data)
    store = NodeStore.open(data)
    try:
        assert store.db.execute("SELECT phone, lang, sms_consent FROM guardians").fetchall() == [
            ("+212611223344", "fr", 1)
        ]
    finally:
        store.close()


def test_events_queue_one_message_per_pupil_kind_and_day_in_the_familys_language(node):
    db, term = node.db, node.term
    for code in ("A100000001", "B100000002", "C100000003"):
        absences.record_absences(db, term, [absences.AbsenceEntry(code, TODAY, 1, recorded_by="t")])
    # more unjustified hours the same day: the family already knows today
    absences.record_absences(db, term, [absences.AbsenceEntry("A100000001", TODAY, FULL_DAY, recorded_by="t")])
    incidents.record_incident(db, term, "B100000002", TODAY, "retard répété", None)
    council.decide(db, term, "A100000001", "repeat", today=TODAY)
    orientation.orient(db, term, "B100000002", "TCSF", today=TODAY)
    assert outbox.queue_results(db, ["A100000001", "B100000002", "C100000003"], 1) == 2
    got = _messages(node)
    assert [(p, k, lang) for p, k, lang, _ in got] == [
        ("A100000001", "absence", "ar"),
        ("B100000002", "absence", "fr"),
        ("B100000002", "incident", "fr"),
        ("A100000001", "council", "ar"),
        ("B100000002", "orientation", "fr"),
        ("A100000001", "results", "ar"),
        ("B100000002", "results", "fr"),
    ]
    texts = {(p, k): t for p, k, _, t in got}
    assert texts[("A100000001", "council")].endswith("يكرر") and "حق عبد الرحمان-:" in texts[("A100000001", "council")]
    assert "Marie-Christ" in texts[("B100000002", "absence")] and "TCSF" in texts[("B100000002", "orientation")]
    for _, _, _, text in got:
        assert fits_one_sms(text), text


@pytest.mark.parametrize("kind", outbox.KINDS)
@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_every_template_fits_one_sms_with_the_longest_name(kind, lang):
    longest = max((w[lang] for w in outbox.COUNCIL_WORDS.values()), key=len)
    text = outbox.TEMPLATES[kind][lang].format(
        name="ن" * outbox.NAME_CHARS if lang == "ar" else "W" * 12,
        date="31/12",
        detail=longest if kind == "council" else "TCLSHF",
    )
    assert fits_one_sms(text), (len(text), text)


def test_justified_absences_and_rows_from_the_centre_raise_no_message(node):
    db, term = node.db, node.term
    absences.record_absences(db, term, [absences.AbsenceEntry("A100000001", TODAY, 3, True, "malade", recorded_by="t")])
    db.conn.execute("UPDATE _clock SET applying = 1")  # what sync apply does
    db.conn.execute(
        "INSERT INTO incidents (school, pupil, day, n, description) VALUES ('S001', 'B100000002', ?, 1, 'x')",
        [TODAY.isoformat()],
    )
    db.conn.execute("UPDATE _clock SET applying = 0")
    assert _messages(node) == []


class Gateway:
    """A real HTTP server standing in for the operator: answers with the status it is told."""

    def __init__(self) -> None:
        self.status, self.requests = 202, []
        gw = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                gw.requests.append(self.path)
                self.send_response(gw.status)
                self.end_headers()
                self.wfile.write(b"0: Accepted for delivery" if gw.status == 202 else b"refused")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/sendsms?username=u&password=p"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    yield gw
    gw.close()


def _state(store: NodeStore) -> list[tuple]:
    return store.db.execute("SELECT state, attempts, next_attempt_at FROM _sms_outbox ORDER BY id").fetchall()


def test_without_a_gateway_the_outbox_waits(node):
    absences.record_absences(node.db, node.term, [absences.AbsenceEntry("A100000001", TODAY, 1, recorded_by="t")])
    with httpx.Client() as http:
        assert sender.send_pending(node, http)["sent"] == 0
    assert _state(node) == [("queued", 0, None)]


def test_failures_back_off_then_fail_and_a_daily_cap_holds(node, gateway):
    clock = [dt.datetime(2030, 1, 6, 8, 0, 0)]
    now = lambda: clock[0]  # noqa: E731
    for code in ("A100000001", "B100000002"):
        absences.record_absences(node.db, node.term, [absences.AbsenceEntry(code, TODAY, 1, recorded_by="t")])
    sender.configure(node, gateway.url, daily_cap=1)
    with httpx.Client() as http:
        gateway.status = 503
        assert sender.send_pending(node, http, now=now)["retry"] == 1
        assert _state(node)[0] == ("queued", 1, "2030-01-06T08:01:00")  # first retry after a minute
        gateway.status = 202
        # the first is not due again yet; the second goes
        assert sender.send_pending(node, http, now=now)["sent"] == 1
        assert _state(node)[1][:2] == ("sent", 1)
        clock[0] += dt.timedelta(minutes=1)
        assert sender.send_pending(node, http, now=now)["sent"] == 0  # due, but the cap is one a day
        assert len(gateway.requests) == 2
        clock[0] += dt.timedelta(days=1)
        assert sender.send_pending(node, http, now=now)["sent"] == 1
        assert [s for s, _, _ in _state(node)] == ["sent", "sent"]
        assert "password=p" in gateway.requests[-1] and "dlr-mask=27" in gateway.requests[-1]

        incidents.record_incident(node.db, node.term, "A100000001", TODAY, "x", None)
        gateway.status = 400  # the operator will never take it
        clock[0] += dt.timedelta(days=1)
        assert sender.send_pending(node, http, now=now)["failed"] == 1
        assert _state(node)[-1][0] == "failed"


def test_a_claimed_message_without_report_goes_again_after_the_grace(node, gateway):
    absences.record_absences(node.db, node.term, [absences.AbsenceEntry("A100000001", TODAY, 1, recorded_by="t")])
    sender.configure(node, gateway.url, dlr_grace=60)
    # a sender died between its claim and the request: the gateway never saw the message
    node.db.conn.execute("UPDATE _sms_outbox SET state = 'sending', attempts = 1, claimed_at = '2030-01-06T08:00:00'")
    with httpx.Client() as http:
        early = sender.send_pending(node, http, now=lambda: dt.datetime(2030, 1, 6, 8, 0, 30))
        assert (early["requeued"], early["sent"], gateway.requests) == (0, 0, [])  # a report may still come
        late = sender.send_pending(node, http, now=lambda: dt.datetime(2030, 1, 6, 8, 1, 1))
        assert (late["requeued"], late["sent"], len(gateway.requests)) == (1, 1, 1)


def test_delivery_reports_need_the_messages_token(node):
    absences.record_absences(node.db, node.term, [absences.AbsenceEntry("A100000001", TODAY, 1, recorded_by="t")])
    sender.configure(node, "http://127.0.0.1:9/cgi-bin/sendsms")
    (ident,) = node.db.execute("SELECT id FROM _sms_outbox").fetchone()
    assert not sender.record_report(node, ident, "0" * 24, 1)
    assert _state(node)[0][0] == "queued"
    assert sender.record_report(node, ident, sender.dlr_token(node.setting("sms_secret"), ident), 1)
    assert _state(node)[0][0] == "delivered"


def test_closing_a_semester_tells_every_consenting_family_once(node):
    from syncclient.semesters import close_semester

    close_semester(node.db, node.school, node.term.year, 1, "dir")
    close_semester(node.db, node.school, node.term.year, 1, "dir")  # closing again changes nothing
    got = _messages(node)
    assert [(p, k, lang) for p, k, lang, _ in got] == [("A100000001", "results", "ar"), ("B100000002", "results", "fr")]
    assert "semestre 1" in got[1][3]


def test_two_semesters_closed_the_same_day_are_two_messages(node):
    """A director catching up at the year's end closes both semesters in one sitting: each is told."""
    from syncclient.semesters import close_semester

    close_semester(node.db, node.school, node.term.year, 1, "dir")
    close_semester(node.db, node.school, node.term.year, 2, "dir")
    got = [(p, k) for p, k, _, _ in _messages(node)]
    assert got == [("A100000001", "results"), ("B100000002", "results")] * 2
    texts = [t for p, _, _, t in _messages(node) if p == "B100000002"]
    assert ["semestre 1" in texts[0], "semestre 2" in texts[1]] == [True, True]
    # Published by hand the same day as the closure: nothing more.
    assert outbox.queue_results(node.db, ["A100000001", "B100000002"], 2) == 0


@pytest.mark.parametrize("first_sent", [True, False], ids=["first-already-sent", "first-still-queued"])
def test_a_decision_corrected_the_same_day_is_told_and_the_family_hears_the_one_that_stands(node, first_sent):
    db, term = node.db, node.term
    council.decide(db, term, "A100000001", "repeat", today=TODAY)
    if first_sent:
        db.execute("UPDATE _sms_outbox SET state = 'sent'")
    council.decide(db, term, "A100000001", "pass", today=TODAY)
    council.decide(db, term, "A100000001", "pass", today=TODAY)  # saved again unchanged: nothing
    got = db.execute("SELECT kind, state, text FROM _sms_outbox ORDER BY id").fetchall()
    waiting = [t for k, state, t in got if state == "queued"]
    assert [t.endswith("ينتقل") for t in waiting] == [True]  # the correction, once
    assert len(got) == (2 if first_sent else 1)
    # Back to the first decision the same day: told again, since the family last heard the other.
    db.execute("UPDATE _sms_outbox SET state = 'sent'")
    council.decide(db, term, "A100000001", "repeat", today=TODAY)
    last = db.execute("SELECT state, text FROM _sms_outbox ORDER BY id DESC LIMIT 1").fetchone()
    assert last[0] == "queued" and last[1].endswith("يكرر")
