"""The same two questions in every import format, for tests that go through the UI and the CLI."""

from __future__ import annotations

import io

from openpyxl import Workbook

from quiz_engine.services.catalogue.question_schema import COLUMNS, HEADERS_VI

CSV = (
    "Mã câu hỏi,Chủ đề,Mức độ,Câu hỏi,Phương án A,Phương án B,Phương án C,Đáp án đúng\n"
    "F1,Chung,dễ,Ngày Chuyển đổi số quốc gia là ngày nào?,10/10,1/1,2/9,A\n"
    "F2,Chung,khó,Ứng dụng định danh điện tử quốc gia là gì?,VssID,VNeID,eTax,B\n"
)
GIFT = (
    "::F1::Ngày Chuyển đổi số quốc gia là ngày nào? {=10/10 ~1/1 ~2/9}\n\n"
    "::F2::Ứng dụng định danh điện tử quốc gia là gì? {~VssID =VNeID ~eTax}\n"
)
AIKEN = (
    "Ngày Chuyển đổi số quốc gia là ngày nào?\nA. 10/10\nB. 1/1\nC. 2/9\nANSWER: A\n\n"
    "Ứng dụng định danh điện tử quốc gia là gì?\nA. VssID\nB. VNeID\nC. eTax\nANSWER: B\n"
)


def xlsx() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([HEADERS_VI[key] for key in COLUMNS])
    sheet.append(
        [
            "F1",
            "Chung",
            "dễ",
            "Ngày Chuyển đổi số quốc gia là ngày nào?",
            "10/10",
            "1/1",
            "2/9",
            "",
            "",
            "",
            "A",
            "",
            "",
            "",
        ]
    )
    sheet.append(
        [
            "F2",
            "Chung",
            "khó",
            "Ứng dụng định danh điện tử quốc gia là gì?",
            "VssID",
            "VNeID",
            "eTax",
            "",
            "",
            "",
            "B",
            "",
            "",
            "",
        ]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


#: filename -> bytes, one file per supported format
ALL_FORMATS = {"bank.xlsx": xlsx(), "bank.csv": CSV.encode(), "bank.gift": GIFT.encode(), "bank.txt": AIKEN.encode()}
