"""Integer money arithmetic in minor units (cents).  Every amount the emulator
computes - discounts, prorations - goes through these functions, so rounding
is decided in one place: a share of an amount is rounded half away from zero
to the minor unit, and a split of an amount across lines gives the remainder
cents to the largest fractional parts (so the parts always add up)."""

from fractions import Fraction


def round_half_away(value):
    """The integer nearest to ``value`` (a Fraction); halves go away from zero."""
    magnitude = abs(value)
    whole = magnitude.numerator // magnitude.denominator
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    return whole if value >= 0 else -whole


def share(amount, numerator, denominator):
    """``amount × numerator / denominator`` in whole minor units."""
    if denominator == 0:
        return 0
    return round_half_away(Fraction(amount) * numerator / denominator)


def percent_of(amount, percent):
    """``percent`` (a float such as 25.5) of ``amount``, in whole minor units."""
    return round_half_away(Fraction(amount) * Fraction(str(percent)) / 100)


def allocate(total, weights):
    """Split ``total`` across ``weights`` proportionally; the parts add up to ``total``
    (largest remainders get the leftover units)."""
    weight_sum = sum(weights)
    if weight_sum <= 0 or total == 0:
        return [0 for _ in weights]
    exact = [Fraction(total) * weight / weight_sum for weight in weights]
    parts = [int(value) for value in exact]
    leftover = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda index: exact[index] - parts[index], reverse=True)
    for index in by_remainder[:leftover]:
        parts[index] += 1
    return parts
