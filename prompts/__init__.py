"""Prompt templates and the answer JSON schema, shipped as package data (see rag/prompts.py for overrides)."""
