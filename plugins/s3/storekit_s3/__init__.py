"""storekit-s3: artifacts in Amazon S3 and S3-compatible stores (``s3://bucket/prefix``).

Registered under the ``storekit.artifact_repository`` entry point ``s3``.
``s3fs`` and ``botocore`` are imported only when the repository is used.
"""

from __future__ import annotations

from storekit.interfaces import STOREKIT_API, Capability

from .repository import S3ArtifactRepository

__all__ = ["S3ArtifactRepository", "storekit_api", "capabilities"]

#: The storekit contract major version this plugin implements.
storekit_api = STOREKIT_API
#: Optional behaviour the repository supports.
capabilities = frozenset({Capability.DELETE_ARTIFACTS})
