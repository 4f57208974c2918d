"""Traffic: the IPv4 dependencies nobody listed, read from Route 53 Resolver query logs, VPC
Flow Logs and this host's sockets, streamed (never the whole window in memory)."""
