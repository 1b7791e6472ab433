"""``import_catalog`` / ``catalog.services``: streaming upsert by SKU, errors by line number, MovieLens u.item."""
import itertools
from decimal import Decimal

import pytest

from catalog.models import Category, Item
from catalog.services import catalog_import_file, catalog_import_rows
from tests.common.importing_support import import_command_refusal, import_command_run
from tests.factories import CategoryFactory, ItemFactory

pytestmark = pytest.mark.django_db

GOOD_AND_BAD = (
    "sku,title,category,description,tags,price,image_url,in_stock,parent_category,attributes\n"
    'MUG-1,Red Mug,Mugs,"A red mug.\nHolds tea.",kitchen|red|red,9.50,,yes,Home,"{""color"": ""red""}"\n'  # lines 2-3
    "MUG-2,,Mugs,,,,,,,\n"  # line 4: no title
    "MUG-3,Blue Mug,Mugs,,,abc,,maybe,,[1]\n"  # line 5: bad price, stock flag, attributes
    "MUG-4,Green Mug,Mugs,,,3,https://example.com/mug.png,0,Home,\n"  # line 6
    "MUG-5,Short row\n"  # line 7: wrong number of cells
    "\n"  # line 8: blank, skipped
    "MUG-6,Steel Pan,Pans,,,,not a url,,Home,\n"  # line 9: bad URL
)


def _write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def _run(*args, expect: int = 0) -> str:
    return import_command_run("import_catalog", *args, expect=expect)


def test_good_rows_kept_and_bad_rows_reported_by_line(tmp_path):
    summary = catalog_import_file(path=_write(tmp_path, "items.csv", GOOD_AND_BAD), file_format="csv")
    assert (summary.rows, summary.created, summary.rejected) == (6, 2, 4)
    assert [line for line, _ in summary.errors] == [4, 5, 7, 9]
    messages = dict(summary.errors)
    assert "title" in messages[4]
    assert "price" in messages[5] and "in_stock" in messages[5] and "attributes" in messages[5]
    assert "Expected 10 cells" in messages[7]
    assert "image_url" in messages[9]
    mug = Item.objects.get(sku="MUG-1")
    assert mug.description == "A red mug.\nHolds tea."
    assert mug.tags == ["kitchen", "red"] and mug.attributes == {"color": "red"}
    assert mug.price == Decimal("9.50") and mug.in_stock and mug.is_active
    assert mug.category.name == "Mugs" and mug.category.slug == "mugs" and mug.category.parent.name == "Home"
    green = Item.objects.get(sku="MUG-4")
    assert not green.in_stock and green.image_url == "https://example.com/mug.png" and green.price == Decimal("3.00")
    assert set(Item.objects.values_list("sku", flat=True)) == {"MUG-1", "MUG-4"}


