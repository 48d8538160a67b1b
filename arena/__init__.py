"""Persona Arena: language-model personas debate, and a judge scores how firmly each holds."""

__version__ = "0.1.0"
