"""The benchmark suite (issue 4): `python -m bench`, see bench/run.py."""
