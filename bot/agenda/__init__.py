"""The public agenda: web pages and feeds of published gatherings and places."""
