import numpy as np
import pytest

from ml.io import (
    DataFormatError,
    RawEvents,
    iter_csv,
    read_csv,
    read_events,
    read_item_catalog,
    read_movielens,
    read_movielens_latest,
)


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_csv_with_header_any_order_and_aliases(tmp_path):
    path = write(
        tmp_path,
        "events.csv",
        "timestamp,userId,rating,item,event\n"
        "1700000000,u1,,i1,view\n"
        "2024-01-02T00:00:00Z,u1,3.5,i2,purchase\n"
        "\n"
        "2024-01-02 00:00:01,u2,1,i1,click\n",
    )
    log = read_csv(path)
    assert log.user_ids.tolist() == ["u1", "u1", "u2"]
    assert log.item_ids.tolist() == ["i1", "i2", "i1"]
    assert log.event_types.tolist() == ["view", "purchase", "click"]
    assert np.isnan(log.values[0]) and log.values[1:].tolist() == [3.5, 1.0]
    # 2024-01-02T00:00:00Z = 1704153600 unix seconds
    assert log.timestamps.tolist() == [1700000000.0, 1704153600.0, 1704153601.0]


def test_csv_without_header_by_position(tmp_path):
    assert read_csv(write(tmp_path, "a.csv", "1,10\n2,20\n")).values is None
    three_numeric = read_csv(write(tmp_path, "b.csv", "1,10,4.5\n"))
    assert three_numeric.values.tolist() == [4.5] and three_numeric.event_types is None
    three_text = read_csv(write(tmp_path, "c.csv", "1,10,click\n"))
    assert three_text.event_types.tolist() == ["click"] and three_text.values is None
    four = read_csv(write(tmp_path, "d.csv", "1\t10\t4\t881250949\n"))  # tab sniffed
    assert four.values.tolist() == [4.0] and four.timestamps.tolist() == [881250949.0]
    five = read_csv(write(tmp_path, "e.csv", "1;10;like;1;5\n"))
    assert five.event_types.tolist() == ["like"] and five.timestamps.tolist() == [5.0]
    assert five.user_ids.dtype == np.int64


def test_csv_chunks_and_mixed_id_types(tmp_path):
    path = write(tmp_path, "ids.csv", "user_id,item_id\n1,1\n2,2\nabc,3\n")
    chunks = list(iter_csv(path, chunk_rows=2))
    assert [len(c) for c in chunks] == [2, 1]
    assert chunks[0].user_ids.tolist() == ["1", "2"]  # chunks carry the text; the file decides once
    log = read_csv(path, chunk_rows=2)
    assert log.user_ids.tolist() == ["1", "2", "abc"]  # a string anywhere makes the column text
    assert log.item_ids.tolist() == [1, 2, 3] and log.item_ids.dtype == np.int64


@pytest.mark.parametrize(
    "text, message",
    [
        ("user_id,product,colour\n1,2,red\n", "unknown column"),
        ("user_id,value\n1,2\n", "no item_id column"),
        ("user_id,item_id\n1,2,3\n", "line 2: expected 2 fields"),
        ("1,2,3,4,5,6\n", "expected 2 to 5 columns"),
        ("user_id,item_id,value\n1,2,lots\n", "line 2: value 'lots' is not a number"),
        ("user_id,item_id,timestamp\n1,2,yesterday\n", "line 2: timestamp 'yesterday'"),
        ("user_id,item_id\n,2\n", "line 2: empty user_id"),
        ("", "empty file"),
    ],
)
def test_csv_bad_input_is_explained(tmp_path, text, message):
    with pytest.raises(DataFormatError, match=message):
        read_csv(write(tmp_path, "bad.csv", text))


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DataFormatError, match="no such file"):
        read_csv(tmp_path / "nope.csv")
    with pytest.raises(DataFormatError, match="unknown format"):
        read_events(write(tmp_path, "x.csv", "1,2\n"), "parquet")


