"""feedtool: republish podcast feeds, cleaned, merged and filtered."""

from __future__ import annotations

__version__ = "0.1.0"
HOMEPAGE = "https://github.com/feedtool/feedtool"
