"""The registry of feature and limit names. Asking about a name not listed here is a bug, and raises."""

FEATURES: dict[str, str] = {
    "posts": "Create and edit posts",
    "exports": "Export posts as CSV",
    "api_access": "Use the company API with API tokens",
}

LIMITS: dict[str, str] = {
    "max_posts": "Posts a company can keep",
    "max_members": "People in the company, admins included",
}
# What each limit counts, as pages name it ("Up to 10 posts", "Members: 3 of 25").
LIMIT_NOUNS: dict[str, str] = {"max_posts": "posts", "max_members": "members"}


class UnknownFeature(LookupError):
    pass


def require_feature(name: str) -> str:
    if name not in FEATURES:
        raise UnknownFeature(f"unknown feature {name!r}; known: {', '.join(sorted(FEATURES))}")
    return name


def require_limit(name: str) -> str:
    if name not in LIMITS:
        raise UnknownFeature(f"unknown limit {name!r}; known: {', '.join(sorted(LIMITS))}")
    return name