def test_movielens_100k_and_latest(tmp_path):
    udata = write(tmp_path, "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    log = read_movielens(udata, chunk_rows=1)
    assert log.user_ids.tolist() == [196, 186] and log.item_ids.tolist() == [242, 302]
    assert log.values.tolist() == [3.0, 3.0] and log.timestamps[1] == 891717742.0
    latest = write(tmp_path, "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n")
    log = read_movielens_latest(latest)
    assert log.item_ids.tolist() == [1, 3] and log.values.tolist() == [4.0, 4.5]
    assert read_events(latest, "movielens-latest").user_ids.tolist() == [1, 1]
    with pytest.raises(DataFormatError, match="not a movielens"):
        read_events(write(tmp_path, "wrong.csv", "1,2,3,4\n"), "movielens")  # commas, not tabs
    with pytest.raises(DataFormatError, match="header"):
        read_movielens_latest(write(tmp_path, "nohead.csv", "1,1,4.0,964982703\n"))


def test_u_item_to_item_features(tmp_path):
    flags_toy_story = "|".join(["0", "0", "0", "1", "1", "1"] + ["0"] * 13)  # Animation, Children's, Comedy
    flags_unknown = "|".join(["1"] + ["0"] * 18)
    text = (
        f"1|Toy Story (1995)|01-Jan-1995||http://x|{flags_toy_story}\n"
        f"267|unknown||||{flags_unknown}\n"
    )
    catalog = read_item_catalog(write(tmp_path, "u.item", text, encoding="latin-1"))
    assert catalog.item_ids.tolist() == [1, 267]
    assert catalog.tags == [["Animation", "Children's", "Comedy"], []]
    assert catalog.categories == ["Animation", ""]
    features = catalog.to_item_features()
    assert features.category.tolist() == [0, -1] and features.category_names == ["Animation"]
    assert features.text[0] == "Toy Story (1995)"


def test_movies_csv_and_dataset_alignment(tmp_path):
    movies = write(tmp_path, "movies.csv", 'movieId,title,genres\n1,"Toy Story, The (1995)",Adventure|Animation\n2,Jumanji (1995),(no genres listed)\n')
    catalog = read_item_catalog(movies)
    assert catalog.titles[0] == "Toy Story, The (1995)" and catalog.tags == [["Adventure", "Animation"], []]
    events = RawEvents(user_ids=np.array([5, 5, 6]), item_ids=np.array([2, 1, 3]))
    data = events.to_interactions(item_features=catalog.to_item_features())
    # the dataset aligns features to its item map; item 3 has no metadata
    assert data.item_features.category[data.item_map.to_index([1, 2, 3])].tolist() == [0, -1, -1]
    assert [data.item_features.text[i] for i in data.item_map.to_index([1, 2, 3])] == ["Toy Story, The (1995)", "Jumanji (1995)", ""]


def test_generic_item_csv(tmp_path):
    path = write(tmp_path, "items.csv", "item_id,title,category,tags\n10,Lamp,home,light|sale\n11,Mug,kitchen,\n")
    catalog = read_item_catalog(path)
    assert catalog.item_ids.tolist() == [10, 11] and catalog.categories == ["home", "kitchen"]
    assert catalog.tags == [["light", "sale"], []]
    with pytest.raises(DataFormatError, match="expected u.item"):
        read_item_catalog(write(tmp_path, "other.csv", "id,name\n1,x\n"))


# ------------------------------------------------------------------ encodings and opaque ids
BOM = "\ufeff"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", ["", BOM])
def test_utf8_with_or_without_bom_and_crlf_read_the_same(tmp_path, bom, newline):
    with_header = write(tmp_path, "h.csv", bom + newline.join(["user_id,item_id,value", "1,10,5", "2,20,3", ""]))
    log = read_csv(with_header)  # a BOM used to give: unknown column(s) '\ufeffuser_id'
    assert log.user_ids.tolist() == [1, 2] and log.item_ids.tolist() == [10, 20] and log.values.tolist() == [5.0, 3.0]
    no_header = write(tmp_path, "n.csv", bom + newline.join(["1,10", "2,20", ""]))
    log = read_csv(no_header)  # a BOM used to add a phantom user '\ufeff1' (and turn every id into text)
    assert log.user_ids.tolist() == [1, 2] and log.user_ids.dtype == np.int64
    udata = write(tmp_path, "u.data", bom + newline.join(["196\t242\t3\t881250949", ""]))
    assert read_events(udata, "movielens").user_ids.tolist() == [196]
    latest = write(tmp_path, "ratings.csv", bom + newline.join(["userId,movieId,rating,timestamp", "1,3,4.5,964981247", ""]))
    assert read_events(latest, "movielens-latest").values.tolist() == [4.5]
    items = write(tmp_path, "items.csv", bom + newline.join(["item_id,title,category", "7,Café crème,food", ""]))
    catalog = read_item_catalog(items)
    assert catalog.item_ids.tolist() == [7] and catalog.titles == ["Café crème"]  # UTF-8, not read as latin-1


@pytest.mark.parametrize(
    "data, message",
    [
        ("user_id,item_id\n1,2\n3,café\n".encode("latin-1"), r"line 3: byte 0xe9 at position 6 is not UTF-8"),
        ("user_id,item_id\n1,2\n".encode("utf-16"), r"line 1: byte 0xff .*UTF-16"),
        ("1\t2\t3\t4\n5\t6\t7\t8\n9\tcafé\t1\t1\n".encode("cp1252"), r"line 3: byte 0xe9"),
    ],
)
def test_other_encodings_are_refused_naming_the_line(tmp_path, data, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    fmt = "movielens" if b"\t" in data else "csv"
    with pytest.raises(DataFormatError, match=message):
        read_events(path, fmt, chunk_rows=1)


def test_bad_byte_deep_in_a_big_file_names_its_line(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"user_id,item_id\n" + b"1,2\n" * 20_000 + b"7,\xff\n" + b"1,2\n" * 10)
    with pytest.raises(DataFormatError, match="line 20002: byte 0xff"):
        read_csv(path, chunk_rows=5000)


def test_ids_are_kept_exactly_as_given(tmp_path):
    path = write(tmp_path, "ids.csv", "user_id,item_id\n007,1\n7,2\n+7,3\n")
    log = read_csv(path)
    assert log.user_ids.tolist() == ["007", "7", "+7"]  # three users, not one user 7
    assert log.item_ids.tolist() == [1, 2, 3] and log.item_ids.dtype == np.int64
    data = log.to_interactions()
    assert sorted(data.user_map.external_ids.tolist()) == ["+7", "007", "7"]
    decimals = read_csv(write(tmp_path, "f.csv", "1.0,2\n1,2\n"))
    assert decimals.user_ids.tolist() == ["1.0", "1"]  # "1.0" is not the integer 1
    catalog = read_item_catalog(write(tmp_path, "items.csv", "item_id,category\n0042,toys\n42,toys\n"))
    assert catalog.item_ids.tolist() == ["0042", "42"]


def test_id_kind_is_decided_once_for_the_whole_file(tmp_path):
    # the leading zero is in the last chunk only: every chunk must still agree on text ids
    path = write(tmp_path, "late.csv", "user_id,item_id\n" + "".join(f"{u},{u}\n" for u in range(1, 7)) + "08,9\n")
    log = read_csv(path, chunk_rows=2)
    assert log.user_ids.tolist() == ["1", "2", "3", "4", "5", "6", "08"]
    assert log.item_ids.tolist() == [1, 2, 3, 4, 5, 6, 9]
    assert read_csv(path, chunk_rows=100).user_ids.tolist() == log.user_ids.tolist()
