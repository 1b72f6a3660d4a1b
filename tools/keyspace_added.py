#!/usr/bin/python3
"""keyspace_added.py - check that a keyspace dump differs from a baseline only by added hash fields.

For a change that adds fields to the keyspace (and changes nothing else): both files are
tools/keyspace_dump.py outputs (one key a line: `key type field=value field=value ...`, fields
sorted). Every field whose name matches one of the regular expressions is removed from the new
dump; what is left must equal the baseline line for line. Prints the lines that differ (at most
20) and how many fields were removed per name; exits 1 when anything else changed.

    tools/keyspace_added.py /tmp/base/demo.dump new.dump 'rtt\\.(us|server\\.us|client\\.us)'
"""
import collections
import re
import sys


def strip(line, pat, removed):
    """The dump line without the fields pat matches (their names counted in removed)."""
    # Values hold no " name=" sequence of an added field, so a field is " <name>=<value>" up to
    # the next " <name>=" that starts a field of the sorted list: added fields have digit values.
    def drop(m):
        removed[m.group(1)] += 1
        return ""
    return re.sub(r" (%s)=[0-9]+(?= |$)" % pat, drop, line)


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: keyspace_added.py BASE.dump NEW.dump FIELD_REGEX...")
    base = open(sys.argv[1], "rb").read().decode("utf-8", "surrogateescape").splitlines()
    new = open(sys.argv[2], "rb").read().decode("utf-8", "surrogateescape").splitlines()
    pat = "|".join("(?:%s)" % p for p in sys.argv[3:])
    removed = collections.Counter()
    stripped = [strip(line, pat, removed) for line in new]
    bad = 0
    if len(stripped) != len(base):
        print("key count differs: base %d, new %d" % (len(base), len(stripped)))
        bad += 1
    for i, (a, b) in enumerate(zip(base, stripped)):
        if a != b:
            bad += 1
            if bad <= 20:
                print("line %d differs:\n  base: %s\n  new:  %s" % (i + 1, a[:300], b[:300]))
    for name, n in sorted(removed.items()):
        print("added %-24s %d" % (name, n))
    print("%s: %d keys, %s" % (sys.argv[2], len(new), "only added fields" if not bad else "%d lines differ" % bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
