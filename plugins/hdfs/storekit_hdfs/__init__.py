"""storekit-hdfs: HDFS artifact repositories for storekit.

Entry points (group ``storekit.artifact_repository``): ``webhdfs`` and
``swebhdfs`` (the WebHDFS REST API over HTTP(S), via fsspec) and ``hdfs`` and
``viewfs`` (native, via pyarrow's libhdfs binding; needs a JVM).
"""

from __future__ import annotations

from .repository import HdfsArtifactRepository, InsecureWebHdfsWarning, WebHdfsArtifactRepository

__all__ = [
    "storekit_api",
    "capabilities",
    "HdfsArtifactRepository",
    "WebHdfsArtifactRepository",
    "InsecureWebHdfsWarning",
]
__version__ = "0.1.0"

#: The storekit contract major version this plugin was built for.
storekit_api = WebHdfsArtifactRepository.storekit_api
#: Optional behaviour the plugin's repositories support.
capabilities = WebHdfsArtifactRepository.capabilities
