"""Artifact repositories of the core.

* :mod:`storekit.artifacts.local` - ``file:`` URIs and bare paths.
* :mod:`storekit.artifacts.fsspec_repository` - the fsspec-based base class that the
  remote plugins (S3, Azure, SFTP, HDFS) specialise: atomic uploads, bounded parallel
  transfers, streaming in bounded memory, retries, progress bars, error translation.
* :mod:`storekit.artifacts.indirect` - ``runs:/`` and ``models:/`` URIs.
"""
