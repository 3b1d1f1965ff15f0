from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input: printed as one line, exit status 1.

    The message names the problem and says how to fix it.
    """
