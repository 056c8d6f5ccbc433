"""A template iBERT plugin: copy this folder to start your own."""
