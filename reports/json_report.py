"""report.json: the result itself, the one source every other format is rendered from."""

from typing import BinaryIO

from auditor.result import dumps, write_json


def render(result: dict) -> str:
    return dumps(result)


def write(result: dict, out: BinaryIO) -> None:
    write_json(result, out)
