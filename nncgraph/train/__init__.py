"""Training: optimizers, learning-rate schedules, the loop, and the run folder."""
