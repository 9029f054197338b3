"""Evaluation (测评): index systems, years and rounds, participants, sampling, scoring, ranking."""
