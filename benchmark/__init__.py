"""csww-benchmark: children's social work workforce benchmarks for English councils."""

__version__ = "0.1.0"
