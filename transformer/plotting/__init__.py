"""Figures for the walkthrough. Plots live in this package, one submodule per area of the course
(`core` for embeddings, positions, masks and attention); each function takes data and returns a
matplotlib Figure. Model code never imports this package."""
