"""Core: health model, probe, engine, config and tokens. Imports no Qt."""
