"""`traffic-sql`: the traffic analysis as Athena SQL, for windows too large for one machine."""

from __future__ import annotations

import argparse

from auditor.cli.common import Subparsers, formatter
from auditor.errors import EXIT_OK
from auditor.output import emit


def register(sub: Subparsers) -> None:
    tsql = sub.add_parser(
        "traffic-sql",
        help="print the traffic analysis as Athena SQL, for windows too large for one machine",
        formatter_class=formatter,
        description="The same aggregation `traffic.ipv4_dependency` makes, as one query over "
        "the standard VPC Flow Logs (default format) and Route 53 Resolver query-log tables, "
        "for the config's traffic.since window ending now and its traffic.scope.",
    )
    tsql.set_defaults(run=cmd_traffic_sql)
    tsql.add_argument("-c", "--config", metavar="CONFIG", help="v6audit.yaml")
    tsql.add_argument("--flow-table", metavar="NAME", default="vpc_flow_logs")
    tsql.add_argument("--dns-table", metavar="NAME", default="r53_rlogs")


def cmd_traffic_sql(args: argparse.Namespace) -> int:
    from auditor.config import load_config
    from auditor.traffic.sql import sql_for_config

    emit(sql_for_config(load_config(args.config), args.flow_table, args.dns_table))
    return EXIT_OK
