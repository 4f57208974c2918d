# v6audit: runs the audit from inside a VPC subnet (ideally the IPv6-only one you plan for).
# Credentials come from the task or instance role, or the standard AWS_* environment
# variables; none are baked in. On IPv6-only subnets set
# AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6 so the SDK reaches IMDS at [fd00:ec2::254].

FROM python:3.11.10-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY auditor ./auditor
COPY checks ./checks
COPY reports ./reports
RUN python -m venv /opt/v6audit \
    && /opt/v6audit/bin/pip install . \
    && find /opt/v6audit -name '__pycache__' -prune -exec rm -rf {} +

FROM python:3.11.10-slim-bookworm
# WeasyPrint (the PDF report) needs Pango, HarfBuzz and a font.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libpango-1.0-0=1.50.* libpangoft2-1.0-0=1.50.* libharfbuzz0b=6.0.* \
       libharfbuzz-subset0=6.0.* \
       fonts-dejavu-core=2.37-* \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /work --create-home v6audit
COPY --from=build /opt/v6audit /opt/v6audit
ENV PATH=/opt/v6audit/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001
WORKDIR /work
# Mount the config at /work/v6audit.yaml and a writable folder at /work/reports.
ENTRYPOINT ["v6audit"]
CMD ["scan", "--config", "v6audit.yaml", "--output", "reports", "--format", "json,html,pdf,sarif,junit,md"]
