"""One module per ``biomed-vital`` command, each with ``main(argv) -> int`` and ``build_parser()``.

A command module defines the dataclass of its own inputs and outputs (paths), and takes every other
option from the library's config dataclasses, so its flags and their defaults are the library's.
"""
