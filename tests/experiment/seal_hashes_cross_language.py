#!/usr/bin/env python3
"""Python against C++ on the seal's hashed forms, byte for byte: 10^5 doubles as RFC 8785 prints
them (random finite bit patterns, float32 values widened to double, subnormals, [1e15, 1e16),
integers, round decimals, the RFC's boundaries, -0), histories by the binary history hash (NaN
payloads, -0 beside +0, repeated steps) and JSON documents (keys outside the BMP, control
characters, integers beyond 2^53). Exit 1 naming the first differences.

  seal_hashes_cross_language.py SEAL_HASH_TOOL [--seed N]
"""
import argparse
import json
import math
import os
import random
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import seal_hashes  # noqa: E402

NUMBERS = 100_000


def bits(v):
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def double(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def float32(b):
    return struct.unpack("<f", struct.pack("<I", b))[0]


def as_float32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def numbers(rng):
    """NUMBERS finite doubles, by kind."""
    edges = [0.0, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 2.0 ** 53, 1.3979568481445312]
    for e in range(-330, 309):  # the powers of ten and their neighbours: where the notation switches
        p = float("1e%d" % e)
        edges += [p, -p, math.nextafter(p, 0.0), math.nextafter(p, math.inf)]
    kinds = {
        "bit pattern": lambda: double(rng.getrandbits(64)),
        "float32": lambda: float32(rng.getrandbits(32)),
        "float32 loss": lambda: as_float32(rng.uniform(1e-3, 10.0)),
        "subnormal": lambda: double(rng.getrandbits(52) | rng.getrandbits(1) << 63),
        "[1e15, 1e16)": lambda: rng.uniform(1e15, 1e16) if rng.random() < 0.5 else float(rng.randrange(10 ** 15, 10 ** 16)),
        "integer": lambda: float(rng.randint(-2 ** 53, 2 ** 53)) if rng.random() < 0.5 else float(rng.randint(-10 ** 6, 10 ** 6)),
        "round decimal": lambda: round(rng.uniform(-1e4, 1e4), rng.randint(0, 12)),
    }
    out = [("edge", v) for v in edges]
    names = list(kinds)
    for i in range(NUMBERS - len(out)):
        kind = names[i % len(names)]
        v = kinds[kind]()
        while not math.isfinite(v):
            v = kinds[kind]()
        out.append((kind, v))
    return out


def histories(rng, count=300):
    nans = [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001, 0x7FF80000DEADBEEF]
    out = []
    for _ in range(count):
        points = []
        for _ in range(rng.randint(0, 400)):
            step = rng.choice([rng.randint(0, 50), rng.randint(-2 ** 63, 2 ** 63 - 1)])
            value = rng.choice([as_float32(rng.uniform(0, 5)), double(rng.getrandbits(64)), 0.0, -0.0,
                                double(rng.choice(nans)), math.inf, -math.inf])
            points.append((step, value))
        out.append(points)
    return out


def documents(rng, count=500):
    alphabet = ["a", "B", "1", "\u0000", "\u001f", "\u007f", "\u0080", "\u00f6", "\u20ac", "\ue000", "\ufb33",
                "\uffff", "\U0001f602", "\U00010000", "\"", "\\", "/", "\n", "\t", "\u2028"]

    def text():
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))

    def value(depth):
        r = rng.random()
        if depth > 2 or r < 0.4:
            return rng.choice([text(), None, True, False, rng.randint(-10 ** 6, 10 ** 6), double(rng.getrandbits(64)),
                               float32(rng.getrandbits(32)), rng.choice([2 ** 53, -2 ** 53, 2 ** 53 + 1, -2 ** 60, 2 ** 64 - 1])])
        if r < 0.7:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {text(): value(depth + 1) for _ in range(rng.randint(0, 6))}

    out = []
    while len(out) < count:
        doc = {text(): value(0) for _ in range(rng.randint(1, 6))}
        try:
            out.append(json.dumps(doc, allow_nan=False))  # ASCII, one line; NaN/Inf are not JSON
        except ValueError:
            continue
    return out


def python_answer(kind, payload):
    try:
        if kind == "n":
            return seal_hashes.number_text(payload)
        if kind == "h":
            return seal_hashes.history_hash(payload)
        return seal_hashes.jcs(json.loads(payload))
    except ValueError:
        return "error"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tool", help="the seal_hash_tool executable")
    parser.add_argument("--seed", type=int, default=8785)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    cases = [("n", kind, v, "%016x" % bits(v)) for kind, v in numbers(rng)]
    cases += [("h", "history", h, " ".join("%d:%016x" % (s, bits(v)) for s, v in h)) for h in histories(rng)]
    cases += [("j", "document", d, d) for d in documents(rng)]
    request = "".join("%s %s\n" % (kind, line) for kind, _, _, line in cases).encode()
    done = subprocess.run([args.tool], input=request, capture_output=True, check=True)
    answers = done.stdout.decode("utf-8").split("\n")[:-1]
    if len(answers) != len(cases):
        sys.exit("seal_hash_tool answered %d lines for %d requests" % (len(answers), len(cases)))

    differences = {}
    for (kind, label, payload, line), cpp in zip(cases, answers):
        python = python_answer(kind, payload)
        if python != cpp:
            differences.setdefault(label, []).append((line, python, cpp))
    counts = {}
    for kind, label, _, _ in cases:
        counts[label] = counts.get(label, 0) + 1
    print("compared %d requests (seed %d): %s" % (len(cases), args.seed,
                                                 ", ".join("%s %d" % kv for kv in counts.items())))
    for label, found in differences.items():
        print("%s: %d differences, e.g." % (label, len(found)))
        for line, python, cpp in found[:5]:
            print("  %s\n    python: %s\n    c++:    %s" % (line[:200], python[:200], cpp[:200]))
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
