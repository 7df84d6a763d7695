"""storekit-sftp: the ``sftp://`` artifact repository for storekit (paramiko over SSH).

Registered under the ``storekit.artifact_repository`` entry-point group as
``sftp``; resolve it with ``storekit.resolve_artifact_repository("sftp://...")``.
"""

from __future__ import annotations

from .repository import SftpArtifactRepository
from .settings import SftpSettings, parse_sftp_uri

__all__ = ["storekit_api", "capabilities", "SftpArtifactRepository", "SftpSettings", "parse_sftp_uri"]
__version__ = "0.1.0"

#: The storekit contract major version this plugin was built for.
storekit_api = SftpArtifactRepository.storekit_api
#: Optional behaviour the plugin's repositories support.
capabilities = SftpArtifactRepository.capabilities
