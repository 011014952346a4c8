"""Pure-NumPy neural-network engine (never imports scikit-learn)."""
