"""The live-update engine: change hints from commit to subscriber, across processes."""
