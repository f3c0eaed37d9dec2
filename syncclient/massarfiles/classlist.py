"""Massar's class list export (`ListEleve_YYYYMMDD.xls`): model, reader, writer."""

from __future__ import annotations

from .classlist_model import ClassList, ClassListPupil, ClassSheet, Gender
from .classlist_reader import read_class_list, read_class_list_partial
from .classlist_writer import DateStyle, write_class_list

__all__ = [
    "ClassList",
    "ClassListPupil",
    "ClassSheet",
    "DateStyle",
    "Gender",
    "read_class_list",
    "read_class_list_partial",
    "write_class_list",
]
