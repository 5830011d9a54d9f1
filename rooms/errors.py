"""Domain errors: small named classes that know nothing of HTTP.

`server/errors.py` maps each class to a status and a code; a Socket.IO ack uses the same codes.
Besides its `code` (the status class) and an English `message`, every error carries a `reason`
(a finer snake_case code) and `params` (plain JSON values), so that a client can say the same
thing in its reader's language without parsing English.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose; `code` is the contract's snake_case code,
    `reason` says which rule refused (the code itself when there is nothing finer to say)."""

    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        reason: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.reason = reason or self.code
        self.params: dict[str, Any] = dict(params or {})


class Invalid(DomainError):
    """Bad input; the message names the field, and `params` say `{field, rule, ...limits}`.

    Rules: `length` and `count` and `range` (`min`, `max`), `max_length` (`max`), `required`,
    `one_of` (`options`), `username`, `country`, `future`, `format` (a value of the wrong type or
    shape), and a few named where they are raised.
    """

    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        rule: str | None = None,
        **limits: Any,
    ) -> None:
        params: dict[str, Any] = {}
        if field is not None:
            params["field"] = field
        if rule is not None:
            params["rule"] = rule
        params.update(limits)
        super().__init__(message, params=params)


class NotSignedIn(DomainError):
    """No valid session, or wrong credentials (`bad_credentials`)."""

    code = "not_signed_in"


class Forbidden(DomainError):
    """The caller may see the thing but not do this to it; `reason` says which rule refused."""

    code = "forbidden"

    def __init__(
        self,
        message: str = "You are not allowed to do that.",
        *,
        reason: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, params=params)


class NotFound(DomainError):
    """Absent, or not visible to the caller: the two are deliberately indistinguishable (the
    params name only the kind of thing asked for, never whose it is)."""

    code = "not_found"

    def __init__(self, kind: str, ident: str = "", *, code: str | None = None) -> None:
        super().__init__(f"No such {kind}.", code=code, params={"kind": kind.replace(" ", "_")})
        self.kind = kind
        self.ident = ident


class InvalidCode(NotFound):
    """An unknown, expired, revoked or used-up invite code: one answer for all four."""

    def __init__(self) -> None:
        super().__init__("invite code", code="invalid_code")
        self.message = "This code is unknown, expired or used up."
        self.reason = "invalid_code"
        self.params = {}


class Conflict(DomainError):
    """The request contradicts the current state (`username_taken`, `conflict`)."""

    code = "conflict"


class TooLarge(DomainError):
    """A body or file over its limit (`too_large`), or a full archive (`quota_exceeded`)."""

    code = "too_large"


class RangeNotSatisfiable(DomainError):
    """A byte range outside the file."""

    code = "range_not_satisfiable"


class RateLimited(DomainError):
    """A token bucket is empty; `retry_after` is whole seconds until a token is back."""

    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many requests; try again in {retry_after} s.",
            params={"retry_after": retry_after},
        )
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A service the request needs (the database, the blob store) cannot be reached just now;
    `retry_after` is whole seconds to wait."""

    code = "unavailable"

    def __init__(
        self,
        message: str = "The service is unavailable for a moment; try again shortly.",
        retry_after: int = 5,
    ) -> None:
        super().__init__(message, params={"retry_after": retry_after})
        self.retry_after = retry_after
