"""`{% load money %}{{ price.unit_amount|money:price.currency }}` → $19."""

from django import template

from subscriptions.plans import amount_display

register = template.Library()


@register.filter
def money(amount: int, currency: str = "usd") -> str:
    return amount_display(int(amount), currency)
