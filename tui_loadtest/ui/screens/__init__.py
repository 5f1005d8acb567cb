"""Screens of the dashboard app: the live run, help, and the quit confirmation."""
