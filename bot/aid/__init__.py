"""Mutual aid: requests and offers followed to the end, private where they must be."""
