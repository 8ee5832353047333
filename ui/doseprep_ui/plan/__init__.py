"""The plan: the instruction, the findings and every step of the arithmetic, as computed by the
domain."""
