"""Pure normalization, split by subject; import each function from its module.

- ``dates``: dates in any common form -> aware UTC datetimes; ISO 8601 with ``Z`` out.
- ``durations``: durations in any form -> whole seconds; ``h:mm:ss`` out.
- ``text``: titles and names as clean text, descriptions as safe HTML without
  boilerplate, HTML as plain text.
- ``identity``: what makes two records the same: GUIDs, enclosure and title keys,
  tracking parameters, slugs.
- ``numbers``: episode and season numbers, enclosure lengths, the explicit flag.

Nothing here touches the outside world or logs: every function takes and returns plain
values, and unknown values are ``None``, never 0 or -1. Problems are reported by the
caller, which knows the source and the item.
"""
