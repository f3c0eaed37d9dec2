"""Helpers shared by every test folder: servers in threads, database digests, a hand-moved clock, workbooks.

Tests import from here, never from bench/ (the bench has its own runner).
"""
