"""A module for a fork server to preload: it records the process that imported it."""

from __future__ import annotations

import os

LOADED_IN = os.getpid()
