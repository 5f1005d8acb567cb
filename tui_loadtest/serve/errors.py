"""Errors the API answers as ``{"error": CODE, "detail": TEXT}``."""

from __future__ import annotations


class ApiError(Exception):
    """An answer other than success: the HTTP status, a short code, one line of detail."""

    def __init__(
        self, status: int, error: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        return {"error": self.error, "detail": self.detail}


def bad_request(detail: str, error: str = "bad_request") -> ApiError:
    return ApiError(400, error, detail)


def not_found(detail: str) -> ApiError:
    return ApiError(404, "not_found", detail)


def unprocessable(detail: str) -> ApiError:
    return ApiError(422, "unreadable_report", detail)


def too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"request bodies are limited to {limit} bytes")
