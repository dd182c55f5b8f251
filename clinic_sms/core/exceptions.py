"""Exceptions raised by the pure core of clinic_sms.

Every error the core raises on purpose derives from :class:`CoreError`, so the Odoo layer can turn
them into user errors with one ``except`` clause. Messages are plain English; the structured
attributes (``reason``, ``unknown``) let the caller build its own translated text.
"""


class CoreError(Exception):
    """Base class of every error raised on purpose by ``clinic_sms.core``."""


class InvalidNumber(CoreError):
    """A phone number cannot receive SMS.

    :ivar reason: a machine-readable code (see :mod:`core.phone` for the list).
    :ivar message: a plain English sentence a receptionist understands.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


class TemplateError(CoreError):
    """A template body is malformed or uses placeholders that do not exist.

    :ivar message: a plain English explanation, listing the allowed placeholders when relevant.
    :ivar unknown: the unknown placeholder names, in order of appearance, without duplicates.
    """

    def __init__(self, message: str, unknown: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.unknown = tuple(unknown)
