"""Helpers for tests and installation checks: ``smoke_config`` shrinks a
paper config into a seconds-long CPU run on the synthetic shapes;
``load_tool`` imports a script of ``tools/``."""
from .smoke import smoke_config
from .tools import load_tool

__all__ = ['load_tool', 'smoke_config']
