"""The translation relay: linked language rooms reading each other, each in its own language."""
