"""Helpers shared by the tests and the benchmarks: the fake Ollama server, generated corpora and hostile files,
index consistency checks, the kill sweep and the fault table. Nothing here is a test."""
