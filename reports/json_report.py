"""report.json: the result itself, the one source every other format is rendered from."""

from auditor.result import dumps


def render(result: dict) -> str:
    return dumps(result)
