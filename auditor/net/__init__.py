"""Probes over IPv6 only: DNS (AAAA decides), TCP, TLS and HTTP, and their classification."""
