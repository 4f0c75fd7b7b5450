"""`{% load gates %}{% if company|has_feature:"exports" %}…{% endif %}` for the dashboard."""

from django import template

from companies.gates import feature_has, limit_of

register = template.Library()


@register.filter
def has_feature(company, feature: str) -> bool:
    return feature_has(company, feature)


@register.filter
def limit(company, name: str):
    value = limit_of(company, name)
    return "unlimited" if value is None else value
