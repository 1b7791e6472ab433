"""``common.importing``: the CSV reader every importer shares (delimiter sniffing, BOM, encodings, header checks)."""
import pytest

from common.importing import (
    ImportFileError,
    ImportSummary,
    RejectedRow,
    csv_delimiter_sniff,
    csv_dict_rows,
    import_format_guess,
)

REQUIRED = ("sku", "title")
OPTIONAL = ("price",)


def _rows(tmp_path, content: str | bytes, **kwargs) -> list:
    path = tmp_path / "rows.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return list(csv_dict_rows(path=path, required=REQUIRED, optional=OPTIONAL, **kwargs))


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_sniffed_from_the_header(tmp_path, delimiter):
    text = f"sku{delimiter}title{delimiter}price\nA{delimiter}Lamp, big{delimiter}1,50\nB{delimiter}Mug{delimiter}2\n"
    if delimiter == ",":
        text = 'sku,title,price\nA,"Lamp, big","1,50"\nB,Mug,2\n'
    assert _rows(tmp_path, text) == [
        (2, {"sku": "A", "title": "Lamp, big", "price": "1,50"}),
        (3, {"sku": "B", "title": "Mug", "price": "2"}),
    ]


def test_the_sniffer_keeps_standard_quoting_in_the_rows(tmp_path):
    """From a header alone the sniffer would turn ``doublequote`` off; doubled quotes in rows still read as one."""
    rows = _rows(tmp_path, 'sku;title\nA;"The ""best"" lamp;\nreally"\nB;Mug\n')
    assert rows == [(2, {"sku": "A", "title": 'The "best" lamp;\nreally'}), (4, {"sku": "B", "title": "Mug"})]


@pytest.mark.parametrize(
    ("line", "expected"),
    [("sku", ","), ("", ","), ("sku;title,category", ","), ("a\tb\tc", "\t")],
)
def test_an_unclear_header_falls_back_to_comma(line, expected):
    """One column or nothing: comma; a header naming more than one delimiter: the sniffer prefers comma."""
    assert csv_delimiter_sniff(line) == expected


def test_a_byte_order_mark_is_skipped(tmp_path):
    rows = _rows(tmp_path, "\ufeffsku;title\nA;Lamp\n".encode())
    assert rows == [(2, {"sku": "A", "title": "Lamp"})]


def test_bad_encoding_in_the_header_is_a_file_error_naming_line_1(tmp_path):
    with pytest.raises(ImportFileError, match=r"Cannot read the header .*\(line 1\): Not UTF-8: byte 0xe9"):
        _rows(tmp_path, "sku,titl\xe9\nA,Caf\xe9\n".encode("latin-1"))


def test_a_utf16_file_is_refused_with_a_clear_error(tmp_path):
    with pytest.raises(ImportFileError, match="is UTF-16.*save it as UTF-8"):
        _rows(tmp_path, "sku,title\nA,Lamp\n".encode("utf-16"))


def test_a_bad_byte_mid_file_is_a_rejected_row_with_its_line_and_reading_goes_on(tmp_path):
    good = "".join(f"S{n},Title {n}\n" for n in range(2000))  # past the decoder's first buffer
    content = ("sku,title\n" + good).encode() + "X,Caf\xe9\n".encode("latin-1") + b"Y,After\n"
    rows = _rows(tmp_path, content)
    assert len(rows) == 2002
    line, bad = rows[2000]
    assert line == 2002 and isinstance(bad, RejectedRow)
    assert bad.errors["non_field_errors"][0].startswith("Not UTF-8: byte 0xe9 after 'X,Caf'. Save the file as UTF-8")
    assert rows[2001] == (2003, {"sku": "Y", "title": "After"})


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_utf8_with_or_without_bom_and_crlf_read_the_same_ids_kept_as_written(tmp_path, bom, newline):
    content = bom + newline.join([b"sku,title", "007,Caf\u00e9".encode(), b"7,\"two", b'lines"', b""])
    assert _rows(tmp_path, content) == [(2, {"sku": "007", "title": "Caf\u00e9"}), (3, {"sku": "7", "title": "two" + newline.decode() + "lines"})]


def test_rows_are_numbered_by_their_first_line_and_bad_rows_rejected(tmp_path):
    rows = _rows(tmp_path, 'sku\ttitle\nA\t"two\nlines"\n\nB\n C \t D \n')
    assert rows[0] == (2, {"sku": "A", "title": "two\nlines"})
    assert rows[1][0] == 5 and isinstance(rows[1][1], RejectedRow) and "Expected 2 cells, got 1" in str(rows[1][1].errors)
    assert rows[2] == (6, {"sku": " C ", "title": " D "})  # cells as written: the importers trim them


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("sku;name\nA;B\n", "missing column(s) title"),
        ("sku;title;SKU\n", "repeated column(s) sku"),
    ],
)
def test_file_level_problems(tmp_path, content, message):
    with pytest.raises(ImportFileError) as error:
        _rows(tmp_path, content)
    assert message in str(error.value)


def test_missing_file_and_unknown_columns(tmp_path):
    with pytest.raises(ImportFileError, match="File not found"):
        list(csv_dict_rows(path=tmp_path / "nope.csv", required=REQUIRED, optional=OPTIONAL))
    warnings: list[str] = []
    assert _rows(tmp_path, "sku\ttitle\tcolour\nA\tLamp\tred\n", warnings=warnings)[0][1]["colour"] == "red"
    assert warnings == ["Ignoring unknown column(s): colour."]


def test_format_guess_and_summary_report(tmp_path):
    assert [import_format_guess(path=tmp_path / name) for name in ("a.CSV", "u.item", "x.data", "a.txt")] == [
        "csv", "movielens", "movielens", None,
    ]
    summary = ImportSummary(max_errors=2, created=3, updated=1)
    summary.add_errors({9: {"sku": ["Bad."]}, 4: {"non_field_errors": ["Short row."]}, 7: {"price": ["No."]}})
    assert summary.report_lines() == [
        "Rows read: 0",
        "Imported: 4 (3 created, 1 updated)",
        "Rejected: 3",
        "Errors (first 2 of 3, by line number):",
        "  line 4: Short row.",
        "  line 7: price: No.",
        "Result: 3 of 0 rows rejected; 4 rows written (exit code 1).",
    ]


@pytest.mark.parametrize(
    ("counts", "code", "outcome"),
    [
        ({"rows": 3, "created": 3}, 0, "Result: complete: all 3 rows accepted, none rejected (exit code 0)."),
        ({"rows": 3, "duplicates": 3}, 0, "Result: complete: all 3 rows accepted, none rejected (exit code 0)."),
        ({"rows": 3, "created": 2, "rejected": 1}, 1, "Result: 1 of 3 rows rejected; 2 rows written (exit code 1)."),
        ({"rows": 3, "rejected": 3}, 2, "Result: 3 of 3 rows rejected; nothing was written (exit code 2)."),
        ({"rows": 9, "created": 5, "stopped": "disk gone"}, 1,
         "Result: stopped part-way: disk gone; 5 rows written (exit code 1)."),
    ],
)
def test_the_exit_code_and_outcome_say_what_was_written(counts, code, outcome):
    summary = ImportSummary(**counts)
    assert summary.exit_code == code and summary.outcome() == outcome
