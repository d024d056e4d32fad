#!/usr/bin/env python3
"""Writes the shipped rules file (/etc/barbwire/rules.yml) from the built-in
rules, so that the packaged service starts with exactly the rules
`barbwire run` has without --config, and an administrator has a file to edit
and reload (SIGHUP, `systemctl reload barbwire`).

  make-rules-yml.py DEFAULT_RULES_HPP VERSION OUTPUT

The built-in rules are the JSON literal in
libbarbwire/include/barbwire/detail/default_rules.hpp. JSON is YAML, so the
file is that literal, unchanged, under a comment header; its keys are
documented in docs/config.md and docs/rules.md.
"""
import json
import sys

HEADER = """\
# Barbwire rules: the built-in rules of barbwire {version}, as shipped.
#
# `barbwire run` without --config uses the same rules; this copy is here to
# be edited. After an edit: `systemctl reload barbwire` (SIGHUP). A file
# that does not load changes nothing: the sensor keeps its previous rules
# and says why on standard error (journalctl -u barbwire).
#
# The file is YAML or JSON; this one is written as JSON, which YAML reads
# unchanged. A key left out of a file takes the default of docs/config.md's
# table, not the built-in value (a file without suspicious_files can never
# alert), so edit this file rather than start an empty one.
#
# Reference: /usr/share/doc/barbwire/config.md, rules.md.
"""


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    src, version, out = sys.argv[1:]
    text = open(src, encoding="utf-8").read()
    start, end = text.find('R"json('), text.find(')json"')
    if start < 0 or end < start:
        sys.exit(f"{src}: no R\"json( ... )json\" literal")
    body = text[start + len('R"json('):end]
    json.loads(body)  # must be valid JSON (hence YAML) before it is shipped
    with open(out, "w", encoding="utf-8") as f:
        f.write(HEADER.format(version=version))
        f.write(body.strip() + "\n")


if __name__ == "__main__":
    main()
