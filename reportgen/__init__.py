"""reportgen: printable, accessible Health assets profiles for England's upper-tier local authorities."""

__version__ = "0.1.0"
