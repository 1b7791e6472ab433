"""Whole numbers from client text, parsed one way everywhere.

``str.isdigit()`` is true for "²" and "١", which ``int()`` then refuses or reads as another digit: a client's id,
page or hour is a plain ASCII decimal, within the signed 64-bit range every id column holds.
"""
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def ascii_int(text: object, *, low: int = 0, high: int = INT64_MAX) -> int | None:
    """``text`` as an int when it is ASCII decimal digits within ``[low, high]``, else ``None``.

    Parameters
    ----------
    text : object
        Usually a ``str`` from a URL, form or JSON key; an ``int`` (not a ``bool``) is range-checked as is.
    low, high : int
        Inclusive bounds (default: a non-negative int64, the range of an id).

    Returns
    -------
    int or None
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        value = text
    elif isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 19:
        value = int(text)
    else:
        return None
    return value if low <= value <= high else None
