"""Planning: flexibility against reinforcement over a growth path (``docs/planning.md``)."""
