"""The two apps `benchmarks/http_bench.py` serves side by side: the framework's and a hand-written one."""
