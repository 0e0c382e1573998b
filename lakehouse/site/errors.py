"""The one error type of the site: what went wrong and what to do about it."""


class SiteError(RuntimeError):
    """The site cannot be built, published or served; the message says what to do."""