def test_reimport_is_idempotent_and_updates_by_sku(tmp_path):
    path = _write(tmp_path, "items.csv", GOOD_AND_BAD)
    catalog_import_file(path=path, file_format="csv")
    again = catalog_import_file(path=path, file_format="csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Item.objects.count() == 2 and Category.objects.count() == 2
    changed = _write(tmp_path, "changed.csv", "sku,title,category,price\nMUG-1,Big Red Mug,Mugs,\nMUG-9,New,Cups,2\n")
    summary = catalog_import_file(path=changed, file_format="csv")
    assert (summary.created, summary.updated) == (1, 1)
    mug = Item.objects.get(sku="MUG-1")
    assert mug.title == "Big Red Mug"
    assert mug.price == Decimal("9.50") and mug.tags == ["kitchen", "red"]  # blank/absent cells keep old values


def test_existing_categories_are_reused_by_slug_or_name():
    books = CategoryFactory(name="Books", slug="books")
    odd = CategoryFactory(name="Sci Fi", slug="science-fiction")
    rows = [(2, {"sku": "B1", "title": "Dune", "category": "books"}), (3, {"sku": "B2", "title": "Foundation", "category": "sci fi"})]
    summary = catalog_import_rows(rows=rows)
    assert summary.created == 2 and summary.categories_created == 0
    assert Item.objects.get(sku="B1").category == books and Item.objects.get(sku="B2").category == odd


def test_repeated_sku_later_row_wins_across_and_within_chunks(tmp_path):
    lines = ["sku,title,category"] + [f"S{n % 3},Title {n},Things" for n in range(7)]
    summary = catalog_import_file(path=_write(tmp_path, "r.csv", "\n".join(lines) + "\n"), file_format="csv", chunk_size=2)
    assert summary.created == 3 and summary.updated == 4 and summary.rejected == 0
    assert Item.objects.get(sku="S0").title == "Title 6"
    assert Item.objects.get(sku="S2").title == "Title 5"


def test_dry_run_writes_nothing(tmp_path):
    ItemFactory(sku="MUG-1", title="Old")
    out = _run(_write(tmp_path, "items.csv", GOOD_AND_BAD), "--dry-run", expect=1)
    assert "Dry run" in out and "Rows read: 6" in out and "1 created, 1 updated" in out and "Rejected: 4" in out
    assert "line 4:" in out and "line 9:" in out
    assert Item.objects.get(sku="MUG-1").title == "Old" and Item.objects.count() == 1
    assert not Category.objects.filter(name__in=["Mugs", "Home"]).exists()


def test_movielens_u_item(tmp_path):
    text = (
        "1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
        "2|GoldenEye (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?GoldenEye%20(1995)|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n"
        "3|broken line\n"
        "4|Café Society (1995)|01-Jan-1995|||0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n"
        "267|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    )
    path = _write(tmp_path, "u.item", text, encoding="latin-1")
    out = _run(path, expect=1)  # format guessed from the name; line 3 rejected: a partial import
    assert "Imported: 4" in out and "line 3:" in out
    toy = Item.objects.get(sku="ml-1")
    assert toy.title == "Toy Story (1995)"
    assert toy.category.name == "Animation" and toy.category.parent.name == "Movies"
    assert toy.tags == ["Animation", "Children's", "Comedy"]
    assert toy.attributes["release_date"] == "1995-01-01" and toy.attributes["imdb_url"].startswith("http://us.imdb.com/")
    assert toy.created_at.year == 1995
    assert Item.objects.get(sku="ml-2").category.name == "Action"
    assert Item.objects.get(sku="ml-4").title == "Café Society (1995)"  # latin-1 decoded
    assert Item.objects.get(sku="ml-267").category.name == "unknown"
    again = catalog_import_file(path=path, file_format="movielens")
    assert again.created == 0 and again.unchanged == 4


@pytest.mark.parametrize(
    ("name", "text", "args", "message"),
    [
        ("missing.csv", None, [], "File not found"),
        ("bad.csv", "sku,name\nA,B\n", [], "missing column(s) title, category"),
        ("empty.csv", "", [], "is empty"),
        ("items.txt", "sku,title,category\n", [], "Cannot tell the format"),
        ("items.csv", "sku,title,category\n", ["--format", "xml"], "Unknown format 'xml'"),
        ("u.item", "1\t2\t3\t4\n", [], "does not look like a MovieLens u.item"),
    ],
)
def test_file_level_problems_exit_with_code_2(tmp_path, name, text, args, message):
    error = import_command_refusal(command="import_catalog", path=tmp_path / name, text=text, args=args)
    assert message in str(error)
    assert not Item.objects.exists()


def test_unknown_columns_are_reported_and_ignored(tmp_path):
    out = _run(_write(tmp_path, "items.csv", "sku,title,category,colour\nA,Lamp,Lights,red\n"))
    assert "Ignoring unknown column(s): colour" in out and Item.objects.filter(sku="A").exists()


def test_rows_are_consumed_lazily_chunk_by_chunk():
    """Memory is bounded by the chunk size: the importer never pulls the whole input before writing."""
    pulled = 0
    written_when_pulled: list[int] = []

    def rows():
        nonlocal pulled
        for n in itertools.count():
            if n == 1000:  # stand-in for a huge file: stop after 1,000 rows
                return
            pulled += 1
            if n % 100 == 0:
                written_when_pulled.append(Item.objects.count())
            yield n + 2, {"sku": f"L{n}", "title": f"Lazy {n}", "category": "Lazy"}

    summary = catalog_import_rows(rows=rows(), chunk_size=100)
    assert summary.created == 1000 and pulled == 1000
    # When row 100*k was pulled, exactly the previous k chunks of 100 had been written.
    assert written_when_pulled == [100 * k for k in range(10)]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_bom_and_crlf_and_skus_kept_as_written(tmp_path, bom):
    path = tmp_path / "items.csv"
    path.write_bytes(bom + "sku,title,category\r\n007,Café,Mugs\r\n7,Seven,Mugs\r\n".encode())
    out = _run(path)
    assert "Imported: 2 (2 created, 0 updated)" in out and "Result: complete" in out
    assert sorted(Item.objects.values_list("sku", "title")) == [("007", "Café"), ("7", "Seven")]


def test_a_latin1_line_is_a_rejected_row_naming_its_line_and_the_rest_is_imported(tmp_path):
    path = tmp_path / "items.csv"
    path.write_bytes(b"sku,title,category\nA,Lamp,Lights\n" + "B,Caf\xe9,Mugs\n".encode("latin-1") + b"C,Cup,Mugs\n")
    out = _run(path, expect=1)
    assert "line 3: Not UTF-8: byte 0xe9 after 'B,Caf'. Save the file as UTF-8" in out
    assert "Result: 1 of 3 rows rejected; 2 rows written (exit code 1)." in out
    assert sorted(Item.objects.values_list("sku", flat=True)) == ["A", "C"]


def test_every_row_rejected_writes_nothing_and_exits_2(tmp_path):
    out = _run(_write(tmp_path, "items.csv", "sku,title,category\nA,,Mugs\nB,,Mugs\n"), expect=2)
    assert "Result: 2 of 2 rows rejected; nothing was written (exit code 2)." in out
    assert not Item.objects.exists()


def test_movielens_u_item_ids_as_written_with_bom_and_crlf(tmp_path):
    flags = "|".join(["0"] * 18 + ["1"])
    path = tmp_path / "u.item"
    path.write_bytes(f"\ufeff007|Bond|01-Jan-1995|||{flags}\r\n".encode() + f"8|Caf\xe9|01-Jan-1995|||{flags}\r\n".encode("latin-1"))
    _run(path)
    assert sorted(Item.objects.values_list("sku", "title")) == [("ml-007", "Bond"), ("ml-8", "Café")]


def test_a_file_that_stops_being_readable_part_way_keeps_what_was_written_and_exits_1(tmp_path, monkeypatch):
    from catalog import services

    def rows(*, path, warnings=None):
        yield 2, {"sku": "A", "title": "Lamp", "category": "Lights"}
        raise services.ImportFileError("Cannot read items.csv after line 2: disk gone")

    monkeypatch.setattr(services, "catalog_rows_from_csv", rows)
    out = _run(_write(tmp_path, "items.csv", "sku,title,category\n"), "--chunk-size", "1", expect=1)
    assert "Result: stopped part-way: Cannot read items.csv after line 2: disk gone; 1 rows written (exit code 1)." in out
    assert Item.objects.filter(sku="A").exists()
