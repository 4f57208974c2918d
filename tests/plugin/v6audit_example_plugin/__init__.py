"""A third-party check package, as a plugin author would write one."""

from auditor.model import Target, passed
from auditor.registry import check


@check(
    id="example.hello",
    title="An example plugin check",
    family="example",
    severity="low",
    stage=2,
    permissions=["ec2:DescribeVpcs"],
    remediation="Nothing to fix: this check always passes.",
)
async def hello(ctx):
    """Proves that a plugin registered through the entry-point group runs in a scan."""
    yield passed(f"hello from a plugin to {ctx.config.workload}", target=Target(host="example"))
