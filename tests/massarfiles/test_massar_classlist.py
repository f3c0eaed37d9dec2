from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from syncclient.massarfiles import (
    ClassSheet,
    FileFormatError,
    FileProblems,
    read_class_list,
    read_class_list_partial,
    write_class_list,
)
from syncclient.massarfiles.dates import excel_serial
from tests.support.massar_fakes import fake_class_sheet
from tests.support.massar_workbooks import build_class_xls

META = {
    "السنة الدراسية :": "2023/2024",
    "الأكاديمية  :": "جهة فاس مكناس",
    "المديرية :": "تازة",
    "المؤسسة": "إعدادية الأمل",
    "الجماعة :": "تازة",
    "المستوى :": "الأولى إعدادي",
    "القسم :": "1APIC-1",
}


def _without_rows(sheet: ClassSheet) -> ClassSheet:
    return dataclasses.replace(sheet, pupils=[dataclasses.replace(p, row=0) for p in sheet.pupils])


SHEETS = [
    fake_class_sheet("1APIC-1", 6, seed=1),
    fake_class_sheet("1APIC-2", 3, seed=2, sheet_name="Sheet2"),
    dataclasses.replace(fake_class_sheet("2APIC-1", 0, seed=3, sheet_name="Sheet3"), commune=None),
]


@pytest.mark.parametrize("ext", [pytest.param("xls", id="xls"), pytest.param("xlsx", id="xlsx")])
@pytest.mark.parametrize(
    "date_style",
    [pytest.param("serial", id="serial"), pytest.param("date", id="date-cell"), pytest.param("text", id="text")],
)
@pytest.mark.parametrize(
    ("rtl_view", "first_row"),
    [pytest.param(False, 0, id="physical-rtl"), pytest.param(True, 2, id="rtl-view-shifted")],
)
def test_round_trip(tmp_path: Path, ext: str, date_style: str, rtl_view: bool, first_row: int) -> None:
    path = tmp_path / f"ListEleve_20240915.{ext}"
    write_class_list(path, SHEETS, date_style=date_style, rtl_view=rtl_view, first_row=first_row)  # type: ignore[arg-type]
    got = read_class_list(path)
    assert [_without_rows(s) for s in got.sheets] == [_without_rows(s) for s in SHEETS]
    assert got.sheets[0].pupils[0].row == first_row + 8


def test_quirky_xls_with_several_classes(tmp_path: Path) -> None:
    born = excel_serial(dt.date(2011, 3, 9))
    path = build_class_xls(
        tmp_path / "ListEleve_20240915.xls",
        [
            (
                META,
                [
                    (1, "A111111111", "العلوي", "محمد أمين", "ذكر", float(born), "تازة"),
                    (2, "B222222222", "بنعلي", "فاطمة الزهراء", "أنثى", "09/03/2011", None),
                    (3, None, None, None, None, None, None),
                    (4,),  # order number alone: a blank numbered line
                ],
            ),
            (
                {**META, "القسم :": "1APIC-2", "السنة الدراسية :": None},
                [(1, "C333333333", "الإدريسي", "آدم", "انثى", "2011-12-31", "فاس")],
            ),
        ],
        header_row=9,
        empty_sheets=1,
    )
    got = read_class_list(path)
    assert [s.sheet_name for s in got.sheets] == ["Sheet1", "Sheet2"]
    first, second = got.sheets
    assert (first.year, first.academy, first.directorate, first.school, first.commune, first.level) == (
        "2023/2024",
        "جهة فاس مكناس",
        "تازة",
        "إعدادية الأمل",
        "تازة",
        "الأولى إعدادي",
    )
    assert first.class_code == "1APIC-1"
    assert [(p.row, p.code, p.gender, p.birth_date, p.birth_place) for p in first.pupils] == [
        (11, "A111111111", "M", "2011-03-09", "تازة"),
        (12, "B222222222", "F", "2011-03-09", None),
    ]
    assert first.pupils[0].first_name == "محمد أمين"
    assert second.class_code == "1APIC-2"
    assert second.year is None
    assert second.pupils[0].gender == "F"


def test_every_bad_row_is_reported_at_once(tmp_path: Path) -> None:
    path = build_class_xls(
        tmp_path / "bad.xls",
        [
            (
                META,
                [
                    (1, "A111111111", "العلوي", "محمد", "ذكر", 40000.0, None),
                    (2, "a11111111", "بنعلي", "مريم", "أنثى", 40000.0, None),
                    (3, "D444444444", "التازي", None, "X", "32/01/2011", None),
                    (4, "E555555555", None, "سلمى", "أنثى", None, None),
                ],
            ),
            ({**META, "القسم :": "1APIC-2"}, [(1, "A111111111", "الفاسي", "يوسف", "ذكر", 40000.0, None)]),
        ],
    )
    with pytest.raises(FileProblems) as caught:
        read_class_list(path)
    found = {(p.sheet, p.row, p.column) for p in caught.value.problems}
    assert found == {
        ("Sheet1", 10, "الرمز"),
        ("Sheet1", 11, "الإسم"),
        ("Sheet1", 11, "النوع"),
        ("Sheet1", 11, "تاريخ الإزدياد"),
        ("Sheet1", 12, "النسب"),
        ("Sheet2", 9, "الرمز"),
    }
    assert "Sheet1!9" in next(p.message for p in caught.value.problems if p.sheet == "Sheet2")
    assert "Sheet1!11 [النوع]" in str(caught.value)

    partial, problems = read_class_list_partial(path)
    assert len(problems) == 6
    assert [p.code for s in partial.sheets for p in s.pupils] == ["A111111111"]


def test_metadata_in_the_label_cell(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    if ws is None:
        raise RuntimeError("no sheet")
    ws["C1"] = "القسم : 3APIC-2"
    for c, title in enumerate(reversed(("ر.ت", "الرمز", "النسب", "الإسم", "النوع", "تاريخ الإزدياد")), start=1):
        ws.cell(3, c, title)
    path = tmp_path / "l.xlsx"
    book.save(path)
    sheet = read_class_list(path).sheets[0]
    assert sheet.class_code == "3APIC-2"
    assert sheet.pupils == []


def test_extension_does_not_matter(tmp_path: Path) -> None:
    path = tmp_path / "really.xlsx"
    write_class_list(tmp_path / "real.xls", SHEETS[:1])
    path.write_bytes((tmp_path / "real.xls").read_bytes())
    assert read_class_list(path).sheets[0].class_code == "1APIC-1"


def test_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "ListEleve.xls"
    path.write_text("<html>session expired</html>")
    with pytest.raises(FileFormatError, match="not an Excel workbook"):
        read_class_list(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="cannot open"):
        read_class_list(tmp_path / "nope.xls")


def test_no_header_names_the_titles(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active["A1"] = "لائحة التلاميذ"  # type: ignore[index]
    path = tmp_path / "l.xlsx"
    book.save(path)
    with pytest.raises(FileFormatError, match="الرمز, النسب, الإسم, النوع, تاريخ الإزدياد"):
        read_class_list(path)


def test_partial_header_names_missing_titles(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    if ws is None:
        raise RuntimeError("no sheet")
    for c, title in enumerate(("الرمز", "النسب", "الإسم"), start=1):
        ws.cell(1, c, title)
    path = tmp_path / "l.xlsx"
    book.save(path)
    with pytest.raises(FileFormatError, match="lacks النوع, تاريخ الإزدياد"):
        read_class_list(path)
