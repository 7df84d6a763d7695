"""storekit-azure: artifacts in Azure Blob Storage and ADLS Gen2.

URIs: ``wasbs://container@account.blob.core.windows.net/path``,
``abfss://container@account.dfs.core.windows.net/path`` and
``az://container/path``.  Registered under the ``storekit.artifact_repository``
entry points ``wasbs``, ``wasb``, ``abfss``, ``abfs`` and ``az``.  ``adlfs``
and the Azure SDK are imported only when the repository is used.
"""

from __future__ import annotations

from storekit.interfaces import STOREKIT_API, Capability

from .repository import AzureArtifactRepository, AzureLocation, parse_azure_uri

__all__ = [
    "AzureArtifactRepository",
    "AzureLocation",
    "parse_azure_uri",
    "storekit_api",
    "capabilities",
]

#: The storekit contract major version this plugin implements.
storekit_api = STOREKIT_API
#: Optional behaviour the repository supports.
capabilities = frozenset({Capability.DELETE_ARTIFACTS})
