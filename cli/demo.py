"""`massar demo`: a central server and one school node with sample data, synced, pages served.

Everything lives under one folder (default ./massar-demo): the central
database, the school node's database and nothing else. Running it again
reuses the folder.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import sample
from domain import accounts
from domain.errors import InvalidInput

DEMO_SCHOOL = "D0001A"
DEMO_NAME = "Collège Tizi n'Test (démo)"
STAFF_LOGIN, STAFF_PASSWORD = "secretaire", "demo-massar"


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run a central server and a school node with sample data")
    p.add_argument("--port", type=int, default=8000, help="the school node's web port (the central takes the next)")
    p.add_argument("--data", metavar="DIR", default="massar-demo", help="where the demo keeps its files")
    p.add_argument("--pupils", type=int, default=120, help="pupils in the sample school")
    p.set_defaults(handler=run_demo)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # as uvicorn binds: a port left in TIME_WAIT by the last run is free for a new one
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def national_sample(year: str) -> dict[str, list[dict[str, Any]]]:
    start, end = year.split("/")
    return {
        "exam_calendar": [
            {
                "code": f"bac-national-{end}",
                "exam": "national",
                "level": "2BAC",
                "year": year,
                "starts_on": f"{end}-06-20",
                "ends_on": f"{end}-06-24",
                "name_ar": "الامتحان الوطني الموحد للبكالوريا",
                "name_fr": "Examen national du baccalauréat",
            },
            {
                "code": f"bac-makeup-{end}",
                "exam": "makeup",
                "level": "2BAC",
                "year": year,
                "starts_on": f"{end}-07-15",
                "ends_on": f"{end}-07-19",
                "name_ar": "الدورة الاستدراكية للبكالوريا",
                "name_fr": "Session de rattrapage du baccalauréat",
            },
            {
                "code": f"3apic-regional-{end}",
                "exam": "regional",
                "level": "3APIC",
                "year": year,
                "starts_on": f"{end}-07-06",
                "ends_on": f"{end}-07-07",
                "name_ar": "الامتحان الجهوي الموحد للسنة الثالثة إعدادي",
                "name_fr": "Examen régional de 3e année collège",
            },
            {
                "code": f"6ap-provincial-{end}",
                "exam": "provincial",
                "level": "6AP",
                "year": year,
                "starts_on": f"{end}-07-07",
                "ends_on": f"{end}-07-07",
                "name_ar": "الامتحان الإقليمي للسادس ابتدائي",
                "name_fr": "Examen provincial de 6e année primaire",
            },
        ],
        "guidance_notes": [
            {
                "code": f"orientation-3apic-{start}",
                "level": "3APIC",
                "published_on": f"{end}-02-01",
                "title_ar": "رغبات التوجيه بعد الثالثة إعدادي",
                "title_fr": "Vœux d'orientation après la 3e année",
                "body_ar": "يعبر التلميذ عن رغباته الأولى في فبراير والنهائية في أبريل؛ يقرر مجلس القسم في يوليوز.",
                "body_fr": "Premiers vœux en février, vœux définitifs en avril ; le conseil de classe décide en juillet.",
            },
        ],
    }


def _prepare(folder: Path, central_url: str, pupils: int) -> dict[str, Any]:
    from protocol.auth import node_key_from_token
    from server.publish import publish_file
    from server.schools import add_school
    from server.store import open_central
    from syncclient.store import NodeStore

    marker = folder / "demo.json"
    if marker.exists():
        info = json.loads(marker.read_text(encoding="utf-8"))
        store = NodeStore.open(folder / "node")
        try:
            login, password = info["parent"]
            if accounts.authenticate(store.db, login, password) is None:
                # someone printed a new slip for this pupil: print a password that works
                info["parent"] = list(accounts.issue_parent_login(store.db, login.split("@")[0]))
                marker.write_text(json.dumps(info), encoding="utf-8")
        finally:
            store.close()
        return info
    folder.mkdir(parents=True, exist_ok=True)
    central = open_central(folder / "central", create=True)
    token = add_school(central, DEMO_SCHOOL, DEMO_NAME)
    store = NodeStore.init(
        folder / "node",
        DEMO_SCHOOL,
        name=DEMO_NAME,
        server=central_url,
        node_key=node_key_from_token(DEMO_SCHOOL, token).hex(),
    )
    published = folder / "national.json"
    published.write_text(json.dumps(national_sample(store.term.year), ensure_ascii=False, indent=1), encoding="utf-8")
    publish_file(central, published)
    central.conn.close()
    school = sample.make_school(store.db, store.term, seed=2027, pupils=pupils, classes=max(3, pupils // 30))
    sample.semester_grades(store.db, store.term, school, 1, seed=1)
    days = [d for d in sample.school_days(store.term.year, 1) if d <= dt.date.today()][-20:]
    sample.absences(store.db, store.term, school, days=days, seed=2)
    sample.incidents(store.db, store.term, school, seed=3)
    accounts.create_staff(store.db, STAFF_LOGIN, "secretary", STAFF_PASSWORD, "Secrétariat")
    parent_login, parent_password = accounts.issue_parent_login(store.db, school.pupils[0])
    info = {"school": DEMO_SCHOOL, "staff": [STAFF_LOGIN, STAFF_PASSWORD], "parent": [parent_login, parent_password]}
    store.close()
    marker.write_text(json.dumps(info), encoding="utf-8")
    return info


def run_demo(args: Any) -> int:
    import uvicorn

    from server.app import create_app as central_app
    from syncclient.agent import SyncAgent
    from syncclient.session import sync_once
    from syncclient.web.app import create_app as node_app

    folder = Path(args.data).resolve()
    node_port, central_port = args.port, args.port + 1
    for port in (node_port, central_port):
        if not _port_free(port):
            raise InvalidInput(f"port {port} is in use: choose another with --port", code="port_in_use")
    central_url = f"http://127.0.0.1:{central_port}"
    print(f"preparing the demo in {folder} ...", flush=True)
    info = _prepare(folder, central_url, args.pupils)

    central = uvicorn.Server(
        uvicorn.Config(
            central_app(folder / "central"),
            host="127.0.0.1",
            port=central_port,
            log_level="warning",
            server_header=False,
            date_header=False,
        )
    )
    thread = threading.Thread(target=central.run, name="central-server", daemon=True)
    thread.start()
    while not central.started:
        time.sleep(0.05)
    result = sync_once(folder / "node")
    print(
        f"first sync: pushed {result.pushed} changes, pulled {result.pulled}, "
        f"{result.bytes_sent + result.bytes_received} bytes of payload in {result.requests} request(s)"
    )

    agent = SyncAgent(folder / "node", interval=60, debounce=3)
    agent.start()
    print(
        f"""
Massar Sync demo is running.
  School node (secretary and parent terminal): http://127.0.0.1:{node_port}/
    staff login:  {info["staff"][0]} / {info["staff"][1]}
    parent login: {info["parent"][0]} / {info["parent"][1]}
  Central server (sync endpoint):              {central_url}/
  Data folder: {folder}
Press Ctrl-C to stop.""",
        flush=True,
    )
    try:
        uvicorn.run(
            node_app(folder / "node", agent=agent),
            host="127.0.0.1",
            port=node_port,
            log_level="warning",
            server_header=False,
            proxy_headers=False,
        )
    finally:
        agent.stop()
        central.should_exit = True
        thread.join(10)
    return 0
