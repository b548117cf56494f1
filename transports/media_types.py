"""GraphQL over HTTP's media types: what a POST body must be, and which media type a
response is sent as, from the request's Accept."""

from transports.refusals import (
    APPLICATION_JSON,
    GRAPHQL_RESPONSE_JSON,
    NOT_ACCEPTABLE,
    UNSUPPORTED_MEDIA_TYPE,
    Refusal,
)

# What each acceptable media range is answered with. `*/*` and a missing Accept get
# application/json: the spec's choice until clients all know the newer media type.
_ANSWERS = {
    GRAPHQL_RESPONSE_JSON: GRAPHQL_RESPONSE_JSON,
    APPLICATION_JSON: APPLICATION_JSON,
    "application/*": APPLICATION_JSON,
    "*/*": APPLICATION_JSON,
}


def accepted_ranges(accept: str) -> list[str]:
    """The media ranges of an Accept value, most preferred first (by `q`, then by order),
    without those refused with `q=0`."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept.split(",")):
        media_range, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media_range and quality > 0:
            ranked.append((-quality, position, media_range.lower()))
    return [media_range for *_, media_range in sorted(ranked)]


def response_media_type(accept: str | None) -> str:
    """application/graphql-response+json or application/json, as the client prefers;
    a NOT_ACCEPTABLE refusal when it accepts neither."""
    if not accept or not accept.strip():
        return APPLICATION_JSON
    for media_range in accepted_ranges(accept):
        if answer := _ANSWERS.get(media_range):
            return answer
    raise Refusal(
        406,
        NOT_ACCEPTABLE,
        f"Responses are {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}; "
        f"the Accept header ({accept}) lists neither.",
    )


def require_json_body(content_type: str | None) -> None:
    """A POST body must be JSON (`application/json`, any charset parameter)."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if media_type != APPLICATION_JSON:
        raise Refusal(
            415,
            UNSUPPORTED_MEDIA_TYPE,
            f"Send the operation as JSON with Content-Type: {APPLICATION_JSON}"
            f" (got {content_type or 'none'}).",
        )
