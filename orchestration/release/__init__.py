"""Immutable releases: `releases/<Stichtag>/v<N>/`, built aside and renamed into place."""

from .build import PublishResult, ReleaseRefused, clean_stale_builds, publish, release_signing_key
from .store import Release, ReleaseNotFound, diff, find_release, list_releases, released_inputs, update_latest, verify

__all__ = [
    "PublishResult",
    "Release",
    "ReleaseNotFound",
    "ReleaseRefused",
    "clean_stale_builds",
    "diff",
    "find_release",
    "list_releases",
    "publish",
    "release_signing_key",
    "released_inputs",
    "update_latest",
    "verify",
]
