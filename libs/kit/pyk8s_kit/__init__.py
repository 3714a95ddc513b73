"""Tiny runtime shared by PyK8s-Lab services."""
