"""wmtp's seal version 2 in Python, standard library only: RFC 8785 JSON (src/core/jcs.h) and the
binary history hash (src/experiment/seal.h). The Python producer seals with these, and the
cross-language test compares them with the C++ byte for byte."""
import decimal
import hashlib
import json
import math
import struct

QUIET_NAN = 0x7FF8000000000000


def number_text(v):
    """ECMAScript's Number.prototype.toString of a finite double (RFC 8785 section 3.2.2.3), from
    the shortest round-trip digits that repr() prints."""
    if not math.isfinite(v):
        raise ValueError("RFC 8785 has no NaN or infinity")
    if v == 0:
        return "0"
    _, digits, exponent = decimal.Decimal(repr(abs(v))).normalize().as_tuple()
    s, k = "".join(map(str, digits)), len(digits)
    n = exponent + k  # v = 0.s x 10^n
    sign = "-" if v < 0 else ""
    if k <= n <= 21:
        return sign + s + "0" * (n - k)
    if 0 < n <= 21:
        return sign + s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + s
    return sign + s[0] + ("." + s[1:] if k > 1 else "") + "e%+d" % (n - 1)


def jcs(v):
    """RFC 8785 text of a JSON value: members sorted by UTF-16 code units, numbers as doubles."""
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(v[k]) for k in keys) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    if isinstance(v, int) and not isinstance(v, bool):
        if abs(v) > 2 ** 53:
            raise ValueError("integer %d is beyond 2^53, where IEEE 754 doubles stop being exact" % v)
        return number_text(float(v))
    if isinstance(v, float):
        return number_text(v)
    return json.dumps(v, ensure_ascii=False)  # str (escapes as RFC 8785), bool, None


def history_hash(points):
    """First 16 hex of sha256 over (step int64, value float64) little-endian per point, sorted by
    step then value (-0 before +0, NaN last), every NaN as the quiet NaN 0x7ff8000000000000."""
    def order(p):
        nan = math.isnan(p[1])
        return p[0], nan, 0.0 if nan else p[1], math.copysign(1.0, p[1])
    data = b"".join(struct.pack("<qQ", s, QUIET_NAN) if math.isnan(v) else struct.pack("<qd", s, v)
                    for s, v in sorted(points, key=order))
    return hashlib.sha256(data).hexdigest()[:16]
