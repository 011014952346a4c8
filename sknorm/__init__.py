"""sknorm: scikit-learn compatible MLPs with batch normalization."""

__version__ = "0.1.0"
__all__: list[str] = []
