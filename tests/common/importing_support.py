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


def import_command_run(command: str, *args, expect: int = 0) -> str:
    """Run an import ``command`` and return what it printed, after checking its exit code is ``expect``
    (0 every row imported, 1 some rows rejected, 2 nothing written)."""
    out = io.StringIO()
    if expect == 0:
        call_command(command, *map(str, args), stdout=out, stderr=io.StringIO())
        return out.getvalue()
    with pytest.raises(CommandError) as error:
        call_command(command, *map(str, args), stdout=out, stderr=io.StringIO())
    assert error.value.returncode == expect, (error.value.returncode, str(error.value), out.getvalue())
    assert out.getvalue().rstrip().endswith(f"(exit code {expect}).")
    return out.getvalue()
