"""Shared by the import command tests of every app."""
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command


def import_command_refusal(*, command: str, path: Path, text: str | None, args: list[str]) -> CommandError:
    """Write ``text`` to ``path`` (None: no file), run the import ``command`` on it, and return the error that
    refused the whole file, after checking that it exits with code 2 (a usage error, nothing imported)."""
    if text is not None:
        path.write_text(text)
    with pytest.raises(CommandError) as error:
        call_command(command, str(path), *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert error.value.returncode == 2
    return error.value
