"""Hand-built Massar-like workbooks for the tests, with the quirks of real
exports (labels with colons, doubled spaces, hamza variants, drift)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import xlwt

CellValue = str | int | float | None

# A grade row: code, name, birth date, {column key: (mark, absence)}, remark.
# Column keys are the titles' keys of GRADE_TITLES below.
GRADE_TITLES = {
    1: "الفرض الأول",
    2: "الفرض  الثاني",
    3: "الفرض الثالث :",
    4: "الفرض الرابع",
    5: "الأنشطة المندمجة",
}


@dataclass
class GradeRow:
    code: CellValue
    name: CellValue = "تلميذ تجريبي"
    birth: CellValue = "03-02-2011"
    marks: dict[int, tuple[CellValue, CellValue]] = field(default_factory=dict)
    remark: CellValue = None
    massar_id: CellValue = 101


@dataclass
class GradeLayout:
    shift: int = 0  # rows added (or removed, if negative) above the header block
    assessments: Sequence[int] = (1, 2, 3, 5)
    titles: bool = True  # write the row-16 assessment titles
    tags: dict[int, str] = field(default_factory=lambda: {1: "#1#", 2: "#2#", 3: "#3#", 5: "#4#"})
    subheader: bool = True
    data_sheet: bool = True
    semester: CellValue = "الدورة الأولى"
    technical: bool = True


def build_grade_xlsx(path: Path, rows: Sequence[GradeRow], layout: GradeLayout | None = None) -> Path:
    lay = layout or GradeLayout()
    book = openpyxl.Workbook()
    first = book.active
    if first is None:
        raise RuntimeError("openpyxl created a workbook without a sheet")
    if lay.data_sheet:
        # Real exports may carry a hidden helper sheet; put it first so the
        # reader cannot rely on sheet order.
        first.title = "Data"
        first["A1"] = "#1#"
        first["A2"] = "رقم التلميذ"
        first.sheet_state = "hidden"
        ws = book.create_sheet("NotesCC")
    else:
        ws = first
        ws.title = "NotesCC"
    ws.sheet_view.rightToLeft = True

    def row(n: int) -> int:
        return n + lay.shift

    if lay.technical:
        ws.cell(row(5), 1, "04512S")
        ws.cell(row(5), 2, "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
        ws.cell(row(5), 3, 1)
        ws.cell(row(5), 4, "#0030#")
        ws.row_dimensions[row(5)].hidden = True
    meta = {
        (7, 3): "أكاديمية :",
        (7, 4): "جهة الرباط سلا القنيطرة",
        (7, 7): "م. الإقليمية",
        (7, 9): "سلا",
        (7, 12): "مؤسسة  :",
        (7, 15): "إعدادية ابن خلدون",
        (9, 3): " المستوى",
        (9, 4): "الأولى إعدادي",
        (9, 7): "القسم :",
        (9, 9): "1APIC-1",
        (9, 12): "الأستاذ",
        (9, 15): "أستاذ تجريبي",
        (11, 3): "الدورة :",
        (11, 4): lay.semester,
        (11, 7): "المـادة",  # tatweel, as some exports have
        (11, 9): "المعلوميات",
        (13, 3): "السنة الدراسية  :",
        (13, 4): "2023/2024",
    }
    for (r, c), value in meta.items():
        ws.cell(row(r), c, value)

    head = row(16)
    for c, title in enumerate(("ID", "رقم  التلميذ  ", "اسم التلميذ", " تاريخ الازدياد"), start=1):
        ws.cell(head, c, title)
    ws.column_dimensions["A"].hidden = True
    cols: dict[int, int] = {}
    c = 5
    for key in lay.assessments:
        cols[key] = c
        if key in lay.tags:
            ws.cell(head - 1, c, lay.tags[key])
        if lay.titles:
            ws.cell(head, c, GRADE_TITLES[key])
            ws.merge_cells(start_row=head, start_column=c, end_row=head, end_column=c + 1)
        if lay.subheader:
            ws.cell(head + 1, c, "النقطة")
            ws.cell(head + 1, c + 1, "التغيب")
        ws.column_dimensions[openpyxl.utils.get_column_letter(c + 1)].hidden = True
        c += 2 if lay.subheader else 1
    remark_col = c
    ws.cell(head - 1, remark_col, "#100#")
    ws.cell(head, remark_col, "ملاحظات الأستاذ")

    r = head + (2 if lay.subheader else 1)
    for item in rows:
        ws.cell(r, 1, item.massar_id)
        ws.cell(r, 2, item.code)
        ws.cell(r, 3, item.name)
        ws.cell(r, 4, item.birth)
        for key, (mark, absence) in item.marks.items():
            ws.cell(r, cols[key], mark)
            if lay.subheader:
                ws.cell(r, cols[key] + 1, absence)
        ws.cell(r, remark_col, item.remark)
        r += 1
    ws.protection.sheet = True
    book.save(path)
    return path


# A class-list sheet: metadata {label text: value} and pupil rows laid out
# right-most first (order, code, last, first, gender, birth, place).
PupilCells = Sequence[CellValue]
CLASS_HEADER = ("ر.ت", "الرمز", "النسب", "الاسم", "النوع", "تاريخ الازدياد", "مكان الإزدياد")


def build_class_xls(
    path: Path,
    sheets: Sequence[tuple[dict[str, CellValue], Sequence[PupilCells]]],
    *,
    header_row: int = 7,
    empty_sheets: int = 0,
) -> Path:
    """An .xls with one sheet per class, physically right to left: ر.ت in
    column H, each metadata value one column left of its label."""
    book = xlwt.Workbook(encoding="utf-8")
    width = 8
    for i, (meta, pupils) in enumerate(sheets, start=1):
        ws = book.add_sheet(f"Sheet{i}")
        ws.write(0, 4, "لائحة التلاميذ")
        for n, (label, value) in enumerate(meta.items()):
            r, label_col = 2 + n // 2, (7 if n % 2 == 0 else 3)
            ws.write(r, label_col, label)
            if value is not None:
                ws.write(r, label_col - 1, value)
        for c, title in enumerate(CLASS_HEADER):
            ws.write(header_row, width - 1 - c, title)
        for n, cells in enumerate(pupils, start=1):
            for c, value in enumerate(cells):
                if value is not None:
                    ws.write(header_row + n, width - 1 - c, value)
    for j in range(empty_sheets):
        book.add_sheet(f"Sheet{len(sheets) + j + 1}")
    book.save(str(path))
    return path
