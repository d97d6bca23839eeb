"""Card numbers for the evidence scripts: a prefix completed with its Luhn check digit."""


def luhn(prefix):
    total = 0
    for i, d in enumerate(int(c) for c in reversed(prefix)):
        if i % 2 == 0:
            d = d * 2 - (9 if d * 2 > 9 else 0)
        total += d
    return prefix + str((10 - total % 10) % 10)
