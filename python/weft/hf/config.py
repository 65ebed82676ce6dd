"""Reading Hugging Face config.json fields with one-line errors that name the
field."""

import math

from weft.hf.checkpoint import HFError


class Config:
    def __init__(self, data, where):
        self.data = data
        self.where = where

    def has(self, field):
        return self.data.get(field) is not None

    def get(self, field, default=None):
        value = self.data.get(field)
        return default if value is None else value

    def fail(self, field, message):
        raise HFError(f"{self.where}: {field}: {message}")

    def int(self, field, default=None, minimum=1):
        value = self.get(field, default)
        if value is None:
            self.fail(field, "required field is missing")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            self.fail(field, f"expected an integer, got {value!r}")
        if value < minimum:
            self.fail(field, f"must be >= {minimum}, got {value}")
        return int(value)

    def float(self, field, default=None):
        value = self.get(field, default)
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value)):
            self.fail(field, f"expected a finite number, got {value!r}")
        return float(value)

    def bool(self, field, default=False):
        value = self.get(field, default)
        if not isinstance(value, bool):
            self.fail(field, f"expected true or false, got {value!r}")
        return value

    def expect(self, field, allowed, default=None):
        """A field whose other values would change the math."""
        value = self.get(field, default)
        if value not in allowed:
            self.fail(field, f"{value!r} is not supported (supported: "
                             f"{', '.join(repr(a) for a in allowed)})")
        return value

    def reject(self, *fields):
        """Fields that change the math and that weft does not implement."""
        for field in fields:
            value = self.data.get(field)
            if value not in (None, False, 0, [], {}):
                self.fail(field, f"{value!r} is not supported")
