"""Helpers for tests and installation checks: ``smoke_config`` shrinks a
paper config into a seconds-long CPU run on the synthetic shapes."""
from .smoke import smoke_config

__all__ = ['smoke_config']
