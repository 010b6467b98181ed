"""Composite indices over small areas: the status/dynamics index (MSS method) and related tools."""
