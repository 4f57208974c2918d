"""Built-in checks, one module per family, registered through the `v6audit.checks` entry points."""
