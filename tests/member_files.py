"""Broken, hostile and oversized member lists for the import tests (issue 11 item 10), each made the
way it happens in practice: a download cut off, a file saved as "Unicode text", a zip bomb."""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook

HEADER = ["Voornaam", "Naam", "E-mailadres", "Organisatie", "Soort organisatie"]
GOOD_ROW = ["An", "Peeters", "an@zemst.be", "Gemeente Zemst", "gemeente"]
SHEET = "xl/worksheets/sheet1.xml"


def good_xlsx(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append(GOOD_ROW)
    book.save(path)
    return path


def truncated_xlsx(path: Path) -> Path:
    raw = good_xlsx(path).read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    return path


def corrupt_sheet_xlsx(path: Path) -> Path:
    """A sound zip whose worksheet XML stops in the middle of a tag."""
    source = good_xlsx(path.with_name("source-" + path.name))
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, data[: len(data) // 2] if info.filename == SHEET else data)
    return path


def text_named_xlsx(path: Path) -> Path:
    path.write_text("Voornaam;Naam\nAn;Peeters\n")
    return path


def old_xls(path: Path) -> Path:
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    return path


def binary_csv(path: Path) -> Path:
    path.write_bytes(os.urandom(4096) + b"\x00" + os.urandom(4096))
    return path


def utf16_csv(path: Path) -> Path:
    path.write_bytes((";".join(HEADER) + "\n" + ";".join(GOOD_ROW) + "\n").encode("utf-16"))
    return path


def utf16_without_bom_csv(path: Path) -> Path:
    path.write_bytes(("\t".join(HEADER) + "\n" + "\t".join(GOOD_ROW) + "\n").encode("utf-16-le"))
    return path


def giant_field_csv(path: Path) -> Path:
    """One 200 kB field (more than the csv module's own limit of 128 KiB)."""
    path.write_text(",".join(HEADER) + "\n" + ",".join([*GOOD_ROW[:1], "x" * 200_000, *GOOD_ROW[2:]]) + "\n")
    return path


def long_field_csv(path: Path) -> Path:
    """A 50 kB field: the csv module reads it, the import's own cell limit refuses it."""
    path.write_text(",".join(HEADER) + "\n" + ",".join([*GOOD_ROW[:1], "x" * 50_000, *GOOD_ROW[2:]]) + "\n")
    return path


def too_many_rows_csv(path: Path) -> Path:
    rows = "".join(f"An,Peeters,an{i}@zemst.be,Gemeente Zemst,gemeente\n" for i in range(20_001))
    path.write_text(",".join(HEADER) + "\n" + rows)
    return path


def far_row_xlsx(path: Path) -> Path:
    """A cell at row 1,000,000 below a normal list: the rows in between do not exist."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append(GOOD_ROW)
    sheet.cell(row=1_000_000, column=1, value="x")
    book.save(path)
    return path


def empty_csv(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def headerless_csv(path: Path) -> Path:
    path.write_text("An,Peeters,an@zemst.be\nBart,Claes,bart@zemst.be\n")
    return path


def whitespace_bomb_xlsx(path: Path, megabytes: int = 300) -> Path:
    """A valid XLSX whose worksheet holds `megabytes` MB of spaces: about 1 MB on disk."""
    source = good_xlsx(path.with_name("source-" + path.name))
    with (
        zipfile.ZipFile(source) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst,
    ):
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename != SHEET:
                dst.writestr(info.filename, data)
                continue
            head, tail = data.split(b"<sheetData>")
            with dst.open(SHEET, "w", force_zip64=True) as out:
                out.write(head + b"<sheetData>")
                chunk = b" " * (1 << 20)
                for _ in range(megabytes):
                    out.write(chunk)
                out.write(tail)
    return path


def lying_zip_xlsx(path: Path) -> Path:
    """40 MB of spaces in the worksheet while the zip directory claims 2 kB: a bomb that passes a
    check of the declared sizes."""
    source = good_xlsx(path.with_name("source-" + path.name))
    big = path.with_name("big-" + path.name)
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == SHEET:
                head, tail = data.split(b"<sheetData>")
                data = head + b"<sheetData>" + b" " * (40 << 20) + tail
            dst.writestr(info.filename, data)
    raw = bytearray(big.read_bytes())
    with zipfile.ZipFile(big) as archive:
        local = archive.getinfo(SHEET).header_offset
    central = raw.find(b"PK\x01\x02")
    while raw[central + 46 : central + 46 + struct.unpack_from("<H", raw, central + 28)[0]] != SHEET.encode():
        central = raw.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", raw, central + 24, 2048)  # uncompressed size in the central directory
    struct.pack_into("<I", raw, local + 22, 2048)  # and in the local header
    path.write_bytes(raw)
    return path


# file name → (how to make it, what the refusal says)
BROKEN_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "afgekapt.xlsx": (truncated_xlsx, "beschadigd of onvolledig"),
    "kapot-werkblad.xlsx": (corrupt_sheet_xlsx, "beschadigd of onvolledig"),
    "tekst.xlsx": (text_named_xlsx, "geen geldig Excel-bestand"),
    "oud.xls": (old_xls, "oude formaat (.xls)"),
    "binair.csv": (binary_csv, "geen CSV- of Excel-bestand"),
    "unicode.csv": (utf16_csv, "UTF-16"),
    "unicode-zonder-bom.txt": (utf16_without_bom_csv, "UTF-16"),
    "reuzeveld.csv": (giant_field_csv, "meer dan 10.000 tekens"),
    "lang-veld.csv": (long_field_csv, "een cel met 50.000 tekens"),
    "te-veel-rijen.csv": (too_many_rows_csv, "meer dan 20.000 rijen"),
    "verre-rij.xlsx": (far_row_xlsx, "voorbij rij 100.000"),
    "leeg.csv": (empty_csv, "leeg"),
    "zonder-kopjes.csv": (headerless_csv, "niet gevonden: E-mailadres, Voornaam, Naam, Organisatie"),
    "witruimte.xlsx": (whitespace_bomb_xlsx, "uitgepakt 300 MB groot"),
    "leugenaar.xlsx": (lying_zip_xlsx, "beschadigd of onvolledig"),
}
