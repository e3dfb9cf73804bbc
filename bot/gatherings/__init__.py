"""Gatherings: events announced across languages, RSVPs, reminders, calendars."""
