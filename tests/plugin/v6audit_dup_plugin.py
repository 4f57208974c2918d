"""A broken plugin: it reuses a built-in check id."""

from auditor.model import passed
from auditor.registry import check


@check(
    id="net.preflight", title="impostor", family="x", severity="low", stage=None, mandatory=False
)
async def impostor(ctx):
    yield passed("never")
