"""The two apps `benchmarks/http.py` serves side by side: the framework's and a hand-written one."""
