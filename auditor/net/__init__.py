"""Probes over IPv6 only, shared by every network check.

- `connect`: where sockets go (AF_INET6 only; an address-mapping hook for the offline demo).
- `dns`: the resolver interface and the IPv6 stub resolver (policy: failover, CNAME chains,
  batches); `dnsmux` its UDP multiplexer, `dnswire` its wire codec.
- `nat64`: RFC 6052 embedding, RFC 7050 prefix discovery.
- `probe`: TCP, TLS and HTTP probes of one address, with phase timings.
- `proofs`: what proves each dependency kind reachable (pure).
- `classify`: evidence in, one class out (pure).
- `aws`, `imds`: dual-stack AWS endpoints from botocore's rules; IMDSv2 over IPv6.
- `service`: the run-wide toolkit (`ctx.service("net", ...)`) tying them together.
- `findings`: findings for probed targets.
- `routes`: the auditor's own IPv6 route and resolvers.
"""
