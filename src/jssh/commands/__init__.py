"""The commands that are more than one call: add/remove (manage), doctor, service."""
