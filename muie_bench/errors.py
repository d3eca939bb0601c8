"""Errors a user can cause. The CLI prints them as one line and exits non-zero."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input: bad file, option or missing weights.

    The message is one line naming the file, line and field where they are known.
    """

    exit_code = 2


class ValidationProblems(UserError):
    """Several ``file:line: field: message`` problems found while validating."""

    exit_code = 1

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(problems[0] if problems else "invalid")
