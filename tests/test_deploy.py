"""The scheduler manifests in deploy/ are valid requests for their APIs and run the commands
this v6audit understands: AWS Batch and ECS shapes are checked against botocore's service
models (as the API would check them), the Kubernetes Jobs for the fields the scheduler needs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.validate import validate_parameters

from auditor.aws.organization import parse_shard
from auditor.cli import build_parser

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def load_json(relative: str) -> dict[str, Any]:
    return json.loads((DEPLOY / relative).read_text())


def api_shape(service: str, operation: str):
    model = botocore.session.get_session().get_service_model(service)
    return model.operation_model(operation).input_shape


@pytest.mark.parametrize(
    ("relative", "service", "operation"),
    [
        ("batch/job-definition.json", "batch", "RegisterJobDefinition"),
        ("batch/submit-array-job.json", "batch", "SubmitJob"),
        ("batch/submit-merge-job.json", "batch", "SubmitJob"),
        ("ecs/task-definition.json", "ecs", "RegisterTaskDefinition"),
    ],
)
def test_aws_manifests_are_valid_api_requests(relative: str, service: str, operation: str) -> None:
    validate_parameters(load_json(relative), api_shape(service, operation))  # raises if not


def test_the_validation_would_catch_a_broken_manifest() -> None:
    broken = load_json("batch/job-definition.json")
    broken["containerProperties"]["resourceRequirements"] = "1 vCPU"
    with pytest.raises(Exception, match="resourceRequirements"):
        validate_parameters(broken, api_shape("batch", "RegisterJobDefinition"))


def parses(argv: list[str]):
    """The container's arguments as this v6audit's CLI reads them (exit 2 fails the test)."""
    return build_parser().parse_args(argv)


def shard_count(argv: list[str]) -> int:
    return int(argv[argv.index("--shard") + 1].split("/")[1])


def test_batch_array_size_matches_the_shard_count_and_the_commands_parse() -> None:
    job = load_json("batch/job-definition.json")
    command = job["containerProperties"]["command"]
    args = parses(command)
    assert args.command == "scan"
    assert (
        shard_count(command) == load_json("batch/submit-array-job.json")["arrayProperties"]["size"]
    )
    assert parse_shard(args.shard, {"AWS_BATCH_JOB_ARRAY_INDEX": "3"}).index == 3
    merge = load_json("batch/submit-merge-job.json")["containerOverrides"]["command"]
    assert parses(merge).command == "merge"
    mounts = {m["containerPath"] for m in job["containerProperties"]["mountPoints"]}
    assert any(args.output.startswith(m) for m in mounts)  # shards write to the shared volume


def k8s(relative: str) -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / relative).read_text())


def test_kubernetes_indexed_job_has_what_the_scheduler_needs() -> None:
    job = k8s("kubernetes/indexed-job.yaml")
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] in ("Never", "OnFailure")
    [container] = pod["containers"]
    assert container["image"]
    args = container["args"]
    assert shard_count(args) == spec["completions"]
    assert parses(args).shard.startswith("auto/")
    env = {e["name"]: e for e in container["env"]}
    assert (
        "job-completion-index" in env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"]
    )
    volumes = {v["name"] for v in pod["volumes"]}
    assert {m["name"] for m in container["volumeMounts"]} <= volumes
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    }
    merge = k8s("kubernetes/merge-job.yaml")
    merge_pod = merge["spec"]["template"]["spec"]
    assert merge_pod["restartPolicy"] in ("Never", "OnFailure")
    [merger] = merge_pod["containers"]
    assert parses(merger["args"]).command == "merge"
    merge_claims = {
        v["persistentVolumeClaim"]["claimName"]
        for v in merge_pod["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims & merge_claims  # the merge reads the volume the shards wrote


def test_deploy_doc_names_every_manifest() -> None:
    doc = (DEPLOY.parent / "docs" / "deploy.md").read_text()
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file():
            assert str(path.relative_to(DEPLOY.parent)) in doc, path
    assert re.search(r"--shard auto/N", doc)
