"""Previews of what would be sent: text and HTML."""
