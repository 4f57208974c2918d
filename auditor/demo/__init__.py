"""`v6audit demo`: the whole audit against a bundled sample estate, offline and without root.

The AWS account is moto in-process (built by boto3 calls in `estate.py`); the dependencies are
local servers on [::1] and 127.0.0.1 with names from a bundled zone (`network.py`). Every
check, the scoring and every renderer are the real ones.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from auditor.config import load_config
from auditor.context import Limits, RunState
from auditor.errors import AuditorError
from auditor.formats import Format
from auditor.output import write_outputs
from auditor.progress import Progress
from auditor.scan import ScanOutcome, ScanRequest, run_scan

BANNER = (
    "v6audit demo: SAMPLE DATA. The AWS account and the dependencies below are a bundled "
    "sample estate served on this machine; nothing is real and nothing leaves it."
)


class DemoUnavailable(AuditorError):
    """The demo needs moto (the AWS emulator) and cryptography."""


def demo_config_path() -> Path:
    return Path(str(files("auditor.demo").joinpath("v6audit.yaml")))


async def _run(progress: Progress) -> ScanOutcome:
    from auditor.demo.network import DemoNetwork
    from auditor.net.service import NET_SERVICE

    config = load_config(demo_config_path())
    network = DemoNetwork(config)
    state = RunState(config=config, limits=Limits(config.concurrency))
    state.services[NET_SERVICE] = await network.start()
    try:
        return await run_scan(ScanRequest(config=config, state=state), progress)
    finally:
        await network.aclose()


def _share_loader() -> None:
    """The estate is built through boto3's default session: give it the inventory's botocore
    loader, so the scan parses no service model the build already parsed."""
    import boto3
    import botocore.session

    from auditor.aws.regions import shared_loader

    core = botocore.session.Session()
    core.register_component("data_loader", shared_loader())
    boto3.setup_default_session(botocore_session=core)


def run_demo(
    formats: Sequence[Format], outdir: str, progress: Progress
) -> tuple[ScanOutcome, list[str]]:
    """Build the estate, scan it, write the reports; returns the outcome and what was written."""
    try:
        from moto import mock_aws
    except ImportError:
        raise DemoUnavailable(
            "the demo needs the AWS emulator moto: pip install 'v6audit[demo]'"
        ) from None
    from auditor.demo.estate import build_estate

    print(BANNER, file=sys.stderr)
    saved = {k: os.environ.get(k) for k in ("AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED")}
    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    try:
        with mock_aws():
            _share_loader()
            build_estate()
            outcome = asyncio.run(_run(progress))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    outcome.result["demo"] = True
    return outcome, write_outputs(outcome.result, formats, outdir)
