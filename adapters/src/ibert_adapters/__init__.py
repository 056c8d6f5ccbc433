"""Hugging Face causal-LM backend with LoRA (peft) training and adapter hot-swap."""

__version__ = "0.1.0"
