"""A license id for a mined source, from its LICENSE file or its package metadata.

Simple text matching, enough to tell the common licenses apart; anything else is
"unknown" (the record still says which file it came from, so a human can check).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

#: (id, phrases that must all appear, case-insensitive), most specific first.
TEXT_RULES: Sequence[tuple[str, tuple[str, ...]]] = (
    ("AGPL-3.0", ("gnu affero general public license",)),
    ("LGPL-3.0", ("gnu lesser general public license", "version 3")),
    ("LGPL-2.1", ("gnu lesser general public license",)),
    ("GPL-3.0", ("gnu general public license", "version 3")),
    ("GPL-2.0", ("gnu general public license", "version 2")),
    ("Apache-2.0", ("apache license", "version 2.0")),
    ("MPL-2.0", ("mozilla public license", "2.0")),
    ("Unlicense", ("this is free and unencumbered software",)),
    ("ISC", ("permission to use, copy, modify, and/or distribute this software",)),
    ("MIT", ("permission is hereby granted, free of charge",)),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "neither the name")),
    ("BSD-2-Clause", ("redistribution and use in source and binary forms",)),
    ("CC0-1.0", ("cc0",)),
)

#: Trove classifier suffix → id.
CLASSIFIERS: Mapping[str, str] = {
    "Apache Software License": "Apache-2.0",
    "MIT License": "MIT",
    "BSD License": "BSD",
    "ISC License (ISCL)": "ISC",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0",
    "The Unlicense (Unlicense)": "Unlicense",
}

LICENSE_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "COPYING", "COPYING.txt")


def license_from_text(text: str) -> str:
    lowered = " ".join(text.lower().split())
    for spdx, phrases in TEXT_RULES:
        if all(p in lowered for p in phrases):
            return spdx
    return "unknown"


def license_of_tree(root: Path) -> str | None:
    """The license of a checked-out tree, from the first LICENSE-like file at its root."""
    for name in LICENSE_FILES:
        path = root / name
        if path.is_file() and not path.is_symlink():
            return license_from_text(path.read_text(encoding="utf-8", errors="replace")[:20000])
    return None


def license_of_metadata(
    license_expression: str | None, license_field: str | None, classifiers: Sequence[str]
) -> str | None:
    """A distribution's license: `License-Expression`, a short `License`, else a classifier."""
    if license_expression:
        return license_expression.strip()
    if license_field and len(license_field) < 60 and "\n" not in license_field.strip():
        return license_field.strip()
    for classifier in classifiers:
        if classifier.startswith("License ::"):
            tail = classifier.split("::")[-1].strip()
            if tail in CLASSIFIERS:
                return CLASSIFIERS[tail]
    if license_field:
        found = license_from_text(license_field)
        return None if found == "unknown" else found
    return None
