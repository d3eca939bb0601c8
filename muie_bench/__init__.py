"""muie-bench: the evaluation harness for grounded Multimodal Universal Information Extraction."""

__version__ = "0.1.0"
