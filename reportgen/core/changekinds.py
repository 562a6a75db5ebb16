"""The kinds of change between two editions, as changes.csv names them in its ``what`` column.

They are data labels, kept exactly in changes.csv: written by :mod:`reportgen.publish.changes` and
read by the profile's "What has changed" section, which words them for readers from the layouts'
``wording.yaml`` (section ``changes``, keys ``what_<kind>``).
"""

from __future__ import annotations

#: Each kind of change (the wording key's suffix) and its label in changes.csv.
CHANGE_WHAT = {
    "period": "New data period",
    "comparison": "Comparison with England",
    "trend": "Recent trend",
    "revised": "Value revised",
    "added": "Indicator added",
    "retired": "Indicator retired",
    "definition": "Definition revised",
}
